"""Progress for long lab work: a Rich status line on a terminal, plain `==>` lines otherwise."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from opsctl import output

PLAIN_DETAIL_EVERY = 10.0
"""In plain mode, a detail line (the latest output of a long step) at most this often."""


class Progress:
    def __init__(self, log_path: Path | None = None) -> None:
        self.plain = output.is_plain()
        self._status: Any = None
        self._title = ""
        self._lock = threading.Lock()
        self._last_plain = 0.0
        self.tail: deque[str] = deque(maxlen=25)
        self._log_path = log_path
        self._log: IO[str] | None = None

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        """One phase: announced, timed, and on a terminal animated until it ends."""
        started = time.monotonic()
        self._title = title
        self.tail.clear()
        if self.plain:
            output.step(title)
            self._last_plain = time.monotonic()
            yield
            output.info(f"    done in {time.monotonic() - started:.1f}s")
            return
        with output.stderr().status(f"[bold cyan]{title}[/]") as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None
        output.info(f"[green]✓[/] {title} [dim]({time.monotonic() - started:.1f}s)[/]")

    def detail(self, line: str) -> None:
        """A line of output from the running step (build logs): shown briefly, kept for errors."""
        line = line.rstrip()
        if not line:
            return
        with self._lock:
            self.tail.append(line)
            if self._log is not None:
                self._log.write(line + "\n")
            if self._status is not None:
                short = line if len(line) <= 90 else line[:87] + "..."
                self._status.update(f"[bold cyan]{self._title}[/] [dim]{_escape(short)}[/]")
            elif self.plain and time.monotonic() - self._last_plain >= PLAIN_DETAIL_EVERY:
                self._last_plain = time.monotonic()
                output.info(f"    ... {line[:160]}")

    @contextmanager
    def logging(self) -> Iterator[None]:
        """Also keep every detail line in the lab dir's build.log while the block runs."""
        if self._log_path is None:
            yield
            return
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("a") as log:
            self._log = log
            try:
                yield
            finally:
                self._log = None

    def tail_text(self, lines: int = 15) -> str:
        return "\n".join(list(self.tail)[-lines:])


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
