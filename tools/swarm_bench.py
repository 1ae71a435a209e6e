"""Docker Swarm on the same lab, for the side-by-side in `make bench` (tools/bench.py --swarm).

The set-up GUIDE.md describes: a swarm across the lab's servers (`docker swarm init` on the first,
`join` on the others), a global service of the same image with one web task per server on a
host-mode port (the kernel here has no IPVS, so no routing mesh), stop-first updates, a health
check every second and a 2 s monitor window. Traffic goes to each server's lab-network address on
that port. Everything runs on the servers over the lab's SSH, as argument lists.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

from opsctl.lab.names import container_name
from tests.lab.helpers import Load, get, hosts, ssh

SERVICE = "bench-swarm"
PORT = 9000
# The same check opsctl makes (GET /ping), from inside the container, every second.
HEALTH = "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ping', timeout=2)\""


def _address(host: str) -> str:
    """The server's address on the lab network, as its container on this machine reports it."""
    out = subprocess.run(["docker", "inspect", container_name(host)],  # noqa: S603 - argv, no shell
                         capture_output=True, text=True, check=True).stdout
    networks = json.loads(out)[0]["NetworkSettings"]["Networks"]
    return str(next(n["IPAddress"] for n in networks.values() if n.get("IPAddress")))


class Swarm:
    def __init__(self, image: str) -> None:
        self.image = image
        self.hosts = sorted(hosts())
        self.addresses = {h: _address(h) for h in self.hosts}
        self.urls = [f"http://{a}:{PORT}/version" for a in self.addresses.values()]

    def __enter__(self) -> Swarm:
        self.leave()
        first = self.hosts[0]
        ssh(first, "docker", "swarm", "init", "--advertise-addr", self.addresses[first])
        token = ssh(first, "docker", "swarm", "join-token", "-q", "worker").strip()
        for host in self.hosts[1:]:
            ssh(host, "docker", "swarm", "join", "--token", token, f"{self.addresses[first]}:2377")
        return self

    def __exit__(self, *exc: object) -> None:
        ssh(self.hosts[0], "docker", "service", "rm", SERVICE, check=False)
        self.leave()

    def leave(self) -> None:
        for host in reversed(self.hosts):
            ssh(host, "docker", "swarm", "leave", "--force", check=False)

    def create(self, tag: str) -> None:
        ssh(self.hosts[0], "docker", "service", "create", "--quiet", "--name", SERVICE, "--mode", "global",
            "--with-registry-auth", "--publish", f"mode=host,target=8000,published={PORT}",
            "--env", "PORT=8000", "--env", f"OPSCTL_VERSION={tag}",
            "--health-cmd", HEALTH, "--health-interval", "1s", "--health-timeout", "2s",
            "--health-retries", "3", "--health-start-period", "1s",
            "--update-order", "stop-first", "--update-monitor", "2s", "--update-failure-action", "rollback",
            "--rollback-order", "stop-first", "--rollback-monitor", "2s",
            f"{self.image}:{tag}", "python3", "/app/hello.py", "web")
        self.wait_serving(tag)

    def wait_serving(self, tag: str, deadline: float = 120) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            answers = [_version(u) for u in self.urls]
            if all(a == tag for a in answers):
                return
            time.sleep(0.5)
        raise SystemExit(f"the swarm service does not serve {tag} on every server")

    def update(self, tag: str) -> Callable[[], None]:
        return lambda: self._service("update", "--quiet", "--image", f"{self.image}:{tag}",
                                     "--env-add", f"OPSCTL_VERSION={tag}")

    def rollback(self) -> Callable[[], None]:
        return lambda: self._service("rollback", "--quiet")

    def _service(self, *args: str) -> None:
        # Without --detach the command returns when the update (or rollback) has converged.
        ssh(self.hosts[0], "docker", "service", *args, "--detach=false", SERVICE)


def _version(url: str) -> str:
    try:
        return get(url, timeout=2)[1].strip()
    except OSError:
        return ""


def timed(action: Callable[[], None], urls: list[str], traffic: bool) -> tuple[float, int]:
    with Load(urls if traffic else []) as load:
        time.sleep(0.3)
        started = time.monotonic()
        action()
        took = time.monotonic() - started
        time.sleep(0.3)
    return took, load.failed


def measure(image: str, rounds: int, traffic: bool) -> tuple[list[tuple[float, int]], list[tuple[float, int]]]:
    """Update v1 -> v2 and roll back, `rounds` times; (updates, rollbacks) as (seconds, failed)."""
    updates: list[tuple[float, int]] = []
    rollbacks: list[tuple[float, int]] = []
    with Swarm(image) as swarm:
        swarm.create("v1")
        how = " (traffic)" if traffic else ""
        for _ in range(rounds):
            updates.append(timed(swarm.update("v2"), swarm.urls, traffic))
            print(f"swarm update{how}: {updates[-1][0]:.2f} s, {updates[-1][1]} failed requests", flush=True)
            swarm.wait_serving("v2")
            rollbacks.append(timed(swarm.rollback(), swarm.urls, traffic))
            print(f"swarm rollback{how}: {rollbacks[-1][0]:.2f} s, {rollbacks[-1][1]} failed requests", flush=True)
            swarm.wait_serving("v1")
    return updates, rollbacks
