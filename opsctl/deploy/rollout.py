"""One deploy or rollback on one environment, as playbook runs: lock, prepare, release step, roll.

The flows (flows.py) decide what to run and what the ledger says; this runs it on the hosts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opsctl import output
from opsctl.config.secrets import secret_value
from opsctl.deploy import ledger
from opsctl.deploy.fleet import Fleet, artifacts_hint, holder_info, new_token
from opsctl.deploy.names import LABEL_PREFIX
from opsctl.deploy.plan import (
    RolloutPlan,
    Target,
    plan_rollout,
    proxy_ports,
    select_hosts,
    select_services,
    service_specs,
)
from opsctl.deploy.runner import RunResult, secret_dir, write_secret
from opsctl.errors import OpsctlError
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
        self.lost: list[str] = []
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
            "name": self.plan.names.proxy,
            "image": lb.proxy_image,
            "conf_dir": self.plan.names.proxy_conf_dir,
            "ports": ports,
            "bind": self.fleet.proxy_bind,
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

    def prepare(self, image: str, version: str, conf_hash: str, env_text: str,
                lock_wait: float, message: str | None, action: str) -> tuple[list[ledger.Release], dict[str, list[str]]]:
        """Lock and validate the ledger, then push configs, pull, run the release step.
        Returns the ledger and the digests per host."""
        releases = self.take_lock(version, message, lock_wait, action)
        release = self.release_step(image, version, conf_hash) if action == "deploy" else None
        data = {"image": image, "release_argv": release[1] if release else [], "pull": self.fleet.pull}
        try:
            result = self._prepare_run(conf_hash, env_text, data)
        except KeyboardInterrupt:
            self.stop_release(release)
            raise
        if not result.ok:
            self.stop_release(release)
            raise OpsctlError(
                "preparation failed; no running container was touched:\n" + result.failure_summary(),
                hint=artifacts_hint(result.artifacts),
            )
        digests = {host: list(r.result.get("digests") or []) for host, r in result.of("pull").items()}
        return releases, digests

    def take_lock(self, version: str | None, message: str | None, lock_wait: float,
                  action: str = "rollback") -> list[ledger.Release]:
        """Take the lock (state.yml, before anything else runs) and read every host's ledger copy:
        the validated history, or an error naming the broken or divergent copies."""
        def attempting() -> None:
            self.locked = True  # may hold it from here on, even if interrupted before it hears so

        state = self.fleet.acquire(self.token, lambda: holder_info(version, message, action), lock_wait,
                                   on_attempt=attempting, on_held=self.not_locked)
        return self.fleet.history(state, writing=True)

    def not_locked(self) -> None:
        self.locked = False

    def _prepare_run(self, conf_hash: str, env_text: str, data: dict[str, Any]) -> RunResult:
        constants = {
            "opsctl_targets": ",".join(self.plan.hosts),
            "opsctl_primary_target": self.plan.hosts[0],
            "opsctl_env_file_dest": self.plan.names.env_file(conf_hash),
            "opsctl_release_timeout": int(self.config.release.timeout) if self.config.release else 0,
        }
        with secret_dir() as secrets:
            data = {
                **data,
                "env_file_src": str(write_secret(secrets, "app.env", env_text)),
                "nginx_conf": _render(
                    "proxy/nginx.conf.j2", opsctl_app=self.plan.app, opsctl_env=self.plan.env
                ) if self._proxy() else None,
                "registry": self._registry(secrets),
            }
            return self.fleet.run("prepare.yml", constants, label="prepare", data=data)

    def stop_release(self, release: tuple[str, list[str]] | None) -> None:
        """Remove the release step's container after an interrupt, a timeout or a failure.

        Ansible's task timeout and a cancelled run only end the `docker run` client, never the
        container: without this a migration could go on running after the lock is released.
        """
        if release is None:
            return
        result = self.fleet.run(
            "release_stop.yml",
            {"opsctl_primary_target": self.plan.hosts[0], "opsctl_release_container": release[0]},
            label="release-stop", quiet=True,
        )
        if not result.ok:
            output.warn(f"could not remove the release container {release[0]}: {result.failure_summary()}")

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
        constants = {
            "opsctl_targets": ",".join(ordered),
            "opsctl_serial": sizes,
            "opsctl_any_errors_fatal": self.fleet.env.rollout.max_failures == 0,
            "opsctl_release": target.release,
            "opsctl_network": plan.names.network,
            "opsctl_label_prefix": LABEL_PREFIX,
            "opsctl_env_file_dest": plan.names.env_file(target.config_hash),
            "opsctl_monitor": self.fleet.env.rollout.monitor,
            "opsctl_drain": self.fleet.env.rollout.drain,
            "opsctl_pause": self.fleet.env.rollout.pause,
            "opsctl_ledger_hosts": ",".join(plan.all_hosts),
            "opsctl_unlock": unlock,
            "opsctl_lock_token": self.token,
            "opsctl_run_id": run_id,
        }
        data = {
            "lb_hook": self._lb_hook(secrets),
            "version": target.version,
            "image": target.image,
            "extra_env": self._extra_env(target),
            "services": services,
            "proxy": self._proxy(),
            "ledger": entries,
        }
        return self.fleet.run("roll.yml", constants, label=f"roll-r{target.release}", data=data)

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


def _batch_sizes_for(batches: list[list[str]], hosts: list[str]) -> list[int]:
    sizes = [sum(1 for h in batch if h in hosts) for batch in batches]
    return [s for s in sizes if s] or [1]
