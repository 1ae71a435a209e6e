"""`opsctl dev up|down|status`: the app on this machine, deployed by the same flow as a server.

up: build the image here (never pushed), bootstrap this machine (bootstrap.yml: directories and
the app's network), start the stand-ins, write the dev secrets, then `flows.deploy` on the local
fleet (ansible_connection=local) with the proxy on 127.0.0.1.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opsctl import output
from opsctl.config.models import Config
from opsctl.deploy.names import Names
from opsctl.dev import files, standins
from opsctl.dev import plan as dev_plan
from opsctl.dev.plan import DevPlan, Images
from opsctl.errors import OpsctlError

BIND = "127.0.0.1"


@dataclass
class UpReport:
    app: str
    env: str
    version: str
    image: str
    urls: dict[str, str]
    standins: dict[str, str] = field(default_factory=dict)  # what -> where (no credentials)
    secrets_file: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"ok": True, "app": self.app, "env": self.env, "version": self.version, "image": self.image,
                "urls": self.urls, "standins": self.standins, "secrets_file": self.secrets_file}


def up(config: Config, env_name: str, version: str | None, port: int, images: Images) -> UpReport:
    plan = dev_plan.plan(config, env_name, version, port)
    client = standins.engine()
    names = Names(config.app, env_name)
    check_ports(client, plan, names)
    postgres_image, proxy_image = standins.ensure_images(client, plan, images)
    image = build(config, plan)
    home = files.ensure(files.directory(config.app, env_name))
    _bootstrap(config, env_name, names)
    gateway = standins.gateway(client, names.network)
    state = files.read_state(home)
    stored = files.read_secrets(home)
    password, pg_port, moto_port = _start_standins(client, plan, postgres_image, gateway, home, state, stored)
    files.write_state(home, {"app": plan.app, "env": plan.env, "postgres_port": pg_port, "moto_port": moto_port,
                             "gateway": gateway, "ports": plan.ports})
    clear, provided = dev_plan.wiring(plan, gateway, pg_port, moto_port, password)
    secrets_path = _write_secrets(config, plan, home, stored, provided)
    deployed = dev_plan.dev_config(config, plan, clear, list(provided), str(secrets_path), proxy_image)
    _deploy(deployed, plan)
    standin_report = {}
    if plan.postgres is not None:
        standin_report["postgres"] = f"{plan.postgres_container} on {gateway}:{pg_port} (DATABASE_URL)"
    if plan.needs_aws:
        standin_report["aws"] = f"moto on http://{gateway}:{moto_port} (AWS_ENDPOINT_URL)"
    return UpReport(app=plan.app, env=plan.env, version=plan.version, image=image,
                    urls={s: f"http://{BIND}:{p}" for s, p in plan.ports.items()},
                    standins=standin_report, secrets_file=str(secrets_path))


def check_ports(client: Any, plan: DevPlan, names: Names) -> None:
    """Each local port must be free, or be published by this app's own proxy already. A proxy
    left with other ports (an earlier --port) is removed: the deploy starts it again."""
    proxy = standins.container(client, names.proxy)
    published: set[int] = set()
    if proxy is not None:
        for bindings in (proxy.attrs.get("HostConfig", {}).get("PortBindings") or {}).values():
            published |= {int(b.get("HostPort") or 0) for b in bindings or []}
        if proxy.status != "running" or published != set(plan.ports.values()):
            proxy.remove(force=True)
            published = set()
    for service, port in plan.ports.items():
        if port not in published and not standins.is_free(BIND, port):
            raise OpsctlError(f"port {port} on {BIND} (for service {service}) is taken by another program",
                              hint="pass --port with a free port (or set OPSCTL_DEV_PORT)")


def build(config: Config, plan: DevPlan) -> str:
    """`opsctl build`'s steps without the push and without moving `latest`: IMAGE:VERSION only."""
    from datetime import UTC, datetime

    from opsctl.build import BuildOptions, docker_api, source_state
    from opsctl.build import plan as build_plan
    from opsctl.build.image import build_image
    from opsctl.build.progress import make_progress

    _, git_state = source_state(config, allow_dirty=True)  # a developer builds uncommitted work
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    opts = BuildOptions(version=plan.version, build_args={}, push=False, allow_dirty=True)
    spec = replace(build_plan(config, opts, git_state.revision, bool(git_state.dirty), created),
                   tags=[plan.version])
    progress = make_progress()
    try:
        output.step(f"building {spec.version_ref} (not pushed)")
        build_image(docker_api(), spec, progress)
    finally:
        progress.close()
    return spec.version_ref


def _bootstrap(config: Config, env_name: str, names: Names) -> None:
    """bootstrap.yml on this machine: opsctl's state directories and the app's network."""
    from opsctl.deploy.fleet import local_fleet

    fleet = local_fleet(config, env_name)
    output.step(f"bootstrap this machine for {config.app} ({env_name})")
    result = fleet.run("bootstrap.yml", {"opsctl_targets": ",".join(fleet.hosts), "opsctl_network": names.network},
                       label="bootstrap", quiet=True)
    if not result.ok:
        raise OpsctlError(f"bootstrap failed:\n{result.failure_summary()}",
                          hint=f"opsctl keeps the app's state in {names.state_dir}: it needs write access there")


