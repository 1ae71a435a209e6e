"""One deploy or rollback on one environment, as playbook runs: lock, prepare, release step, roll.

The flows (flows.py) decide what to run and what the ledger says; this runs it on the hosts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl import output
from opsctl.config.secrets import secret_value
from opsctl.deploy import contract, ingress, ledger, locking
from opsctl.deploy.fleet import Fleet, holder_info, new_token
from opsctl.deploy.names import INGRESS_DIR, LABEL_PREFIX
from opsctl.deploy.plan import (
    RolloutPlan,
    Target,
    plan_rollout,
    proxy_ports,
    select_hosts,
    select_services,
    service_specs,
)
from opsctl.deploy.runner import Gate, RunResult, secret_dir, write_secret
from opsctl.paths import templates_dir
from opsctl.validate import split_csv


def _render(template: str, **values: Any) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # nginx config, not HTML
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template(template).render(**values)


def _render_upstream(**values: Any) -> str:
    return _render("proxy/service.conf.j2", **values)


class Rollout:
    """One deploy or rollback on one environment."""

    def __init__(self, fleet: Fleet, hosts: str | None = None, services: str | None = None,
                 batch: int | str | None = None, skip: str | None = None):
        self.fleet = fleet
        self.config = fleet.config
        self.skipped = split_csv(skip)
        targets = select_hosts(fleet.inventory, split_csv(hosts), self.skipped)
        fleet.skipped = self.skipped  # known down: the lock and ledger runs leave them out too
        chosen = select_services(self.config, split_csv(services))
        self.plan: RolloutPlan = plan_rollout(
            self.config, fleet.env_name, fleet.env, fleet.inventory, targets, chosen,
            batch=batch if batch is not None else fleet.env.rollout.batch, skipped=self.skipped,
        )
        self.token = new_token()
        self.locked = False
        self.lost: list[str] = []
        self.timings: dict[str, float] = {}
        self.releases: list[ledger.Release] = []  # the validated history the gate read
        self.ledger_hosts: list[str] = self.plan.all_hosts  # the hosts whose ledger copy answered
        self.release_container: str | None = None
        # The last roll's run id and decision, when it started replicas ahead (what discard removes).
        self.last_roll: tuple[dict[str, Any], dict[str, Any]] | None = None

    # --- pieces ----------------------------------------------------------------------------

    def describe(self, version: str) -> dict[str, Any]:
        plan = self.plan
        return {
            "app": plan.app,
            "env": plan.env,
            "version": version,
            "primary": plan.primary,
            "batches": plan.batches,
            "skipped": self.skipped,
            "services": {h: plan.placement[h] for h in plan.hosts},
            "release_command": self.config.release.command if self.config.release else None,
        }

    def _proxy(self) -> dict[str, Any] | None:
        lb = self.fleet.env.load_balancer
        ports = proxy_ports(self.config, self.plan.services)
        if not lb.proxy or not ports:
            return None
        if self.fleet.shared_ingress:
            return ingress.proxy_spec(self.plan.names, lb.proxy_image, ingress.ports(self.config, self.plan.services),
                                      self.fleet.proxy_bind, _render("proxy/ingress.conf.j2"))
        return {
            "kind": "app",
            "name": self.plan.names.proxy,
            "image": lb.proxy_image,
            "conf_dir": self.plan.names.proxy_conf_dir,
            "ports": ports,
            "bind": self.fleet.proxy_bind,
        }

    def _prepare_proxy(self, secrets: Path) -> dict[str, Any]:
        """prepare.yml's proxy data: the app's own proxy's nginx.conf, or its claims on each
        target's shared ingress and its TLS material (a 0600 file; the task is no_log)."""
        proxy = self._proxy()
        shared = proxy is not None and proxy["kind"] == "ingress"
        data: dict[str, Any] = {"nginx_conf": None, "ingress": None, "ingress_tls_file": None}
        if proxy is not None and not shared:
            data["nginx_conf"] = _render("proxy/nginx.conf.j2", opsctl_app=self.plan.app, opsctl_env=self.plan.env)
        if shared:
            names, placement = self.plan.names, self.plan.placement
            data["ingress"] = {host: {"dir": INGRESS_DIR, "key": names.ingress_key, "claims": ingress.claims(
                self.config, names, [s for s in self.plan.services if placement[host][s] != "absent"])}
                for host in self.plan.hosts}
            tls = ingress.tls_material(self.config, self.plan.env, self.plan.services)
            if tls:
                data["ingress_tls_file"] = str(write_secret(secrets, "ingress-tls.json", json.dumps(tls)))
        return data

    def _registry(self, secrets: Path) -> dict[str, str] | None:
        registry = self.config.registry
        if registry is None:
            return None
        password = secret_value(self.config, self.fleet.env_name, registry.password_env)
        return {
            "server": registry.server,
            "username": registry.username,
            "password_file": str(write_secret(secrets, "registry-password", password)),
        }

    def _extra_env(self, target: Target) -> dict[str, str]:
        return {
            "OPSCTL_APP": self.plan.app,
            "OPSCTL_ENV": self.plan.env,
            "OPSCTL_VERSION": target.version,
            "OPSCTL_RELEASE": str(target.release),
        }

    def release_step(self, image: str, version: str, conf_hash: str) -> tuple[str, list[str]] | None:
        """The release command's container name and `docker run` argv, or None without one."""
        if not self.config.release:
            return None
        name = self.plan.names.release_container(self.token)
        argv = ["docker", "run", "--rm", "--name", name, "--env-file", self.plan.names.env_file(conf_hash)]
        for key, value in sorted(self._extra_env(Target(0, version, image, conf_hash)).items()):
            if key != "OPSCTL_RELEASE":
                argv += ["-e", f"{key}={value}"]
        return name, [*argv, image, *self.config.release.command]

    # --- the runs ----------------------------------------------------------------------------

    def deploy_run(self, image: str, version: str, conf_hash: str, env_text: str, *, message: str | None,
                   lock_wait: float, decide: Decide) -> RunResult:
        """A deploy as one run: the lock and every ledger copy, configs and pull on every target, the
        gate where `decide` (given the validated ledger and the run so far) names the release, the
        release step, the roll, and the ledger written with the lock released."""
        release = self.release_step(image, version, conf_hash)
        self.release_container = release[0] if release else None
        with secret_dir() as secrets:
            def run() -> RunResult:
                constants = {
                    **self._lock_constants(),
                    "opsctl_env_file_dest": self.plan.names.env_file(conf_hash),
                    **self._release_constants(release),
                    **roll_constants,
                }
                data = {
                    **self._lock_data(version, message, "deploy"),
                    "env_file_src": str(write_secret(secrets, "app.env", env_text)),
                    **self._prepare_proxy(secrets),
                    "registry": self._registry(secrets),
                    "image": image,
                    "pull": self.fleet.pull,
                    **({"release_argv": release[1]} if release else {}),
                    **roll_data,
                }
                playbooks = ["state.yml", "prepare.yml", "decide.yml", *(["release.yml"] if release else []),
                             "roll.yml"]
                return self.fleet.run(playbooks, constants, label="deploy", data=data,
                                      gate=Gate(self._gate(decide, ordered, run_id)))

            roll_constants, roll_data, ordered, run_id = self._roll_inputs(self.plan.hosts, self.fatal, secrets)
            return self._locked(run, lock_wait)

    def rollback_run(self, version: str | None, *, message: str | None, lock_wait: float,
                     decide: Decide) -> RunResult:
        """A rollback as one run: the lock and every ledger copy, the gate where `decide` names the
        release to return to, the roll, and the ledger written with the lock released."""
        with secret_dir() as secrets:
            roll_constants, roll_data, ordered, run_id = self._roll_inputs(self.plan.hosts, self.fatal, secrets)

            def run() -> RunResult:
                return self.fleet.run(
                    ["state.yml", "decide.yml", "roll.yml"], {**self._lock_constants(), **roll_constants},
                    label="rollback", data={**self._lock_data(version, message, "rollback"), **roll_data},
                    gate=Gate(self._gate(decide, ordered, run_id)),
                )

            return self._locked(run, lock_wait)

    def roll(self, target: Target, hosts: list[str], entries: list[dict[str, Any]] | None,
             unlock: bool, remove: bool = False) -> RunResult:
        """Swap `hosts` to `target` batch by batch (a run of its own); `remove` takes the app off them."""
        with secret_dir() as secrets:
            constants, data, ordered, run_id = self._roll_inputs(hosts, unlock, secrets, recovering=True)
            decision = self._decision(target, ordered, run_id, entries, remove)
            return self.fleet.run("roll.yml", constants, label=f"roll-r{target.release}", data=data,
                                  decision=decision)

    def discard(self, hosts: list[str]) -> None:
        """Remove what the last roll started ahead on `hosts` (whose own swap never switched)."""
        if self.last_roll is None or not hosts:
            return
        run, decision = self.last_roll
        constants = {"opsctl_targets": ",".join(hosts), "opsctl_network": self.plan.names.network,
                     "opsctl_label_prefix": LABEL_PREFIX, "opsctl_monitor": self.fleet.env.rollout.monitor,
                     "opsctl_drain": self.fleet.env.rollout.drain, **run}
        keys = contract.PLAYBOOKS["discard.yml"].decision
        if not (result := self.fleet.run("discard.yml", constants, label="discard", data={"proxy": self._proxy()},
                                         decision={k: v for k, v in decision.items() if k in keys}, quiet=True)).ok:
            output.warn(f"could not remove the containers started ahead: {result.failure_summary()}")

    def not_locked(self) -> None:
        self.locked = False

    @property
    def fatal(self) -> bool:
        """Any host's failure stops the roll: reaching its last play then means success, so the
        ledger entry and the unlock ride along in the same run."""
        return self.fleet.env.rollout.max_failures == 0

    def _locked(self, run: Callable[[], RunResult], lock_wait: float) -> RunResult:
        """`run` (whose first play takes the lock), again while the lock is someone else's and
        `lock_wait` allows (never for a holder that is gone: locking.acquire_lock)."""
        def attempt() -> _Attempt:
            self.locked = True  # may hold it from here on, even if interrupted before it hears so
            result = run()
            lock = result.of("lock").get(self.fleet.primary)
            held = lock is not None and bool(lock.result.get("lock_held"))
            raw = lock.result.get("holder") if lock is not None and held else None
            return _Attempt(result, held, locking.Holder.read(raw) if raw else None)

        return locking.acquire_lock(attempt, lock_wait=lock_wait, env=self.plan.env, on_held=self.not_locked).result

    def _gate(self, decide: Decide, ordered: list[str], run_id: str) -> Callable[[RunResult], dict[str, Any]]:
        def gate(partial: RunResult) -> dict[str, Any]:
            state = self.fleet.state_of(partial)
            self.releases = self.fleet.history(state, writing=True)
            self.ledger_hosts = [h for h in self.plan.all_hosts if h in state.answered]
            target, entries = decide(self.releases, partial)
            return self._decision(target, ordered, run_id, entries)

        return gate

    def _lock_constants(self) -> dict[str, Any]:
        return {"opsctl_lock": "acquire", "opsctl_lock_token": self.token,
                "opsctl_state_hosts": ",".join(self.fleet.hosts)}

    def _lock_data(self, version: str | None, message: str | None, action: str) -> dict[str, Any]:
        return {"holder": holder_info(version, message, action)}

    def _release_constants(self, release: tuple[str, list[str]] | None) -> dict[str, Any]:
        if release is None or self.config.release is None:
            return {}
        return {"opsctl_primary_target": self.plan.hosts[0], "opsctl_release_timeout": int(self.config.release.timeout)}

    def _roll_inputs(self, hosts: list[str], unlock: bool, secrets: Path,
                     recovering: bool = False) -> tuple[dict[str, Any], dict[str, Any], list[str], str]:
        """A roll's constants and data (what does not depend on the ledger), its hosts in batch order
        and its run id. A `recovering` roll (back after a failure) never stops at a host whose
        replicas could not start ahead: every other host it can bring back, it does."""
        plan = self.plan
        ordered = [h for b in plan.batches for h in b if h in hosts]
        run_id = new_token()
        constants = {
            "opsctl_targets": ",".join(ordered),
            "opsctl_serial": _batch_sizes_for(plan.batches, hosts),
            "opsctl_any_errors_fatal": self.fatal,
            "opsctl_network": plan.names.network,
            "opsctl_label_prefix": LABEL_PREFIX,
            "opsctl_monitor": self.fleet.env.rollout.monitor,
            "opsctl_drain": self.fleet.env.rollout.drain,
            "opsctl_pause": self.fleet.env.rollout.pause,
            "opsctl_standby": self.fleet.env.rollout.standby,
            "opsctl_unlock": unlock,
            "opsctl_lock_token": self.token,
            "opsctl_run_id": run_id,
            # Several batches: every host starts its new HTTP containers ahead (roll.yml).
            "opsctl_prestart": _starts_ahead(plan.batches, hosts),
            "opsctl_prestart_fatal": self.fatal and not recovering,
        }
        return constants, {"lb_hook": self._lb_hook(secrets), "proxy": self._proxy()}, ordered, run_id

    def _decision(self, target: Target, ordered: list[str], run_id: str, entries: list[dict[str, Any]] | None,
                  remove: bool = False) -> dict[str, Any]:
        """What a roll reads as opsctl_decision: everything that depends on the ledger."""
        decision = self._decision_of(target, ordered, run_id, entries, remove)
        # A roll of one batch starts nothing ahead, so a failure leaves nothing to discard.
        self.last_roll = ({"opsctl_run_id": run_id}, decision) if _starts_ahead(self.plan.batches, ordered) else None
        return decision

    def _decision_of(self, target: Target, ordered: list[str], run_id: str,
                     entries: list[dict[str, Any]] | None, remove: bool) -> dict[str, Any]:
        services = {
            h: service_specs(self.config, self.plan, h, target, run_id[:6], _render_upstream,
                             ingress=self.fleet.shared_ingress) for h in ordered
        }
        if remove:
            for specs in services.values():
                for spec in specs:
                    spec["mode"] = "absent"
        return {
            "release": target.release,
            "version": target.version,
            "image": target.image,
            "extra_env": self._extra_env(target),
            "services": services,
            "ledger": entries,
            "ledger_hosts": [h for h in self.ledger_hosts if h not in self.lost],
            "env_file": self.plan.names.env_file(target.config_hash),
        }

    def stop_release(self) -> None:
        """Remove the release step's container after an interrupt, a timeout or a failure.

        Ansible's task timeout and a cancelled run only end the `docker run` client, never the
        container: without this a migration could go on running after the lock is released.
        """
        if self.release_container is None:
            return
        result = self.fleet.run(
            "release_stop.yml",
            {"opsctl_primary_target": self.plan.hosts[0], "opsctl_release_container": self.release_container},
            label="release-stop", quiet=True,
        )
        if not result.ok:
            output.warn(f"could not remove the release container {self.release_container}: "
                        f"{result.failure_summary()}")

    def _lb_hook(self, secrets: Path) -> list[str]:
        lb = self.fleet.env.load_balancer
        if not lb.target_group:
            return []
        import os
        import sys

        # Ansible runs with a minimal environment (see runner.py); the hook gets AWS credentials
        # from the deploying process through a private file instead.
        aws = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        aws_env = write_secret(secrets, "aws.env", "".join(f"{k}={v}\n" for k, v in aws.items()))
        return [sys.executable, "-m", "opsctl.deploy.lb_hook", "--config", str(self.config.source),
                "--env", self.plan.env, "--aws-env", str(aws_env)]

    def unlock(self) -> None:
        """Release the lock if this rollout may hold it; someone else's lock is left alone."""
        if not self.locked:
            return
        result = self.fleet.state(lock="release", token=self.token)
        task = result.of("lock").get(self.fleet.primary)
        if result.ok or (task is not None and task.result.get("lock_held")):
            self.locked = False
        else:
            output.warn(f"could not release the deploy lock: {result.failure_summary()}")

    def finish(self, releases: list[ledger.Release], entry: ledger.Release) -> None:
        self.fleet.write_ledger(ledger.append(releases, entry), skip=self.lost)
        self.unlock()

    def switched_and_failed(self, result: RunResult) -> tuple[list[str], list[str]]:
        swaps = result.of("swap")
        switched = [h for h, r in swaps.items() if r.status == "ok"]
        failed = sorted({r.host for r in result.failures()})
        # An unreachable host is lost for the rest of this command: waiting on it again (to roll it
        # back, to write its ledger) would only add a timeout per step.
        self.lost = sorted({*self.lost, *(r.host for r in result.failures() if r.status == "unreachable")})
        return switched, failed


# What a deploy or rollback decides at its run's gate: given the validated ledger and the run so far,
# the release to roll out and the ledger to write at the end (None: written afterwards by Python).
Decide = Callable[[list[ledger.Release], RunResult], tuple[Target, list[dict[str, Any]] | None]]


@dataclass
class _Attempt:
    """One run that tried to take the lock (locking.acquire_lock's view of it)."""

    result: RunResult
    held_by_other: bool
    holder: locking.Holder | None


def _starts_ahead(batches: list[list[str]], hosts: list[str]) -> bool:
    """A roll of `hosts` in more than one batch starts every host's new HTTP replicas ahead."""
    return len(_batch_sizes_for(batches, hosts)) > 1


def _batch_sizes_for(batches: list[list[str]], hosts: list[str]) -> list[int]:
    sizes = [sum(1 for h in batch if h in hosts) for batch in batches]
    return [s for s in sizes if s] or [1]
