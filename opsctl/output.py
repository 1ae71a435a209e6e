"""How opsctl talks to people and to pipelines: Rich on a terminal, plain lines in CI, JSON on request.

Human messages go to stderr so that stdout carries only results (a table, or one JSON object with
--json) and can be piped.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


# Consoles are made on first use: importing rich.console costs ~25 ms, which `opsctl --help` and
# `--json` commands should not pay.
@cache
def _console(stderr: bool) -> Console:
    from rich.console import Console

    if stderr:
        return Console(stderr=True, highlight=False, soft_wrap=True)
    # Piped or in CI there is no terminal width to respect; Rich's default 80 columns would wrap
    # tables into unreadable cells.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def is_plain() -> bool:
    """Plain line output (no live widgets): not a terminal, or running in CI."""
    return is_ci() or not sys.stderr.isatty()


def stdout() -> Console:
    return _console(False)


def stderr() -> Console:
    return _console(True)


def info(message: str) -> None:
    stderr().print(message)


def step(message: str) -> None:
    """One line of progress on long work."""
    stderr().print(f"[bold cyan]==>[/] {message}" if not is_plain() else f"==> {message}")


def warn(message: str) -> None:
    stderr().print(f"[yellow]warning:[/] {message}")


def error(message: str, hint: str | None = None) -> None:
    from rich.markup import escape

    # Messages quote config values, server output and package names like opsctl[lab]: never markup.
    stderr().print(f"[bold red]error:[/] {escape(message)}", markup=True)
    if hint:
        stderr().print(f"[dim]hint:[/] {escape(hint)}")


_json_written: list[bool] = []


def json_emitted() -> bool:
    """Whether this process already printed its JSON object (cli.main then adds no error object)."""
    return bool(_json_written)


def emit_json(obj: Any) -> None:
    """The one JSON object a --json command prints on stdout."""
    _json_written.append(True)
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
