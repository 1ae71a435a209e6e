"""The deploy and rollback flows: lock -> configs -> pull -> release step -> roll -> record -> unlock.

Python decides every step and what the ledger says; the playbooks only act on the hosts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl import output
from opsctl.config.secrets import app_env, secret_value
from opsctl.deploy import ledger
from opsctl.deploy.fleet import Fleet, artifacts_hint, describe_holder, holder_info, new_token, now, who
from opsctl.deploy.plan import (
    RolloutPlan,
    Target,
    config_hash,
    env_file_path,
    plan_rollout,
    proxy_ports,
    render_env_file,
    select_hosts,
    select_services,
    service_specs,
)
from opsctl.deploy.runner import RunResult, secret_dir, write_secret
from opsctl.errors import OpsctlError
from opsctl.paths import templates_dir
from opsctl.validate import check_version, split_csv

SWAP_TASK = "Swap containers"


class LockHeld(OpsctlError):
    def __init__(self, holder: dict[str, Any]):
        super().__init__(
            f"the deploy lock is held by {describe_holder(holder)}",
            hint="wait with --lock-wait SECONDS, or if that process is gone: opsctl lock release",
        )
        self.holder = holder


@dataclass
class Outcome:
    release: ledger.Release
    ok: bool
    switched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None
    fleet_state: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # The release that was current before this one (for hooks and notifications).
    previous: ledger.Release | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "release": self.release.to_json(),
            "switched": self.switched,
            "failed": self.failed,
            "error": self.error,
            "fleet_state": self.fleet_state,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


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
                 batch: int | str | None = None):
        self.fleet = fleet
        self.config = fleet.config
        targets = select_hosts(fleet.inventory, split_csv(hosts))
        chosen = select_services(self.config, split_csv(services))
        self.plan: RolloutPlan = plan_rollout(
            self.config, fleet.env_name, fleet.env, fleet.inventory, targets, chosen,
            batch=batch if batch is not None else fleet.env.rollout.batch,
        )
        self.token = new_token()
        self.locked = False
        self.timings: dict[str, float] = {}

    # --- pieces ----------------------------------------------------------------------------

    def describe(self, version: str) -> dict[str, Any]:
        plan = self.plan
        return {
            "app": plan.app,
            "env": plan.env,
            "version": version,
            "primary": plan.primary,
            "batches": plan.batches,
            "services": {h: plan.placement[h] for h in plan.hosts},
            "release_command": self.config.release.command if self.config.release else None,
        }

    def _proxy(self) -> dict[str, Any] | None:
        lb = self.fleet.env.load_balancer
        ports = proxy_ports(self.config, self.plan.services)
        if not lb.proxy or not ports:
            return None
        return {
            "name": self.plan.proxy_name,
            "image": lb.proxy_image,
            "conf_dir": f"{self.plan.state_dir}/proxy",
            "ports": ports,
        }

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

    def prepare(self, image: str, version: str, conf_hash: str, env_text: str,
                lock_wait: float, message: str | None, action: str) -> tuple[list[ledger.Release], dict[str, list[str]]]:
        """Lock, push configs, pull, run the release step. Returns the ledger and digests per host."""
        deadline = time.monotonic() + lock_wait
        release_argv: list[str] = []
        if action == "deploy" and self.config.release:
            release_argv = [
                "docker", "run", "--rm", "--name", f"{self.plan.app}-{self.plan.env}-release-{self.token[:8]}",
                "--env-file", env_file_path(self.plan, conf_hash),
            ]
            for key, value in sorted(self._extra_env(Target(0, version, image, conf_hash)).items()):
                if key != "OPSCTL_RELEASE":
                    release_argv += ["-e", f"{key}={value}"]
            release_argv += [image, *self.config.release.command]
        while True:
            # From here on this rollout may hold the lock, even if interrupted before it hears so.
            self.locked = True
            with secret_dir() as secrets:
                extravars = {
                    "opsctl_lock": "acquire",
                    "opsctl_lock_token": self.token,
                    "opsctl_lock_holder": holder_info(version, message, action),
                    "opsctl_targets": ",".join(self.plan.hosts),
                    "opsctl_primary_target": self.plan.hosts[0],
                    "opsctl_env_file_src": str(write_secret(secrets, "app.env", env_text)),
                    "opsctl_env_file_dest": env_file_path(self.plan, conf_hash),
                    "opsctl_nginx_conf": _render(
                        "proxy/nginx.conf.j2", opsctl_app=self.plan.app, opsctl_env=self.plan.env
                    ) if self._proxy() else None,
                    "opsctl_registry": self._registry(secrets),
                    "opsctl_image": image,
                    "opsctl_release_argv": release_argv,
                    "opsctl_release_timeout": int(self.config.release.timeout) if self.config.release else 0,
                }
                result = self.fleet.run("prepare.yml", extravars, label="prepare")
            lock = result.for_task("Take the deploy lock and read the ledger").get(self.plan.primary)
            if result.ok:
                break
            if lock is not None and lock.result.get("lock_held"):
                self.locked = False
                holder = lock.result.get("holder") or {}
                if time.monotonic() >= deadline:
                    raise LockHeld(holder)
                output.step(f"waiting for the deploy lock ({describe_holder(holder)})")
                time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
                continue
            raise OpsctlError(
                "preparation failed; no running container was touched:\n" + result.failure_summary(),
                hint=artifacts_hint(result.artifacts),
            )
        assert lock is not None
        releases = ledger.parse(lock.result.get("ledger") or [])
        digests = {host: list(r.result.get("digests") or []) for host, r in result.for_task("Pull the image").items()}
        return releases, digests

    def roll(self, target: Target, hosts: list[str], entries: list[dict[str, Any]] | None,
             unlock: bool, remove: bool = False) -> RunResult:
        """Swap `hosts` to `target` batch by batch; `remove` takes the app off them instead."""
        plan = self.plan
        ordered = [h for b in plan.batches for h in b if h in hosts]
        sizes = _batch_sizes_for(plan.batches, hosts)
        run_id = new_token()
        services = {
            h: service_specs(self.config, plan, h, target, run_id[:6], _render_upstream) for h in ordered
        }
        if remove:
            for specs in services.values():
                for spec in specs:
                    spec["mode"] = "absent"
        with secret_dir() as secrets:
            return self._roll(target, ordered, sizes, services, entries, unlock, run_id, secrets)

    def _roll(self, target: Target, ordered: list[str], sizes: list[int], services: dict[str, Any],
              entries: list[dict[str, Any]] | None, unlock: bool, run_id: str, secrets: Path) -> RunResult:
        plan = self.plan
        extravars = {
            "opsctl_targets": ",".join(ordered),
            "opsctl_serial": sizes,
            "opsctl_any_errors_fatal": self.fleet.env.rollout.max_failures == 0,
            "opsctl_lb_hook": self._lb_hook(secrets),
            "opsctl_release": target.release,
            "opsctl_version": target.version,
            "opsctl_image": target.image,
            "opsctl_network": plan.network,
            "opsctl_env_file_dest": env_file_path(plan, target.config_hash),
            "opsctl_extra_env": self._extra_env(target),
            "opsctl_services": services,
            "opsctl_proxy": self._proxy(),
            "opsctl_monitor": self.fleet.env.rollout.monitor,
            "opsctl_drain": self.fleet.env.rollout.drain,
            "opsctl_pause": self.fleet.env.rollout.pause,
            "opsctl_ledger_hosts": ",".join(plan.all_hosts),
            "opsctl_ledger": entries,
            "opsctl_unlock": unlock,
            "opsctl_lock_token": self.token,
            "opsctl_run_id": run_id,
        }
        return self.fleet.run("roll.yml", extravars, label=f"roll-r{target.release}")

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
        task = result.for_task("Lock and ledger").get(self.fleet.primary)
        if result.ok or (task is not None and task.result.get("lock_held")):
            self.locked = False
        else:
            output.warn(f"could not release the deploy lock: {result.failure_summary()}")

    def finish(self, releases: list[ledger.Release], entry: ledger.Release) -> None:
        self.fleet.write_ledger(ledger.append(releases, entry))
        self.unlock()

    def switched_and_failed(self, result: RunResult) -> tuple[list[str], list[str]]:
        swaps = result.for_task(SWAP_TASK)
        switched = [h for h, r in swaps.items() if r.status == "ok"]
        failed = sorted({r.host for r in result.failures()})
        return switched, failed


def _batch_sizes_for(batches: list[list[str]], hosts: list[str]) -> list[int]:
    sizes = [sum(1 for h in batch if h in hosts) for batch in batches]
    return [s for s in sizes if s] or [1]


def _digest_ref(repository: str, digests: dict[str, list[str]]) -> str | None:
    """The repo@sha256 all hosts agree on; None when the registry gave none (e.g. a local image)."""
    found: set[str] = set()
    for refs in digests.values():
        mine = [r for r in refs if r.split("@", 1)[0] == repository]
        if mine:
            found.add(mine[0])
    if len(found) > 1:
        raise OpsctlError(
            "the hosts pulled different images for the same tag (was it pushed again during the "
            "deploy?): " + ", ".join(sorted(found)),
            hint="deploy again; each host will pull the same digest",
        )
    return found.pop() if found else None


# --- the two flows --------------------------------------------------------------------------


def deploy(fleet: Fleet, version: str | None, *, hosts: str | None, services: str | None,
           dry_run: bool, lock_wait: float, message: str | None) -> Outcome | dict[str, Any]:
    config = fleet.config
    version = version or fleet.env.tag
    if version is None:
        raise OpsctlError(
            f"which version? give one (opsctl deploy v65 -e {fleet.env_name}) or set "
            f"environments.{fleet.env_name}.tag",
        )
    check_version(version)
    rollout = Rollout(fleet, hosts, services)
    if dry_run:
        return rollout.describe(version)
    started = time.monotonic()
    clear, secrets = app_env(config, fleet.env_name)
    conf_hash = config_hash(config, fleet.env_name, clear, list(secrets))
    image = f"{config.image}:{version}"
    try:
        output.step(f"deploy {version} to {fleet.env_name}: lock, configs, pull on {len(rollout.plan.hosts)} host(s)"
                    + (", release step" if config.release else ""))
        releases, digests = rollout.prepare(
            image, version, conf_hash, render_env_file(clear, secrets),
            lock_wait=lock_wait, message=message, action="deploy",
        )
        rollout.timings["prepare"] = time.monotonic() - started
        digest_ref = _digest_ref(config.image, digests)
        previous = ledger.current(releases)
        target = Target(
            release=ledger.next_number(releases), version=version,
            image=digest_ref or image, config_hash=conf_hash,
        )
        entry = ledger.Release(
            number=target.release, version=version, image=image,
            digest=digest_ref.split("@", 1)[1] if digest_ref else None,
            config_hash=conf_hash, who=who(), when=now(), status=ledger.SUCCEEDED,
            previous=previous.number if previous else None, message=message,
            hosts=rollout.plan.hosts, services=rollout.plan.services,
        )
        return _roll_and_record(rollout, releases, entry, target, previous, started)
    finally:
        rollout.unlock()


def rollback(fleet: Fleet, version: str | None, *, lock_wait: float, message: str | None) -> Outcome:
    if version is not None:
        check_version(version)
    started = time.monotonic()
    rollout = Rollout(fleet, batch=fleet.env.rollout.rollback_batch or fleet.env.rollout.batch)
    try:
        deadline = time.monotonic() + lock_wait
        while True:
            rollout.locked = True  # may hold it from here on, even if interrupted
            result = fleet.state(lock="acquire", token=rollout.token,
                                 holder=holder_info(version, message, "rollback"))
            task = result.for_task("Lock and ledger").get(fleet.primary)
            if result.ok and task is not None:
                break
            if task is not None and task.result.get("lock_held"):
                rollout.locked = False
                if time.monotonic() >= deadline:
                    raise LockHeld(task.result.get("holder") or {})
                time.sleep(1.0)
                continue
            raise OpsctlError(f"could not take the deploy lock: {result.failure_summary()}")
        releases = ledger.parse(task.result.get("ledger") or [])
        rollout.timings["lock"] = time.monotonic() - started
        back_to = ledger.rollback_target(releases, version)
        previous = ledger.current(releases)
        image = (f"{fleet.config.image}@{back_to.digest}" if back_to.digest else back_to.image)
        target = Target(release=ledger.next_number(releases), version=back_to.version,
                        image=image, config_hash=back_to.config_hash)
        entry = ledger.Release(
            number=target.release, version=back_to.version, image=back_to.image, digest=back_to.digest,
            config_hash=back_to.config_hash, who=who(), when=now(), status=ledger.SUCCEEDED,
            previous=previous.number if previous else None, kind="rollback", target=back_to.number,
            message=message, hosts=rollout.plan.hosts, services=rollout.plan.services,
        )
        output.step(f"rollback {fleet.env_name} to #{back_to.number} ({back_to.version})")
        return _roll_and_record(rollout, releases, entry, target, previous, started)
    finally:
        rollout.unlock()


def _roll_and_record(rollout: Rollout, releases: list[ledger.Release], entry: ledger.Release,
                     target: Target, previous: ledger.Release | None, started: float) -> Outcome:
    outcome = _roll_and_record_steps(rollout, releases, entry, target, previous, started)
    outcome.previous = previous
    return outcome


def _roll_and_record_steps(rollout: Rollout, releases: list[ledger.Release], entry: ledger.Release,
                           target: Target, previous: ledger.Release | None, started: float) -> Outcome:
    fleet = rollout.fleet
    plan = rollout.plan
    fatal = fleet.env.rollout.max_failures == 0
    output.step(f"roll release #{entry.number} ({entry.version}) over {len(plan.hosts)} host(s) "
                f"in {len(plan.batches)} batch(es)")
    roll_started = time.monotonic()
    # When any failure aborts the playbook, reaching its last plays means success, so the ledger
    # entry and the unlock ride along in the same run instead of costing another one.
    entries = ledger.append(releases, _finished(entry, started)) if fatal else None
    result = rollout.roll(target, plan.hosts, entries, unlock=fatal)
    rollout.timings["roll"] = time.monotonic() - roll_started
    switched, failed = rollout.switched_and_failed(result)
    if result.ok and not failed:
        rollout.locked = False
        done = _finished(entry, started)
        if not fatal:
            rollout.finish(releases, done)
        rollout.timings["total"] = time.monotonic() - started
        return Outcome(release=done, ok=True, switched=switched, fleet_state=f"all on {entry.version}",
                       timings=rollout.timings)

    error = result.failure_summary()
    if not fatal and len(failed) <= fleet.env.rollout.max_failures and result.ok:
        done = _finished(entry, started, note=f"{len(failed)} host(s) failed within max_failures: {error}")
        rollout.finish(releases, done)
        return Outcome(release=done, ok=True, switched=switched, failed=failed,
                       fleet_state=f"{', '.join(failed)} still on the previous release", timings=rollout.timings)

    output.error(f"release #{entry.number} failed:\n{error}")
    touched = [h for h in plan.hosts if h in switched or h in failed]
    if fleet.env.rollout.failure_action == "rollback" and touched:
        if previous is not None:
            output.step(f"rolling {', '.join(touched)} back to #{previous.number} ({previous.version})")
            back = Target(
                release=previous.number, version=previous.version,
                image=f"{fleet.config.image}@{previous.digest}" if previous.digest else previous.image,
                config_hash=previous.config_hash,
            )
            back_result = rollout.roll(back, touched, None, unlock=False)
            _, back_failed = rollout.switched_and_failed(back_result)
            state = (f"all hosts on #{previous.number} ({previous.version})" if back_result.ok
                     else f"rollback failed on {', '.join(back_failed)}: {back_result.failure_summary()}")
        else:
            back_result = rollout.roll(target, touched, None, unlock=False, remove=True)
            state = ("first release failed; its containers were removed" if back_result.ok
                     else f"removing the failed release failed: {back_result.failure_summary()}")
        status = ledger.ROLLED_BACK
    else:
        state = (f"paused: {', '.join(switched) or 'no host'} on {entry.version}, "
                 f"the rest on {previous.version if previous else 'nothing'}")
        status = ledger.FAILED
    done = _finished(entry, started, status=status, note=error[-1000:])
    rollout.finish(releases, done)
    rollout.timings["total"] = time.monotonic() - started
    return Outcome(release=done, ok=False, switched=switched, failed=failed, error=error,
                   fleet_state=state, timings=rollout.timings)


def announce(fleet: Fleet, outcome: Outcome) -> None:
    """Tell the config's webhooks how a deploy or rollback ended."""
    if not fleet.config.notify:
        return
    from opsctl import notify

    notify.send(fleet.config.notify, notify.outcome_event(fleet.config.app, fleet.env_name, outcome))


def _finished(entry: ledger.Release, started: float, status: str | None = None,
              note: str | None = None) -> ledger.Release:
    return ledger.Release(**{
        **entry.to_json(),
        "status": status or entry.status,
        "duration": round(time.monotonic() - started, 2),
        "note": note,
    })
