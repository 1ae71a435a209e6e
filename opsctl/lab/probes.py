"""Readiness checks: a server answers SSH and its own Docker engine works; the registry and moto
answer HTTP."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from opsctl.errors import OpsctlError
from opsctl.lab import names

POLL = 0.25


def ssh_argv(key: Path, port: int, *command: str, connect_timeout: int = 3) -> list[str]:
    """ssh into a lab server as root with the lab key (argument list, no shell on this side)."""
    ssh = shutil.which("ssh")
    if ssh is None:
        raise OpsctlError("ssh is not installed", hint="apt-get install openssh-client")
    return [
        ssh,
        "-i",
        str(key),
        "-p",
        str(port),
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        f"ConnectTimeout={connect_timeout}",
        f"root@{names.BIND_ADDRESS}",
        *command,
    ]


def engine_id(key: Path, port: int, timeout: float = 10.0) -> str | None:
    """The server's inner Docker engine ID over SSH, or None if SSH or the engine does not answer."""
    try:
        result = subprocess.run(  # noqa: S603 - argument list, no shell
            ssh_argv(key, port, "docker", "info", "--format", "{{.ID}}"),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    value = result.stdout.strip()
    return value if result.returncode == 0 and value else None


def wait_server(name: str, key: Path, port: int, timeout: float = 90.0) -> str:
    """Wait until server `name` answers SSH and runs its own engine; return the engine ID."""
    deadline = time.monotonic() + timeout
    while True:
        found = engine_id(key, port)
        if found:
            return found
        if time.monotonic() > deadline:
            raise OpsctlError(
                f"server {name} did not answer SSH + `docker info` on port {port} within {timeout:.0f}s",
                hint=f"look at `docker logs {names.container_name(name)}` and "
                f"`docker exec {names.container_name(name)} cat /var/log/dockerd.log`",
            )
        time.sleep(POLL)


def http_status(url: str, auth: tuple[str, str] | None = None, method: str = "GET") -> int | None:
    """The HTTP status of `url`, or None when nothing answers."""
    request = urllib.request.Request(url, method=method)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def wait_http(
    what: str, url: str, ok: set[int], *, auth: tuple[str, str] | None = None, timeout: float = 60
) -> int:
    deadline = time.monotonic() + timeout
    last: int | None = None
    while True:
        last = http_status(url, auth)
        if last in ok:
            return last
        if time.monotonic() > deadline:
            raise OpsctlError(
                f"{what} did not answer at {url} within {timeout:.0f}s (last status: {last})",
                hint="see `opsctl lab status`; the lab dir's moto.log, or "
                f"`docker logs {names.REGISTRY_CONTAINER}`",
            )
        time.sleep(POLL)


def registry_digest(ref: str, auth: tuple[str, str]) -> str | None:
    """The manifest digest the lab registry holds for `ref` (localhost:5050/NAME:TAG), or None."""
    path = ref.removeprefix(names.REGISTRY + "/")
    repository, tag = path.rsplit(":", 1)
    url = f"http://{names.BIND_ADDRESS}:{names.REGISTRY_PORT}/v2/{repository}/manifests/{tag}"
    request = urllib.request.Request(url, method="HEAD")
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header(
        "Accept",
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            digest = response.headers.get("Docker-Content-Digest")
            return str(digest) if digest else None
    except (urllib.error.URLError, OSError):
        return None
