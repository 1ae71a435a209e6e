"""`opsctl dashboard`: a local, read-only web page of one environment, refreshed live.

One worker thread reads the fleet (status every round, logs every few rounds; one Ansible run at a
time, since a run changes the process environment while it lasts). The HTTP server only hands out
what the worker last read, merged with the deploy events the CLI publishes (events.py). It binds to
127.0.0.1 and answers only under a random token, with a strict Content-Security-Policy.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from opsctl.observe import events, lights, topology

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet
    from opsctl.observe.aws_lights import AwsLight
    from opsctl.observe.logs import LogLine
    from opsctl.observe.status_view import Snapshot

LOG_LINES = 300
RELEASES = 20
EVENT_HOLD = 120.0  # a swap that never reports its end stops showing after this long


class Board:
    """What the page shows, updated by the worker and by the deploy event file."""

    def __init__(self, fleet: Fleet, model: topology.Model) -> None:
        self.fleet = fleet
        self.model = model
        self.lock = threading.Lock()
        self.snapshot: Snapshot | None = None
        self.logs: list[LogLine] = []
        self.error: str | None = None
        self.swaps: dict[str, dict[str, Any]] = {}  # host -> newest swap event
        self.tail = events.Tail(events.event_file(fleet.config.app, fleet.env_name))
        self.stop = threading.Event()
        self.port = 0
        self.aws: dict[str, AwsLight] = {}  # AWS node id -> light, from aws_status

    # --- the worker ----------------------------------------------------------------------------

    def work(self, interval: float, log_every: int) -> None:
        from opsctl.errors import OpsctlError
        from opsctl.observe import status_view

        specs = status_view.service_specs(self.fleet.config, self.fleet.env_name)
        rounds = 0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                snapshot = status_view.take(self.fleet, specs)
                with self.lock:
                    self.snapshot, self.error = snapshot, None
                if rounds % log_every == 0:
                    self._read_logs()
            except OpsctlError as exc:
                with self.lock:
                    self.error = exc.message
            rounds += 1
            self.stop.wait(max(0.2, interval - (time.monotonic() - started)))

    def work_aws(self, interval: float) -> None:
        """The AWS elements' lights, in a thread of their own: a slow or absent AWS endpoint (boto3
        retries) must not hold up the hosts' lights."""
        from opsctl.observe import aws_status

        while not self.stop.is_set():
            started = time.monotonic()
            found = aws_status.read(self.fleet.config, self.fleet.env_name, self.model)
            with self.lock:
                self.aws = found
            self.stop.wait(max(1.0, interval - (time.monotonic() - started)))

    def _read_logs(self) -> None:
        from opsctl.observe.history import read_history
        from opsctl.observe.logs import merge

        history, _ = read_history(self.fleet, self.fleet.hosts, "", 40, None, None, warn=False)
        with self.lock:
            self.logs = merge(history)[-LOG_LINES:]

    # --- what the page gets --------------------------------------------------------------------

    def _events(self, now: float) -> None:
        for item in self.tail.read():
            host = str(item.get("host", ""))
            if host:
                self.swaps[host] = item
        for host, item in list(self.swaps.items()):
            if now - float(item.get("time", 0)) > EVENT_HOLD:
                del self.swaps[host]

    def _overlay(self, snapshot_time: float) -> tuple[dict[str, str], dict[str, str], str | None]:
        """Lights and notes from deploy events newer than the last status read."""
        found: dict[str, str] = {}
        notes: dict[str, str] = {}
        active = [s for s in self.swaps.values() if s.get("phase") == "start"]
        for host, item in self.swaps.items():
            if item.get("phase") != "start" and float(item.get("time", 0)) < snapshot_time:
                continue  # status has read the host since: it knows better
            # A skipped step (no load balancer to leave) ends the host's swap like a finished one.
            phase = str(item.get("phase"))
            light = {"start": lights.STARTING, "ok": lights.HEALTHY, "skipped": lights.HEALTHY}.get(phase, lights.UNHEALTHY)
            what = f"{item.get('task')}: {item.get('phase')} (release #{item.get('release')} {item.get('version')})"
            for key in (f"cluster_host:{host}", f"host:{host}"):
                found[topology.dom_id(key)] = light
                notes[topology.dom_id(key)] = f"{host}: {what}"
        banner = None
        if active:
            first = active[0]
            where = ", ".join(f"{h} {s.get('task', '').lower()}" for h, s in sorted(self.swaps.items())
                              if s.get("phase") == "start")
            banner = f"◐ rollout of release #{first.get('release')} ({first.get('version')}) in progress: {where}"
        return found, notes, banner

    def state(self) -> dict[str, Any]:
        with self.lock:
            now = time.time()
            self._events(now)
            snap = self.snapshot
            result: dict[str, Any] = {
                "env": self.fleet.env_name, "error": self.error, "taken_at": None, "summary": "reading the fleet...",
                "overall": lights.UNKNOWN, "lights": {}, "notes": {}, "containers": [], "releases": [],
                "logs": [line.to_json() for line in self.logs], "deploy": None,
            }
            if snap is not None:
                result["taken_at"] = snap.taken_at.isoformat()
                result["summary"] = snap.summary.text
                result["overall"] = lights.HEALTHY if snap.summary.ok else lights.UNHEALTHY
                node_lights = topology.node_lights(self.model, snap.hosts, snap.unreachable)
                result["lights"] = {topology.dom_id(k): v for k, v in node_lights.items()}
                result["containers"] = _containers(snap)
                result["releases"] = [_release(r) for r in reversed(snap.releases[-RELEASES:])]
            for node_id, aws_light in self.aws.items():
                result["lights"][topology.dom_id(node_id)] = aws_light.light
            found, notes, banner = self._overlay(snap.taken_at.timestamp() if snap else 0.0)
            result["lights"].update(found)
            result["notes"] = {topology.dom_id(k): f"{k.removeprefix('aws:')}: {v.light}, {v.detail}"
                               for k, v in self.aws.items()} | notes
            result["deploy"] = banner
            return result


