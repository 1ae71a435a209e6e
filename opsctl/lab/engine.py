"""The connection to this machine's Docker engine, with errors that say how to fix them."""

from __future__ import annotations

from typing import Any

SETUP_HINT = (
    "start the engine as root: `dockerd >/var/log/dockerd.log 2>&1 &` "
    "(or run tools/setup-machine.sh, which installs docker.io, debootstrap and docker-registry "
    "and starts dockerd)"
)


def connect() -> Any:
    """A docker SDK client for the local engine; OpsctlError when there is none."""
    from opsctl.docker_engine import connect_client

    return connect_client(hint=SETUP_HINT)


def lab_containers(client: Any) -> list[Any]:
    """Every container (any state) carrying the lab label."""
    from opsctl.lab import names

    return list(client.containers.list(all=True, filters={"label": f"{names.LABEL}=1"}))


def published_ports(client: Any) -> dict[int, str]:
    """Host port -> container name for every running container's published ports."""
    held: dict[int, str] = {}
    for container in client.containers.list():
        ports = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
        for bindings in ports.values():
            for binding in bindings or []:
                port = str(binding.get("HostPort", ""))
                if port.isdigit():
                    held[int(port)] = container.name
    return held
