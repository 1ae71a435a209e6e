"""The one place that opens a docker SDK client and reads the engine's JSON streams.

`opsctl build` (low-level API client) and `opsctl lab` (high-level client) both connect here, so
an engine that does not answer gives the same kind of `error:` line; both read build and push
streams through `event_error` and `LineSplitter`, and clean untrusted output with `clean`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsctl.errors import OpsctlError


# The engine colours a step's stderr with escape sequences; build output is untrusted text that
# must not drive the terminal either, so every escape sequence and control character goes.
def clean(line: str) -> str:
    """One line of engine output without escape sequences, control characters or trailing blanks."""
    from opsctl.output import strip_controls

    return strip_controls(line).rstrip()


def _unreachable(exc: Exception, hint: str, first_line: bool) -> OpsctlError:
    reason = str(exc).splitlines()[0][:200] if first_line else str(exc)
    return OpsctlError(f"cannot reach the Docker engine: {reason}", hint=hint)


def connect_api(hint: str) -> Any:
    """A low-level engine client (DOCKER_HOST etc. respected), checked to answer."""
    import docker
    from docker.errors import DockerException

    try:
        api = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
        api.ping()
    except DockerException as exc:
        raise _unreachable(exc, hint, first_line=False) from None
    return api


def connect_client(hint: str, timeout: int = 600) -> Any:
    """A high-level docker SDK client for the engine, checked to answer."""
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise _unreachable(exc, hint, first_line=True) from exc
    return client


def event_error(event: dict[str, Any], default: str) -> str | None:
    """The error a build or push stream event reports, or None when it reports none."""
    if "error" not in event and "errorDetail" not in event:
        return None
    detail = event.get("errorDetail") or {}
    return str(event.get("error") or detail.get("message") or default)


@dataclass
class LineSplitter:
    """Joins the `stream` texts of a build's events into whole, cleaned lines for `on_line`
    (an event may carry part of a line, or several)."""

    on_line: Callable[[str], None]
    _partial: str = ""

    def feed(self, text: str) -> None:
        text = self._partial + text.replace("\r\n", "\n")
        *lines, self._partial = text.split("\n")
        for line in lines:
            self.on_line(clean(line))

    def close(self) -> None:
        if self._partial:
            self.on_line(clean(self._partial))
            self._partial = ""
