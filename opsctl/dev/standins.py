"""The Docker side of `opsctl dev`: images, the app network's gateway, the PostgreSQL container,
the AWS endpoint (moto) process, free ports. The docker SDK is imported inside functions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opsctl import output
from opsctl.dev.plan import BUILT_POSTGRES, BUILT_PROXY, DEFAULT_BASE_IMAGE, LABEL, DevPlan, Images
from opsctl.errors import OpsctlError
from opsctl.paths import templates_dir

PG_PORT_FROM = 15432  # first port tried on the gateway for PostgreSQL; moto takes the next free one


def engine() -> Any:
    from opsctl.docker_engine import connect_client

    return connect_client(hint="start the Docker engine (dockerd) or set DOCKER_HOST, then run opsctl dev up again")


def _has_image(client: Any, ref: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(ref)
    except ImageNotFound:
        return False
    return True


def require_image(client: Any, ref: str, setting: str) -> None:
    if not _has_image(client, ref):
        raise OpsctlError(
            f"image {ref} is not on this Docker engine and opsctl dev never pulls one",
            hint=f"build or load it first ('opsctl lab up' builds opsctl/base:bookworm), "
                 f"or set {setting} to an image you have",
        )


def build_template(client: Any, kind: str, tag: str, base: str) -> str:
    """Build templates/dev/KIND on `base` into TAG (the engine's cache makes a rebuild quick)."""
    from docker.errors import APIError, BuildError

    from opsctl.docker_engine import clean

    output.step(f"building {tag} on {base}")
    try:
        image, _ = client.images.build(path=str(templates_dir() / "dev" / kind), tag=tag,
                                       buildargs={"BASE": base}, pull=False, rm=True, forcerm=True)
    except BuildError as exc:
        tail = [clean(str(line.get("stream", ""))) for line in exc.build_log][-5:]
        raise OpsctlError(f"building {tag} failed: {clean(exc.msg)}\n" + "\n".join(t for t in tail if t),
                          hint=f"the build runs apt-get on {base}: check that Debian's mirror is reachable") from None
    except APIError as exc:
        raise OpsctlError(f"building {tag} failed: {clean(str(exc.explanation or exc))}") from None
    return str(image.id)


def ensure_images(client: Any, plan: DevPlan, images: Images) -> tuple[str | None, str]:
    """(postgres image or None, proxy image): the given ones checked, the others built on the base."""
    from opsctl.dev.plan import BASE_IMAGE_VAR, POSTGRES_IMAGE_VAR, PROXY_IMAGE_VAR

    needs_base = (plan.postgres is not None and not images.postgres) or not images.proxy
    if needs_base and images.base == DEFAULT_BASE_IMAGE and not _has_image(client, images.base):
        from opsctl.lab.images import ensure_base

        ensure_base(client)  # what `opsctl lab up` builds first (debootstrap; needs root)
    elif needs_base:
        require_image(client, images.base, BASE_IMAGE_VAR)
    if images.proxy:
        require_image(client, images.proxy, PROXY_IMAGE_VAR)
        proxy = images.proxy
    else:
        build_template(client, "proxy", BUILT_PROXY, images.base)
        proxy = BUILT_PROXY
    postgres = None
    if plan.postgres is not None:
        if images.postgres:
            require_image(client, images.postgres, POSTGRES_IMAGE_VAR)
            postgres = images.postgres
        else:
            build_template(client, "postgres", BUILT_POSTGRES, images.base)
            postgres = BUILT_POSTGRES
    return postgres, proxy


def gateway(client: Any, network: str) -> str:
    """The host's address on the app's network: reachable from its containers, from nowhere else."""
    from ipaddress import IPv4Address

    net = client.networks.get(network)
    configs = (net.attrs.get("IPAM") or {}).get("Config") or []
    for entry in configs:
        value = str(entry.get("Gateway") or "")
        try:
            return str(IPv4Address(value))
        except ValueError:
            continue
    raise OpsctlError(f"Docker network {network} has no IPv4 gateway", hint=f"docker network rm {network}, then try again")


def is_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
    return True


def free_port(address: str, start: int, taken: set[int] | None = None) -> int:
    for port in range(start, start + 200):
        if port not in (taken or set()) and is_free(address, port):
            return port
    raise OpsctlError(f"no free port on {address} in {start}-{start + 199}")


# --- PostgreSQL -------------------------------------------------------------------------------


def container(client: Any, name: str) -> Any | None:
    from docker.errors import NotFound

    try:
        return client.containers.get(name)
    except NotFound:
        return None


def volume_exists(client: Any, name: str) -> bool:
    from docker.errors import NotFound

    try:
        client.volumes.get(name)
    except NotFound:
        return False
    return True


def start_postgres(client: Any, plan: DevPlan, image: str, address: str, port: int, password: str) -> None:
    """Run (or keep running) the PostgreSQL container, listening on address:port only.

    It shares the host's network stack and listens on the gateway address alone: the service
    containers and the release step's container reach it there, the outside world does not. The
    password travels through the engine's API, never a command line."""
    pg = plan.postgres
    assert pg is not None
    existing = container(client, plan.postgres_container)
    if existing is not None and existing.status == "running":
        return
    if existing is not None:
        existing.remove(force=True)
    client.containers.run(
        image,
        ["postgres", "-c", f"listen_addresses={address}", "-c", f"port={port}"],
        name=plan.postgres_container, detach=True, network_mode="host",
        environment={"POSTGRES_USER": pg.user, "POSTGRES_PASSWORD": password, "POSTGRES_DB": pg.database},
        volumes={plan.postgres_volume: {"bind": "/var/lib/postgresql/data", "mode": "rw"}},
        labels={LABEL: plan.key}, restart_policy={"Name": "unless-stopped"},
    )


def wait_postgres(client: Any, plan: DevPlan, address: str, port: int, timeout: float = 60) -> None:
    """Until the server accepts TCP connections as the app will make them (pg_isready)."""
    deadline = time.monotonic() + timeout
    while True:
        found = container(client, plan.postgres_container)
        if found is None or found.status in ("exited", "dead"):
            break
        code, _ = found.exec_run(["pg_isready", "-q", "-h", address, "-p", str(port)])
        if code == 0:
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    logs = ""
    if found is not None:
        from opsctl.docker_engine import clean

        logs = "\n".join(clean(x) for x in found.logs(tail=10).decode("utf-8", "replace").splitlines())
    raise OpsctlError(f"PostgreSQL ({plan.postgres_container}) did not start on {address}:{port}\n{logs}".rstrip(),
                      hint=f"docker logs {plan.postgres_container}")


# --- the AWS endpoint ------------------------------------------------------------------------


def start_moto(directory: Path, address: str, port: int, region: str) -> int:
    """The lab's moto launcher, detached, bound to the gateway; its pid file makes `dev down` find it."""
    from opsctl.lab import aws
    from opsctl.lab.state import MOTO_LOG_FILE, MOTO_PID_FILE

    aws.require_moto()
    pid = aws.running_pid(directory)
    if pid is not None:
        return pid
    with (directory / MOTO_LOG_FILE).open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            [sys.executable, "-m", aws.LAUNCHER, "-H", address, "-p", str(port)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env={**os.environ, "AWS_DEFAULT_REGION": region},
        )
    (directory / MOTO_PID_FILE).write_text(f"{proc.pid}\n")
    return proc.pid


def create_aws_resources(plan: DevPlan, endpoint: str) -> None:
    """The queues (named as provision names them) and the SES identity the app expects."""
    import boto3

    from opsctl.dev.plan import DEV_AWS_KEY

    session = boto3.session.Session(aws_access_key_id=DEV_AWS_KEY, aws_secret_access_key=DEV_AWS_KEY,
                                    region_name=plan.region)
    sqs = session.client("sqs", endpoint_url=endpoint)
    for name in plan.queues:
        sqs.create_queue(QueueName=name)
    if plan.ses_domain:
        session.client("ses", endpoint_url=endpoint).verify_domain_identity(Domain=plan.ses_domain)
