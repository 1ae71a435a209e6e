"""Questions to the host's Docker Engine, and container stops and removals, over its unix socket.

Every `docker` CLI call starts a Go client (~0.04 s idle, several times that on a loaded host, and
~0.05 s of CPU each time); the same request over the engine's socket costs about a millisecond. A
swap makes many (its facts, every health poll, then stopping and removing the old containers), so
those come here, while starting containers and exec stay with the CLI, whose flags are the
documented contract (`docker run`'s env-file and option parsing is not ours to re-implement).

When the engine is not the local socket (DOCKER_HOST or DOCKER_CONTEXT point elsewhere, the socket
is missing or refuses us), `Engine.open` returns None and callers read through the CLI instead.
The answers are the engine's own JSON: `docker inspect` prints exactly the object that
GET /containers/{name}/json returns.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

SOCKET = "/var/run/docker.sock"


class EngineError(Exception):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Engine:
    """One engine; each request opens its own connection, so threads can share an Engine."""

    def __init__(self, path: str = SOCKET, timeout: float = 30.0):
        self.path, self.timeout = path, timeout

    @classmethod
    def open(cls, environ: Mapping[str, str] | None = None) -> Engine | None:
        """The local engine, if the CLI would talk to it too and it answers; else None."""
        env = os.environ if environ is None else environ
        host = env.get("DOCKER_HOST", "")
        if env.get("DOCKER_CONTEXT") or (host and not host.startswith("unix://")) or _cli_context(env):
            return None
        engine = cls(host[len("unix://"):] if host else SOCKET)
        try:
            status, _ = engine.request("/_ping")
        except EngineError:
            return None
        return engine if status == 200 else None

    def request(self, path: str, method: str = "GET", timeout: float | None = None,
                payload: dict[str, Any] | None = None) -> tuple[int, Any]:
        """`method` `path` (with `payload` as JSON): the status and the decoded JSON answer (None when
        there is none)."""
        conn = _UnixConnection(self.path, self.timeout if timeout is None else timeout)
        try:
            if payload is None:
                conn.request(method, path)
            else:
                conn.request(method, path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise EngineError(f"the Docker engine at {self.path} did not answer: {exc}") from None
        finally:
            conn.close()
        try:
            return response.status, json.loads(body) if body else None
        except ValueError:
            return response.status, None

    def _found(self, path: str) -> Any:
        status, body = self.request(path)
        if status == 404:
            return None
        if status != 200 or body is None:
            raise EngineError(f"the Docker engine answered {status} to GET {path}")
        return body

    def containers(self) -> list[dict[str, Any]]:
        """Every container, running or not (`docker ps -a`), as the engine lists them."""
        found = self._found("/containers/json?all=1")
        if not isinstance(found, list):
            raise EngineError("the Docker engine's container list is not a list")
        return [c for c in found if isinstance(c, dict)]

    def inspect(self, name: str) -> dict[str, Any] | None:
        found = self._found(f"/containers/{quote(name)}/json")
        return found if isinstance(found, dict) else None

    def image_id(self, ref: str) -> str | None:
        found = self._found(f"/images/{quote(ref)}/json")
        return str(found["Id"]) if isinstance(found, dict) and found.get("Id") else None

    def has_network(self, name: str) -> bool:
        return self._found(f"/networks/{quote(name)}") is not None

    def stop(self, name: str, timeout: int) -> bool:
        """`docker stop -t TIMEOUT NAME`: SIGTERM, SIGKILL after `timeout` seconds; True once it is
        stopped (or was), False when there is no such container or the engine refused."""
        # The engine answers when the container has stopped: up to `timeout` plus the kill.
        status, _ = self.request(f"/containers/{quote(name)}/stop?t={int(timeout)}", "POST",
                                 timeout=self.timeout + int(timeout))
        return status in (204, 304)

    def pause(self, name: str, paused: bool) -> bool:
        """`docker pause NAME` / `docker unpause NAME`: True when it was done."""
        status, _ = self.request(f"/containers/{quote(name)}/{'pause' if paused else 'unpause'}", "POST")
        return status == 204

    def rename(self, name: str, new: str) -> bool:
        status, _ = self.request(f"/containers/{quote(name)}/rename?name={quote(new)}", "POST")
        return status == 204

    def restart_policy(self, name: str, policy: str) -> bool:
        """`docker update --restart POLICY NAME`."""
        status, _ = self.request(f"/containers/{quote(name)}/update", "POST", payload={"RestartPolicy": {"Name": policy}})
        return status == 200

    def remove(self, name: str) -> bool:
        """`docker rm -f NAME`: kill if running, remove; True when it is gone (or never was)."""
        status, _ = self.request(f"/containers/{quote(name)}?force=1", "DELETE")
        return status in (204, 404)


def _cli_context(env: Mapping[str, str]) -> bool:
    """The CLI's config names a context other than the default one (`docker context use`), so the
    CLI may talk to another engine; an unreadable config counts as one."""
    directory = env.get("DOCKER_CONFIG") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(directory, "config.json")) as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
    current = config.get("currentContext") if isinstance(config, dict) else None
    return current not in (None, "", "default")


def quote(name: str) -> str:
    # An image reference keeps its slashes and port colon, as the docker SDK sends it; anything
    # else (a digest's @, a stray ? or #) is escaped so it cannot change the request.
    return urllib.parse.quote(name, safe="/:")


def listed(entry: dict[str, Any]) -> dict[str, Any]:
    """One container of GET /containers/json in the shape `docker ps --format json` gives it."""
    names = entry.get("Names") or []
    labels = entry.get("Labels") or {}
    return {
        "name": str(names[0]).lstrip("/") if names else str(entry.get("Id", "")),
        "running": entry.get("State") == "running",
        "paused": entry.get("State") == "paused",
        "labels": {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
    }


def engine_docker(engine: Engine | None, cli: Callable[[Sequence[str]], int]) -> Callable[[Sequence[str]], int]:
    """A `docker ARGS...` runner (exit code out) that sends `stop -t N NAME`, `rm -f NAME`,
    `pause NAME`, `unpause NAME`, `rename NAME NEW` and `update --restart POLICY NAME` to the engine
    when there is one, and everything else, or anything the engine did not answer, to `cli`."""
    def by_engine(args: list[str]) -> bool | None:
        assert engine is not None
        if len(args) == 4 and args[:2] == ["stop", "-t"] and args[2].isdigit():
            return engine.stop(args[3], int(args[2]))
        if len(args) == 3 and args[:2] == ["rm", "-f"]:
            return engine.remove(args[2])
        if len(args) == 2 and args[0] in ("pause", "unpause"):
            return engine.pause(args[1], args[0] == "pause")
        if len(args) == 3 and args[0] == "rename":
            return engine.rename(args[1], args[2])
        if len(args) == 4 and args[:2] == ["update", "--restart"]:
            return engine.restart_policy(args[3], args[2])
        return None

    def run(args: Sequence[str]) -> int:
        if engine is not None:
            with contextlib.suppress(EngineError):
                done = by_engine(list(args))
                if done is not None:
                    return 0 if done else 1
        return cli(args)
    return run
