"""Merged logs: lines from `docker logs --timestamps` of many containers on many hosts, in time order.

Log text comes from containers, so it is data: terminal escape sequences are stripped before it is
shown, and it is printed as plain Text (never Rich markup).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opsctl.errors import UsageError


# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-byte escapes, and C0/C1 control
# characters other than tab: enough to move a cursor, retitle a window or hide text.
def strip_escapes(text: str) -> str:
    """Text with terminal escape sequences and control characters (except tab) removed."""
    from opsctl.output import strip_controls

    return strip_controls(text)


_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:\d\d)?$")


def check_since(value: str | None) -> str | None:
    """`--since`: a duration (10m, 1h30m) or a date/time docker understands; anything else is refused."""
    if value is None:
        return None
    value = value.strip()
    if _DURATION.match(value) or _TIMESTAMP.match(value) or re.fullmatch(r"\d{9,10}(?:\.\d+)?", value):
        return value
    raise UsageError(f"--since {value!r}: expected a duration like 10m, 1h30m or 45s, or a time like 2026-01-31T12:00:00Z")


def check_grep(pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"--grep {pattern!r}: not a valid regular expression: {exc}") from None


@dataclass(frozen=True, order=True)
class LogLine:
    """One line; ordering is by time first (nanoseconds kept), then host and container."""

    key: tuple[int, int]  # (epoch seconds, nanoseconds): Docker trims trailing zeros, so strings do not sort
    host: str
    container: str
    service: str
    time: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "host": self.host, "container": self.container,
                "service": self.service, "message": self.message}


def _key(stamp: str) -> tuple[int, int] | None:
    head, _, frac = stamp.rstrip("Z").partition(".")
    try:
        when = datetime.fromisoformat(head + "+00:00")
    except ValueError:
        return None
    digits = (frac + "000000000")[:9]
    return int(when.timestamp()), int(digits) if digits.isdigit() else 0


def parse(host: str, container: str, service: str, raw: str) -> LogLine:
    """A `docker logs --timestamps` line; a line without a timestamp sorts first and keeps its text."""
    stamp, _, message = raw.rstrip("\r\n").partition(" ")
    key = _key(stamp) if stamp.endswith("Z") else None
    if key is None:
        stamp, message, key = "", raw.rstrip("\r\n"), (0, 0)
    return LogLine(key, host, container, service, stamp, strip_escapes(message))


def merge(lines: Iterable[LogLine]) -> list[LogLine]:
    return sorted(lines)


def matches(line: LogLine, grep: re.Pattern[str] | None) -> bool:
    return grep is None or grep.search(line.message) is not None


class Reorder:
    """Lines arriving from several live streams, released in time order after a short hold.

    Streams deliver with different delays; holding each line `window` seconds lets a slightly
    older line from a slower host still come out before it.
    """

    def __init__(self, window: float = 0.4) -> None:
        self.window = window
        self._heap: list[tuple[LogLine, float]] = []

    def add(self, line: LogLine, arrived: float) -> None:
        heapq.heappush(self._heap, (line, arrived))

    def ready(self, now: float, flush: bool = False) -> list[LogLine]:
        out: list[LogLine] = []
        # The oldest line goes out once it (or anything after it in time) has waited the window.
        while self._heap and (flush or self._heap[0][1] <= now - self.window):
            out.append(heapq.heappop(self._heap)[0])
        return out


HOST_COLOURS = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta"]


def host_colour(host: str, hosts: list[str]) -> str:
    index = hosts.index(host) if host in hosts else len(hosts)
    return HOST_COLOURS[index % len(HOST_COLOURS)]


def prefix(line: LogLine) -> str:
    return f"{line.host}/{line.container}"


def clock(line: LogLine) -> str:
    """HH:MM:SS.mmm (UTC) of a line, for people; --json keeps Docker's full timestamp."""
    return line.time[11:23] if line.time else "?"
