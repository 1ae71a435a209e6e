"""The swap's reads over the engine's unix socket: requests, answers, and when it stays with the CLI.

A small HTTP server on a unix socket stands in for the transport only; the lab tests run every
swap against real Docker engines through this client.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.unit.module_utils import load_module_util

engine = load_module_util("opsctl_engine")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    answers: dict[str, tuple[int, bytes]]
    seen: list[str]
    bodies: list[Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET " if self.command != "GET" else "")

    def do_POST(self) -> None:
        self._answer("POST ")

    def do_DELETE(self) -> None:
        self._answer("DELETE ")

    def _answer(self, method: str) -> None:
        self.server.seen.append(method + self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.server.bodies.append(json.loads(self.rfile.read(length)))
        status, body = self.server.answers.get(method + self.path, (404, b'{"message": "no such object"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_engine(tmp_path: Path) -> Iterator[_Server]:
    path = str(tmp_path / "docker.sock")
    server = _Server(path, _Handler)
    server.answers, server.seen, server.bodies = {"/_ping": (200, b"OK")}, [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _open(server: _Server) -> Any:
    # DOCKER_CONFIG: the socket's directory, which holds no config.json (this machine's own is not read)
    path = str(server.server_address)
    found = engine.Engine.open({"DOCKER_HOST": "unix://" + path, "DOCKER_CONFIG": str(Path(path).parent)})
    assert found is not None
    return found


def test_reads_containers_in_the_shape_of_docker_ps(fake_engine: _Server) -> None:
    rows = [{"Id": "abc", "Names": ["/hello-web-1"], "State": "running", "Labels": {"opsctl.app": "hello", "k": "a,b=c"}},
            {"Id": "def", "Names": ["/old"], "State": "exited", "Labels": None}]
    fake_engine.answers["/containers/json?all=1"] = (200, json.dumps(rows).encode())
    listed = [engine.listed(c) for c in _open(fake_engine).containers()]
    # a label value with commas and '=' survives (the CLI's "k=v,k=v" text could not keep it)
    assert listed == [{"name": "hello-web-1", "running": True, "paused": False,
                       "labels": {"opsctl.app": "hello", "k": "a,b=c"}},
                      {"name": "old", "running": False, "paused": False, "labels": {}}]
    paused = [{"Id": "abc", "Names": ["/hello-web-1"], "State": "paused", "Labels": {}}]
    fake_engine.answers["/containers/json?all=1"] = (200, json.dumps(paused).encode())
    assert engine.listed(_open(fake_engine).containers()[0])["paused"] is True


def test_inspect_and_presence_quote_names_and_tell_missing_from_present(fake_engine: _Server) -> None:
    ref = "localhost:5050/hello@sha256:" + "a" * 64
    fake_engine.answers["/images/localhost:5050/hello%40sha256:" + "a" * 64 + "/json"] = (200, b'{"Id": "x"}')
    fake_engine.answers["/containers/web-1/json"] = (200, b'{"State": {"Running": true}}')
    found = _open(fake_engine)
    assert found.image_id(ref) == "x"
    assert found.image_id("localhost:5050/hello:v9") is None
    assert found.has_network("opsctl-hello-lab") is False
    assert found.inspect("web-1") == {"State": {"Running": True}}
    assert found.inspect("gone") is None
    # a name cannot smuggle a query or another path segment into the request
    found.inspect("x?all=1#y")
    assert fake_engine.seen[-1] == "/containers/x%3Fall%3D1%23y/json"


def test_an_error_answer_is_an_error_not_an_absence(fake_engine: _Server) -> None:
    fake_engine.answers["/containers/web-1/json"] = (500, b'{"message": "boom"}')
    with pytest.raises(engine.EngineError, match="500"):
        _open(fake_engine).inspect("web-1")


def test_stays_with_the_cli_when_the_engine_is_not_the_local_socket(tmp_path: Path) -> None:
    assert engine.Engine.open({"DOCKER_HOST": "tcp://10.0.0.1:2376"}) is None
    assert engine.Engine.open({"DOCKER_CONTEXT": "remote"}) is None
    assert engine.Engine.open({"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"}) is None


def test_stays_with_the_cli_when_its_config_names_another_context(fake_engine: _Server, tmp_path: Path) -> None:
    host = "unix://" + str(fake_engine.server_address)
    config = tmp_path / "docker-config"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"auths": {}, "currentContext": "default"}))
    assert engine.Engine.open({"DOCKER_HOST": host, "DOCKER_CONFIG": str(config)}) is not None
    (config / "config.json").write_text(json.dumps({"currentContext": "prod-remote"}))
    assert engine.Engine.open({"DOCKER_HOST": host, "DOCKER_CONFIG": str(config)}) is None
    (config / "config.json").write_text("{not json")
    assert engine.Engine.open({"DOCKER_HOST": host, "DOCKER_CONFIG": str(config)}) is None


def test_stop_and_remove_answer_like_the_cli(fake_engine: _Server) -> None:
    fake_engine.answers["POST /containers/web-1/stop?t=10"] = (204, b"")
    fake_engine.answers["POST /containers/done/stop?t=3"] = (304, b"")  # already stopped
    fake_engine.answers["DELETE /containers/web-1?force=1"] = (204, b"")
    fake_engine.answers["DELETE /containers/stuck?force=1"] = (409, b'{"message": "removal in progress"}')
    found = _open(fake_engine)
    assert found.stop("web-1", 10) is True
    assert found.stop("done", 3) is True
    assert found.stop("gone", 3) is False  # docker stop of a missing container fails
    assert found.remove("web-1") is True
    assert found.remove("gone") is True  # docker rm -f of a missing container succeeds
    assert found.remove("stuck") is False


def _recording(calls: list[list[str]], rc: int) -> Callable[[Sequence[str]], int]:
    def cli(args: Sequence[str]) -> int:
        calls.append(list(args))
        return rc
    return cli


def test_engine_docker_sends_stop_and_rm_to_the_engine_and_the_rest_to_the_cli(fake_engine: _Server) -> None:
    fake_engine.answers["POST /containers/web-1/stop?t=10"] = (204, b"")
    fake_engine.answers["DELETE /containers/web-1?force=1"] = (204, b"")
    cli: list[list[str]] = []
    run = engine.engine_docker(_open(fake_engine), _recording(cli, 7))
    assert run(["stop", "-t", "10", "web-1"]) == 0
    assert run(["rm", "-f", "web-1"]) == 0
    assert run(["stop", "-t", "10", "gone"]) == 1
    assert run(["logs", "--tail", "5", "web-1"]) == 7
    assert cli == [["logs", "--tail", "5", "web-1"]]
    # no engine: everything goes to the CLI
    assert engine.engine_docker(None, _recording(cli, 0))(["rm", "-f", "x"]) == 0
    assert cli[-1] == ["rm", "-f", "x"]


def test_engine_docker_sends_pause_rename_and_restart_policy_to_the_engine(fake_engine: _Server) -> None:
    fake_engine.answers["POST /containers/web-1/pause"] = (204, b"")
    fake_engine.answers["POST /containers/web-1/unpause"] = (409, b'{"message": "not paused"}')
    fake_engine.answers["POST /containers/web-1/rename?name=web-2"] = (204, b"")
    fake_engine.answers["POST /containers/web-2/update"] = (200, b'{"Warnings": []}')
    cli: list[list[str]] = []
    run = engine.engine_docker(_open(fake_engine), _recording(cli, 7))
    assert run(["pause", "web-1"]) == 0
    assert run(["unpause", "web-1"]) == 1
    assert run(["rename", "web-1", "web-2"]) == 0
    assert run(["update", "--restart", "no", "web-2"]) == 0
    assert fake_engine.bodies == [{"RestartPolicy": {"Name": "no"}}]
    assert run(["rename", "gone", "x"]) == 1
    assert cli == []
    # a new name cannot add a query parameter of its own
    run(["rename", "web-1", "a&force=1"])
    assert fake_engine.seen[-1] == "POST /containers/web-1/rename?name=a%26force%3D1"


def test_engine_docker_falls_back_to_the_cli_when_the_engine_stops_answering(tmp_path: Path) -> None:
    silent = engine.Engine(str(tmp_path / "no.sock"))
    cli: list[list[str]] = []
    assert engine.engine_docker(silent, _recording(cli, 0))(["rm", "-f", "x"]) == 0
    assert cli == [["rm", "-f", "x"]]
