"""`opsctl watch`: probe every host's ingress each interval, read container health in the background,
and send an alert through `notify:` when something goes down or recovers (damped; see health.py).

The ingress probe is plain HTTP with a short timeout, so a frozen host is noticed in seconds; the
container read is an Ansible run, which a frozen host holds up to its SSH timeout: it runs in its own
thread, and its readings count only when a new read has finished.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.observe import health
from opsctl.observe.health import Observation

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet
    from opsctl.observe.lights import ServiceSpec

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Probe:
    key: str
    url: str  # http://... for an ingress check, ssh://host:port for a host's sshd
    # The Host header of an ingress check: a service routed by host name (docs/ingress.md).
    host_header: str | None = None


def host_probes(fleet: Fleet) -> list[Probe]:
    """One check per host that its sshd answers: a frozen or dead host fails it within seconds.

    (On the lab a paused server's ingress kept answering, and Ansible waits for its SSH timeout;
    the SSH banner is the quick sign of life.)
    """
    probes = []
    for host, host_vars in fleet.inventory.hosts.items():
        address = str(host_vars.get("ansible_host") or host)
        probes.append(Probe(f"host {host}", f"ssh://{address}:{int(host_vars.get('ansible_port') or 22)}"))
    return probes


def ingress_probes(fleet: Fleet) -> list[Probe]:
    """One HTTP check per host and HTTP service, at the host's address and the service's ingress port.

    A host var `opsctl_http_port` says where port 80 of that host is reached from here (the lab
    publishes each server's port 80 on its own local port).
    """
    http = {name: s for name, s in fleet.config.services.items() if s.is_http}
    probes: list[Probe] = []
    for host, host_vars in fleet.inventory.hosts.items():
        address = str(host_vars.get("ansible_host") or host)
        for name, service in http.items():
            port = service.ingress_port
            if port == 80 and host_vars.get("opsctl_http_port"):
                port = int(host_vars["opsctl_http_port"])
            key = f"ingress {host}" if len(http) == 1 else f"ingress {host} ({name})"
            # Through the shared ingress: the service's first host name and path prefix. With TLS,
            # plain HTTP answers with the redirect to HTTPS, which counts as up (see probe).
            prefix = "" if service.path == "/" else service.path
            url = f"http://{address}:{port}{prefix}{service.healthcheck.path}"
            probes.append(Probe(key, url, service.hosts[0] if service.hosts else None))
    return probes


def probe(p: Probe) -> Observation:
    if p.url.startswith("ssh://"):
        return _ssh_banner(p.url.removeprefix("ssh://"))
    try:
        # An http:// URL built from the inventory and config; nothing from outside chooses it.
        request = urllib.request.Request(p.url, headers={"Host": p.host_header} if p.host_header else {})
        with _NO_REDIRECTS.open(request, timeout=PROBE_TIMEOUT) as response:
            return Observation(health.OK, f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if exc.code in (301, 308) and str(exc.headers.get("Location", "")).startswith("https://"):
            return Observation(health.OK, f"HTTP {exc.code} to HTTPS")
        return Observation(health.DOWN, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Observation(health.DOWN, "timed out" if "timed out" in str(reason) else str(reason))


class _Keep(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urlopen does, except the ingress's redirect to HTTPS: that one is the
    answer (an HTTPError the probe counts as up)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        if newurl.startswith("https://"):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_NO_REDIRECTS = urllib.request.build_opener(_Keep)


def _ssh_banner(where: str) -> Observation:
    address, _, port = where.rpartition(":")
    try:
        with socket.create_connection((address, int(port)), timeout=PROBE_TIMEOUT) as conn:
            conn.settimeout(PROBE_TIMEOUT)
            banner = conn.recv(256)
    except TimeoutError:
        return Observation(health.DOWN, "ssh: no answer within 2 s")
    except OSError as exc:
        return Observation(health.DOWN, f"ssh: {exc.strerror or exc}")
    if banner.startswith(b"SSH-"):
        return Observation(health.OK, "ssh answers")
    return Observation(health.DOWN, "ssh: no SSH banner")


class Watcher:
    def __init__(self, fleet: Fleet, specs: list[ServiceSpec], interval: float, confirm: int,
                 alert: Callable[[dict[str, Any]], None], say: Callable[[str], None]) -> None:
        self.fleet = fleet
        self.specs = specs
        self.interval = interval
        self.alert = alert
        self.say = say
        self.damper = health.Damper(confirm=confirm)
        self.probes = host_probes(fleet) + ingress_probes(fleet)
        self.stop = threading.Event()
        self._fresh: dict[str, Observation] | None = None
        self._baseline = False
        self._lock = threading.Lock()

    def _read_containers(self) -> None:
        from opsctl.errors import OpsctlError
        from opsctl.observe import status_view

        while not self.stop.is_set():
            started = time.monotonic()
            try:
                snap = status_view.take(self.fleet, self.specs)
                readings = health.service_observations(self.specs, snap.hosts, snap.unreachable)
                with self._lock:
                    self._fresh = readings
            except OpsctlError:
                pass  # no host answered: the ingress checks already say so
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def round(self, pool: ThreadPoolExecutor) -> None:
        readings = dict(zip([p.key for p in self.probes], pool.map(probe, self.probes), strict=True))
        with self._lock:
            fresh, self._fresh = self._fresh, None
        readings.update(fresh or {})
        changes = self.damper.feed(readings, time.monotonic())
        if fresh is not None and not self._baseline:
            # The first container read completes the baseline: say what is already wrong, once.
            self._baseline = True
            wrong = self.damper.wrong()
            self.say(f"baseline: {len(readings)} checks; " + ("all pass" if not wrong else "wrong: " + "; ".join(wrong)))
        if not changes:
            return
        payload = health.message(self.fleet.config.app, self.fleet.env_name, changes, self.damper.wrong())
        self.say(payload["title"] + f" | {payload['summary']}")
        self.alert(payload)

    def run(self) -> None:
        reader = threading.Thread(target=self._read_containers, daemon=True, name="container-health")
        reader.start()
        with ThreadPoolExecutor(max_workers=max(1, len(self.probes))) as pool:
            try:
                while not self.stop.is_set():
                    started = time.monotonic()
                    self.round(pool)
                    self.stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
            finally:
                self.stop.set()
                reader.join(timeout=15)  # let a read in flight end, so no Ansible run outlives us
