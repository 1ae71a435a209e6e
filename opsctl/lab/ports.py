"""The lab's fixed ports: which ones a lab of N servers needs, whether they are free, and who holds
a taken one (a Docker container or a local process, when that can be found out)."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from opsctl.errors import OpsctlError
from opsctl.lab import names


@dataclass(frozen=True)
class PortUse:
    port: int
    purpose: str


def port_plan(hosts: int) -> list[PortUse]:
    """Every port a lab of `hosts` servers publishes on 127.0.0.1, with what it is for."""
    uses: list[PortUse] = []
    for index in range(1, hosts + 1):
        name = names.host_name(index)
        uses.append(PortUse(names.ssh_port(index), f"{name} SSH"))
        uses.append(PortUse(names.http_port(index), f"{name} HTTP ingress"))
    uses.append(PortUse(names.REGISTRY_PORT, "registry"))
    uses.append(PortUse(names.MOTO_PORT, "AWS endpoint (moto)"))
    return uses


def is_free(port: int, address: str = names.BIND_ADDRESS) -> bool:
    """True when nothing listens on address:port (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def listening_inodes(proc_net_tcp: str, port: int) -> set[str]:
    """Socket inodes of LISTEN entries on `port` in the text of /proc/net/tcp or tcp6."""
    inodes: set[str] = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        local, state, inode = fields[1], fields[3], fields[9]
        if state != "0A":  # TCP_LISTEN
            continue
        if int(local.rsplit(":", 1)[1], 16) == port:
            inodes.add(inode)
    return inodes


def _process_holding(port: int) -> str | None:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            inodes |= listening_inodes(Path(table).read_text(), port)
        except OSError:
            continue
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            for fd in fds:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
                    cmdline = raw.replace(b"\0", b" ").decode(errors="replace").strip()
                    return f"process {pid} ({cmdline[:120]})"
        except OSError:
            continue
    return None


def holder_description(port: int, docker_holders: Mapping[int, str]) -> str | None:
    """What holds `port`: a Docker container (from `docker_holders`, port -> container name) or a
    local process; None when it cannot be found out (e.g. another user's process)."""
    if port in docker_holders:
        return f"Docker container '{docker_holders[port]}'"
    return _process_holding(port)


def check_free(
    needed: Iterable[PortUse],
    *,
    ours: Iterable[int] = (),
    docker_holders: Mapping[int, str] | None = None,
) -> None:
    """Raise a clear error naming every taken port that the lab needs and does not hold itself."""
    own = set(ours)
    taken: list[str] = []
    hints: list[str] = []
    for use in needed:
        if use.port in own or is_free(use.port):
            continue
        holder = holder_description(use.port, docker_holders or {})
        taken.append(
            f"{names.BIND_ADDRESS}:{use.port} ({use.purpose}) is taken" + (f" by {holder}" if holder else "")
        )
        if holder and holder.startswith("Docker container"):
            hints.append(f"docker rm -f {(docker_holders or {})[use.port]}")
    if taken:
        hint = "free the port(s) and run `opsctl lab up` again"
        if hints:
            hint += ": " + "; ".join(sorted(set(hints)))
        raise OpsctlError("the lab cannot publish its fixed ports: " + "; ".join(taken), hint=hint)
