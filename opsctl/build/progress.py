"""Build and push progress: live Rich widgets on a terminal, plain lines in CI and in pipes.

Everything goes to stderr; stdout is kept for the result. Build output is untrusted text (it
can contain '[...]'), so it is never rendered as Rich markup.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
)
from rich.spinner import Spinner
from rich.text import Text

from opsctl import output

# Push statuses that mean a layer is done (the registry has it).
_LAYER_DONE = ("Pushed", "Layer already exists", "Mounted from")


class BuildProgress(Protocol):
    def build_step(self, header: str) -> None: ...
    def build_output(self, line: str) -> None: ...
    def build_done(self, image_id: str) -> None: ...
    def build_failed(self, header: str | None, lines: list[str]) -> None: ...
    def push_start(self, ref: str) -> None: ...
    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None: ...
    def push_done(self, ref: str, digest: str | None) -> None: ...
    def close(self) -> None: ...


def make_progress() -> BuildProgress:
    if output.is_plain():
        return PlainProgress()
    return RichProgress(output.stderr())


class PlainProgress:
    """One line per event that matters: every build line, and each layer's state changes (not
    its byte counts, which would flood a CI log)."""

    def __init__(self) -> None:
        self._layer_status: dict[str, str] = {}
        self._ref = ""

    def _line(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def build_step(self, header: str) -> None:
        self._line(f"build: {header}")

    def build_output(self, line: str) -> None:
        self._line(f"build:   {line}")

    def build_done(self, image_id: str) -> None:
        self._line(f"build: done, image {image_id}")

    def build_failed(self, header: str | None, lines: list[str]) -> None:
        # The failing step's output has already been printed line by line above.
        pass

    def push_start(self, ref: str) -> None:
        self._ref = ref
        self._layer_status = {}
        self._line(f"push: {ref}")

    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        if self._layer_status.get(layer_id) == status:
            return
        self._layer_status[layer_id] = status
        self._line(f"push:   {layer_id} {status}")

    def push_done(self, ref: str, digest: str | None) -> None:
        self._line(f"push: {ref} done, digest {digest or 'unknown'}")

    def close(self) -> None:
        pass


class RichProgress:
    """A spinner with the current build step and its last output lines; a bar per layer on push.
    Finished steps stay on screen as one line each."""

    _TAIL = 6

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Live | None = None
        self._step: str | None = None
        self._tail: deque[str] = deque(maxlen=self._TAIL)
        self._push: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    # build -----------------------------------------------------------------------------------
    def _render(self) -> Group:
        lines: list[Spinner | Text] = [Spinner("dots", Text(self._step or "starting build", style="bold"))]
        lines += [Text("  " + line, style="dim", overflow="ellipsis", no_wrap=True) for line in self._tail]
        return Group(*lines)

    def _finish_step(self) -> None:
        if self._step is not None:
            self._console.print(Text.assemble(("  ✓ ", "green"), self._step))

    def build_step(self, header: str) -> None:
        self._finish_step()
        self._step = header
        self._tail.clear()
        if self._live is None:
            self._live = Live(self._render(), console=self._console, transient=True)
            self._live.start()
        else:
            self._live.update(self._render())

    def build_output(self, line: str) -> None:
        self._tail.append(line)
        if self._live is not None:
            self._live.update(self._render())

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def build_done(self, image_id: str) -> None:
        self._stop_live()
        self._finish_step()
        self._step = None
        self._console.print(Text(f"built {image_id}", style="dim"))

    def build_failed(self, header: str | None, lines: list[str]) -> None:
        # The live view showed only the tail; now show the failing step in full.
        self._stop_live()
        if header:
            self._console.print(Text.assemble(("  ✗ ", "red"), header))
        for line in lines:
            self._console.print(Text("    " + line))

    # push ------------------------------------------------------------------------------------
    def push_start(self, ref: str) -> None:
        self._console.print(Text(f"pushing {ref}", style="bold"))
        self._push = Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[layer]}"),
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=self._console,
        )
        self._tasks = {}
        self._push.start()

    def layer(self, layer_id: str, status: str, current: int | None, total: int | None) -> None:
        if self._push is None:
            return
        task = self._tasks.get(layer_id)
        if task is None:
            task = self._push.add_task(status, layer=layer_id, total=None)
            self._tasks[layer_id] = task
        done = status.startswith(_LAYER_DONE)
        if done:
            finished = self._push.tasks[task].total or 1
            self._push.update(task, description=status, total=finished, completed=finished)
        else:
            self._push.update(task, description=status, total=total or None, completed=current or 0)

    def push_done(self, ref: str, digest: str | None) -> None:
        if self._push is not None:
            self._push.stop()
            self._push = None
        self._console.print(Text.assemble(("  ✓ ", "green"), f"{ref} {digest or ''}".rstrip()))

    def close(self) -> None:
        self._stop_live()
        if self._push is not None:
            self._push.stop()
            self._push = None
