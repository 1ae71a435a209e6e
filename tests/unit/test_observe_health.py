"""The health watch's decisions: observations from status, damping, flapping, the alert message."""

from __future__ import annotations

from typing import Any

from opsctl.observe import health
from opsctl.observe.health import DOWN, OK, Damper, Observation
from opsctl.observe.lights import ServiceSpec

HOSTS = ["lab1", "lab2"]
SPECS = [ServiceSpec("web", True, False, 2, HOSTS), ServiceSpec("clock", False, True, 1, HOSTS)]


def c(service: str, light: str = "healthy", name: str = "x") -> dict[str, Any]:
    return {"service": service, "role": "app", "light": light, "name": name}


def test_service_observations_per_host_and_singleton_fleet_wide() -> None:
    hosts = {"lab1": [c("web"), c("web", "stopped", "hello-web-2"), c("clock", "running")],
             "lab2": [c("web"), c("web")]}
    found = health.service_observations(SPECS, hosts, [])
    assert found["web on lab1"] == Observation(DOWN, "1/2 healthy (hello-web-2 stopped)")
    assert found["web on lab2"] == Observation(OK, "2/2 healthy")
    assert found["clock"] == Observation(OK, "running on lab1")
    # An unreachable host gets no per-service verdicts (its ingress check speaks for it).
    found = health.service_observations(SPECS, {"lab1": [], "lab2": [c("web"), c("web")]}, ["lab1"])
    assert "web on lab1" not in found and "clock" not in found


def feed(damper: Damper, state: str, t: float, key: str = "ingress lab1") -> list[str]:
    return [f"{x.key} {x.state}" for x in damper.feed({key: Observation(state, "d")}, t)]


def test_first_reading_is_the_baseline_and_changes_need_confirmation() -> None:
    damper = Damper(confirm=2)
    assert feed(damper, DOWN, 0) == []  # broken at start: in the summary, not an alert
    assert damper.wrong() == ["ingress lab1: d"]
    assert feed(damper, OK, 1) == []
    assert feed(damper, OK, 2) == ["ingress lab1 ok"]
    assert feed(damper, DOWN, 3) == []
    assert feed(damper, OK, 4) == []  # a single bad reading is forgotten
    assert feed(damper, DOWN, 5) == []
    assert feed(damper, DOWN, 6) == ["ingress lab1 down"]


def test_a_flapping_key_alerts_once_then_waits_for_calm() -> None:
    damper = Damper(confirm=1, flap_changes=3, flap_window=100)
    feed(damper, OK, 0)
    assert feed(damper, DOWN, 1) == ["ingress lab1 down"]
    assert feed(damper, OK, 2) == ["ingress lab1 ok"]
    assert feed(damper, DOWN, 3) == ["ingress lab1 flapping"]
    assert feed(damper, OK, 4) == [] and feed(damper, DOWN, 5) == [] and feed(damper, OK, 6) == []
    assert feed(damper, OK, 50) == []
    assert feed(damper, OK, 107) == ["ingress lab1 ok"]  # held one state for the window: calm again


def test_message_has_changes_and_what_is_still_wrong() -> None:
    changes = [health.Change("ingress lab2", DOWN, "timed out")]
    msg = health.message("hello", "lab", changes, ["ingress lab2: timed out", "web on lab1: 1/2 healthy"])
    assert msg["title"] == "hello/lab: DOWN: ingress lab2 (timed out)"
    assert msg["summary"] == "still wrong: ingress lab2: timed out; web on lab1: 1/2 healthy"
    assert msg["ok"] is False and msg["changes"][0]["state"] == DOWN
    ok = health.message("hello", "lab", [health.Change("ingress lab2", OK, "HTTP 200")], [])
    assert ok["title"] == "hello/lab: recovered: ingress lab2 (HTTP 200)" and ok["summary"] == "all checks pass"


def test_probes_see_a_live_sshd_a_silent_one_and_http_answers() -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from opsctl.observe.watch import Probe, probe

    banner = socket.create_server(("127.0.0.1", 0))
    silent = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        conn, _ = banner.accept()
        conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        conn.close()

    threading.Thread(target=greet, daemon=True).start()
    assert probe(Probe("host a", f"ssh://127.0.0.1:{banner.getsockname()[1]}")) == Observation(OK, "ssh answers")
    assert probe(Probe("host b", f"ssh://127.0.0.1:{silent.getsockname()[1]}")).detail == "ssh: no answer within 2 s"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Host") == "tls.example.com":  # the ingress's redirect to HTTPS
                self.send_response(301)
                self.send_header("Location", "https://tls.example.com" + self.path)
            elif self.headers.get("Host") == "shop.example.com":
                self.send_response(200 if self.path == "/shop/ping" else 404)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/ping")
            else:
                self.send_response(200 if self.path == "/ping" else 502)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    assert probe(Probe("ingress", f"http://127.0.0.1:{port}/ping")) == Observation(OK, "HTTP 200")
    assert probe(Probe("ingress", f"http://127.0.0.1:{port}/x")) == Observation(DOWN, "HTTP 502")
    assert probe(Probe("ingress", f"http://127.0.0.1:{port}/moved")) == Observation(OK, "HTTP 200")  # followed
    # Services routed by host name on the shared ingress (docs/ingress.md).
    assert probe(Probe("i", f"http://127.0.0.1:{port}/shop/ping", "shop.example.com")) == Observation(OK, "HTTP 200")
    assert probe(Probe("i", f"http://127.0.0.1:{port}/ping", "shop.example.com")) == Observation(DOWN, "HTTP 404")
    assert probe(Probe("i", f"http://127.0.0.1:{port}/ping", "tls.example.com")) == Observation(
        OK, "HTTP 301 to HTTPS")
    server.shutdown()
    for s in (banner, silent):
        s.close()