def _start_standins(client: Any, plan: DevPlan, image: str | None, gateway: str, home: Path,
                    state: dict[str, Any], stored: dict[str, str]) -> tuple[str | None, int | None, int | None]:
    """Start what the plan needs; (PostgreSQL password, its port, the AWS endpoint's port)."""
    password = pg_port = moto_port = None
    taken: set[int] = set()
    if plan.postgres is not None:
        assert image is not None
        password = stored.get(plan.postgres.password_secret) or _new_password(client, plan, home)
        running = standins.container(client, plan.postgres_container)
        pg_port = files.saved_port(state, "postgres_port")
        if running is not None and pg_port is None:
            running.remove(force=True)  # its port is unknown: start it again (the data volume stays)
        pg_port = pg_port if running is not None and pg_port else standins.free_port(gateway, standins.PG_PORT_FROM)
        taken.add(pg_port)
        output.step(f"PostgreSQL stand-in {plan.postgres_container} on {gateway}:{pg_port}")
        standins.start_postgres(client, plan, image, gateway, pg_port, password)
        standins.wait_postgres(client, plan, gateway, pg_port)
    if plan.needs_aws:
        from opsctl.lab.aws import running_pid

        moto_port = files.saved_port(state, "moto_port") if running_pid(home) else None
        moto_port = moto_port or standins.free_port(gateway, standins.PG_PORT_FROM + 1, taken)
        output.step(f"AWS endpoint (moto) on {gateway}:{moto_port}")
        standins.start_moto(home, gateway, moto_port, plan.region)
        endpoint = f"http://{gateway}:{moto_port}"
        _wait_http(endpoint, home)
        standins.create_aws_resources(plan, endpoint)
    return password, pg_port, moto_port


def _new_password(client: Any, plan: DevPlan, home: Path) -> str:
    """A password for a new database; a data volume left without its password is refused."""
    if standins.volume_exists(client, plan.postgres_volume):
        raise OpsctlError(
            f"the PostgreSQL data volume {plan.postgres_volume} exists but its password is gone "
            f"({home / files.SECRETS_FILE} was removed)",
            hint=f"start over with: opsctl dev down -e {plan.env} (this deletes that database)",
        )
    return files.generate()


def _wait_http(url: str, home: Path, timeout: float = 60) -> None:
    from opsctl.lab.probes import http_status

    deadline = time.monotonic() + timeout
    while http_status(url) is None:
        if time.monotonic() > deadline:
            raise OpsctlError(f"the AWS endpoint did not answer at {url} within {timeout:.0f}s",
                              hint=f"see {home / 'moto.log'}")
        time.sleep(0.2)


def _write_secrets(config: Config, plan: DevPlan, home: Path, stored: dict[str, str],
                   provided: dict[str, str]) -> Path:
    """The dev secrets file: the stand-ins' values, and one generated for every app secret that is
    set nowhere else. The stand-ins' names win over the process environment (a DATABASE_URL
    exported for another purpose must not reach the dev app), so they are dropped from it."""
    from opsctl.config.secrets import secret_is_set

    for name in provided:
        if os.environ.get(name):
            output.warn(f"{name} from your environment is not used: opsctl dev sets it for the stand-in")
        os.environ.pop(name, None)
    names = dev_plan.missing_app_secrets(config, plan.env, set(provided), {
        n: secret_is_set(config, plan.env if plan.env in config.environments else None, n)
        for n in [*config.env.secret, *_env_secrets(config, plan.env)]
    })
    generated = {n: stored.get(n) or files.generate() for n in names}
    if generated:
        output.info(f"generated dev values for {', '.join(sorted(generated))} (kept in {home / files.SECRETS_FILE})")
    return files.write_secrets(home, {**generated, **provided})


def _env_secrets(config: Config, env_name: str) -> list[str]:
    env = config.environments.get(env_name)
    return list(env.env.secret) if env else []


def _deploy(config: Config, plan: DevPlan) -> None:
    from opsctl.deploy import flows
    from opsctl.deploy.fleet import local_fleet

    fleet = local_fleet(config, plan.env)
    fleet.pull = False
    fleet.proxy_bind = BIND
    fleet.shared_ingress = False  # the app's own proxy, on this machine's ports
    outcome = flows.deploy(fleet, plan.version, hosts=None, services=None, dry_run=False,
                           lock_wait=0.0, message="opsctl dev up")
    assert not isinstance(outcome, dict)
    if not outcome.ok:
        raise OpsctlError(f"the app did not start: {outcome.error}",
                          hint="`opsctl dev status` lists the containers; `docker logs NAME` shows one's output")
