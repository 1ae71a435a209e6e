"""One environment's fleet as opsctl sees it: config, inventory, hosts, and the playbook runs on it."""

from __future__ import annotations

import getpass
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opsctl import output, paths
from opsctl.config.inventory import Inventory, load_inventory
from opsctl.config.models import Config, Environment
from opsctl.deploy import ledger, locking
from opsctl.deploy.ledger_copies import Verdict, judge
from opsctl.deploy.names import Names
from opsctl.deploy.runner import RunResult, run_playbook
from opsctl.errors import OpsctlError


def _warm_imports() -> None:
    import importlib

    for module in ("jinja2", "ansible_runner", "opsctl.deploy.runner", "opsctl.deploy.rollout"):
        try:
            importlib.import_module(module)
        except ImportError:  # the command itself reports a missing package when it needs it
            return


@dataclass
class Fleet:
    config: Config
    env_name: str
    env: Environment
    inventory: Inventory
    # Hosts this command leaves alone (`--skip-hosts`, known down): no lock, ledger or playbook run.
    skipped: list[str] = field(default_factory=list)
    # `opsctl dev up` (opsctl/dev/): the image was built on this machine and is never pulled, and
    # the proxy publishes its ports on this address only (None: every address, as on servers).
    pull: bool = True
    proxy_bind: str | None = None
    # Behind every server's shared ingress (docs/ingress.md); `opsctl dev` runs the app's own proxy.
    shared_ingress: bool = True

    @classmethod
    def open(cls, config: Config, env_name: str | None) -> Fleet:
        from opsctl.config.checks import environment_hosts

        name, env = config.environment(env_name)
        # Ansible reads the inventory in a child process for about half a second; meanwhile this
        # process imports what a playbook run needs, instead of after.
        threading.Thread(target=_warm_imports, daemon=True).start()
        inventory = environment_hosts(config, name, output.info).inventory
        assert inventory is not None  # environment_hosts raises when it could not be read
        return cls(config=config, env_name=name, env=env, inventory=inventory)

    @property
    def primary(self) -> str:
        """The lock host. Not the first host listed: two inventories listing the same hosts in
        another order must lock the same place, so it is the smallest inventory name."""
        return min(self.inventory.hosts)

    @property
    def hosts(self) -> list[str]:
        return [h for h in self.inventory.hosts if h not in self.skipped]

    @property
    def names(self) -> Names:
        return Names(self.config.app, self.env_name)

    def run(self, playbook: str | list[str], constants: dict[str, Any], label: str,
            data: dict[str, Any] | None = None, decision: dict[str, Any] | None = None,
            **kwargs: Any) -> RunResult:
        """Run a playbook (or several in order, as one run) on this fleet: `constants` as extravars,
        `data` through the run's data file, `decision` (when known before the run) through its
        decision file; a `gate` argument makes the decision in the middle of the run instead."""
        from opsctl.deploy.contract import check_supplied

        names = [playbook] if isinstance(playbook, str) else playbook
        check_supplied(names, set(constants), set(data or {}), None if decision is None else set(decision))
        base = {
            "opsctl_app": self.config.app,
            "opsctl_env": self.env_name,
            "opsctl_state_dir": self.names.state_dir,
            "opsctl_primary": self.primary,
        }
        return run_playbook(
            playbook,
            self.inventory.sources,
            {**base, **constants},
            data=data,
            decision=decision,
            forks=len(self.inventory.hosts) + 1,
            label=f"{self.config.app}-{self.env_name}-{label}",
            **kwargs,
        )

    # --- lock and ledger -------------------------------------------------------------------

    @property
    def ledger_path(self) -> str:
        return f"{self.names.state_dir}/{ledger.FILE}"

    def state(self, lock: str = "none", token: str = "", holder: dict[str, Any] | None = None,
              hosts: list[str] | None = None) -> RunResult:
        """One state.yml run: `lock` acts on the lock host; every host in `hosts` reports its ledger."""
        return self.run(
            "state.yml",
            {"opsctl_lock": lock, "opsctl_lock_token": token, "opsctl_state_hosts": ",".join(hosts or [self.primary])},
            label="state",
            data={"holder": holder or {}},
            quiet=True,
        )

    def read_state(self, lock: str = "status", token: str = "", holder: dict[str, Any] | None = None) -> FleetState:
        """The lock (after `lock`) and every reachable host's ledger copy, validated."""
        return self.state_of(self.state(lock, token, holder, hosts=self.hosts))

    def state_of(self, result: RunResult) -> FleetState:
        """What a run's "Lock and ledger" task found: the lock's holder and every host's ledger copy."""
        tasks = result.of("lock")
        on_lock_host = tasks.get(self.primary)
        held = on_lock_host is not None and bool(on_lock_host.result.get("lock_held"))
        if on_lock_host is None or (on_lock_host.status != "ok" and not held):
            raise OpsctlError(
                f"could not reach the lock host {self.primary}: {result.failure_summary()}",
                hint=artifacts_hint(result.artifacts),
            )
        answered = {h: t.result for h, t in tasks.items() if t.status == "ok"}
        unreachable = [h for h in self.hosts if h not in answered and not (h == self.primary and held)]
        state = self.ledger_state(answered, unreachable)
        raw_holder = on_lock_host.result.get("holder")
        state.holder = locking.Holder.read(raw_holder) if raw_holder else None
        state.held_by_other = held
        state.answered = sorted(answered)
        return state

    def ledger_state(self, answered: dict[str, dict[str, Any]], unreachable: list[str]) -> FleetState:
        """Validate the ledger copies opsctl_state returned per host (raw text) and judge them."""
        copies: dict[str, list[ledger.Release]] = {}
        problems: list[str] = []
        for host in self.hosts:
            if host not in answered:
                continue
            path = str(answered[host].get("ledger_path") or self.ledger_path)
            try:
                if answered[host].get("ledger_problem"):
                    raise ledger.LedgerProblem(str(answered[host]["ledger_problem"]))
                copies[host] = ledger.parse_text(answered[host].get("ledger_text"), self.config.image)
            except ledger.LedgerProblem as exc:
                problems.append(f"host {host}: {path}: {exc}")
        return FleetState(verdict=judge(copies, unreachable), holder=None, held_by_other=False, problems=problems)

    def history(self, state: FleetState, *, writing: bool) -> list[ledger.Release]:
        """The validated history, or an error naming what is wrong. Nothing is changed here."""
        if state.problems:
            raise OpsctlError(
                "the release ledger is invalid; opsctl changed nothing:\n" + "\n".join(state.problems),
                hint="look at the file on that host; if other hosts hold a good copy, move the bad one "
                     f"aside (mv FILE FILE.broken) and run: opsctl releases --repair -e {self.env_name}",
            )
        verdict = state.verdict
        if verdict.history is None:
            raise OpsctlError(
                "\n".join(verdict.problems()),
                hint=f"see each copy with: opsctl releases -e {self.env_name} --json; choose the true one "
                     f"with: opsctl releases --repair -e {self.env_name} --from HOST",
            )
        for line in verdict.problems():
            output.warn(line + ("; this run writes the full history to every host" if writing
                                else f"; to fix: opsctl releases --repair -e {self.env_name}"))
        for host in verdict.unreachable:
            output.warn(f"{host} did not answer; its ledger was not read")
        return verdict.history

    def current_release(self) -> tuple[ledger.Release, str, str]:
        """The release the fleet runs, its image and its env file: what a one-off container (exec) uses.

        The ledger entry is validated, and the image is built from the app's own repository, never
        taken from the ledger's word."""
        from opsctl.deploy.names import image_ref

        entries, _ = self.read_ledger()
        current = ledger.current(entries)
        if current is None:
            raise OpsctlError(f"nothing is deployed to {self.env_name} yet")
        image = image_ref(self.config.image, current.version, current.digest)
        return current, image, self.names.env_file(current.config_hash)

    def read_ledger(self) -> tuple[list[ledger.Release], locking.Holder | None]:
        state = self.read_state(lock="status")
        return self.history(state, writing=False), state.holder

    def acquire(self, token: str, holder: Callable[[], dict[str, Any]], lock_wait: float) -> FleetState:
        """Take the lock and read every ledger copy (locking.acquire_lock: waits up to `lock_wait`
        seconds, never for a holder that is gone). `holder` is called at each try, so the lock's
        'since' is when it was taken. (A deploy or rollback takes the lock in its own run.)"""
        def attempt() -> FleetState:
            return self.read_state(lock="acquire", token=token, holder=holder())

        return locking.acquire_lock(attempt, lock_wait=lock_wait, env=self.env_name)

    def write_ledger(self, entries: list[dict[str, Any]], hosts: list[str] | None = None,
                     skip: list[str] | None = None) -> None:
        """Write the ledger on `hosts` (default all) but `skip` (hosts found unreachable in this command)."""
        chosen = [h for h in (hosts or self.hosts) if h not in (skip or [])]
        result = self.run(
            "state.yml",
            {"opsctl_lock": "none", "opsctl_ledger_hosts": ",".join(chosen)},
            label="ledger",
            data={"ledger": entries},
            quiet=True,
        )
        if not result.ok:
            raise OpsctlError(f"could not write the release ledger: {result.failure_summary()}")