def _containers(snap: Snapshot) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for host, containers in snap.hosts.items():
        if host in snap.unreachable:
            rows.append({"host": host, "light": lights.UNREACHABLE, "service": "-", "name": "(did not answer)"})
        for c in containers:
            rows.append({"host": host, "light": c.get("light"), "service": c.get("service"), "name": c.get("name"),
                         "version": c.get("version"), "release": c.get("release"), "note": c.get("state")})
    return rows


def _release(r: Any) -> dict[str, Any]:
    return {"number": r.number, "title": r.title, "version": r.version, "who": r.who, "when": r.when,
            "status": r.status, "duration": r.duration}


def make_handler(board: Board, token: str, page_html: str, nonce: str) -> type[BaseHTTPRequestHandler]:
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
           "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'")

    class Handler(BaseHTTPRequestHandler):
        server_version = "opsctl-dashboard"

        def log_message(self, format: str, *args: Any) -> None:
            return  # requests are not worth a line on the operator's terminal

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Content-Security-Policy", csp)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            port = board.port
            # Another site's page resolving its own name to 127.0.0.1 would send its own Host.
            if self.headers.get("Host") not in {f"127.0.0.1:{port}", f"localhost:{port}"}:
                return self._send(403, b"forbidden\n", "text/plain")
            head, _, rest = self.path.lstrip("/").partition("/")
            if not hmac.compare_digest(head.encode(), token.encode()):
                return self._send(404, b"not found\n", "text/plain")
            route = rest.split("?", 1)[0]
            if route == "":
                return self._send(200, page_html.encode(), "text/html; charset=utf-8")
            if route == "state":
                return self._send(200, json.dumps(board.state(), default=str).encode(), "application/json")
            return self._send(404, b"not found\n", "text/plain")

    return Handler


def serve(board: Board, page_builder: Any, port: int, interval: float) -> tuple[ThreadingHTTPServer, str]:
    """Start the worker and the server (both in threads); return the server and the page's URL."""
    token = secrets.token_urlsafe(18)
    nonce = secrets.token_urlsafe(12)
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(board, token, page_builder(nonce), nonce))
    server.daemon_threads = True
    board.port = int(server.server_address[1])
    threading.Thread(target=board.work, args=(interval, 3), daemon=True, name="fleet-reader").start()
    if any(n.id.startswith("aws:") for n in board.model.nodes):
        threading.Thread(target=board.work_aws, args=(max(5.0, interval),), daemon=True, name="aws-reader").start()
    threading.Thread(target=server.serve_forever, daemon=True, name="http").start()
    return server, f"http://127.0.0.1:{board.port}/{token}/"