@dataclass
class FleetState:
    """What one state.yml run found: the ledger copies (judged), the lock's holder, problems."""

    verdict: Verdict
    holder: locking.Holder | None
    held_by_other: bool  # an acquire found the lock taken
    problems: list[str]  # copies that are not valid ledgers: "host H: FILE: what is wrong"
    answered: list[str] = field(default_factory=list)  # the hosts whose copy was read


def local_fleet(config: Config, env_name: str | None) -> Fleet:
    """This machine as a one-host fleet, for local development with the very same playbooks."""
    import sys

    from opsctl.errors import UsageError
    from opsctl.validate import slug_problem

    name = env_name or os.environ.get("OPSCTL_ENV") or "local"
    problem = slug_problem(name)
    if problem:
        raise UsageError(f"environment: {problem}")
    env = config.environments.get(name) or Environment(inventory=["(this machine)"])
    path = paths.state_home() / "local-inventory.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    return Fleet(config=config, env_name=name, env=env, inventory=load_inventory(path))


def new_token() -> str:
    return uuid.uuid4().hex


def who() -> str:
    user = os.environ.get("OPSCTL_USER")
    if user:
        return user
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"{name}@{socket.gethostname()}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def holder_info(version: str | None, message: str | None, action: str) -> dict[str, Any]:
    """What the lock records about its holder. A deploy or rollback records its process (machine,
    pid, start time) so a lock left by a killed run is recognised; a manual lock has no process."""
    process = action != "manual lock"
    pid = os.getpid()
    return {
        "who": who(),
        "since": now(),
        "version": version,
        "message": message,
        "action": action,
        "machine": locking.machine(),
        "pid": pid if process else None,
        "started": locking.process_started(pid) if process else None,
    }


def artifacts_hint(path: Path | None) -> str | None:
    return f"Ansible's events for this run are in {path}" if path else None
