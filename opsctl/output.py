"""How opsctl talks to people and to pipelines: Rich on a terminal, plain lines in CI, JSON on request.

Human messages go to stderr so that stdout carries only results (a table, or one JSON object with
--json) and can be piped.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False)


def is_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def is_plain() -> bool:
    """Plain line output (no live widgets): not a terminal, or running in CI."""
    return is_ci() or not sys.stderr.isatty()


def stdout() -> Console:
    return _out


def stderr() -> Console:
    return _err


def info(message: str) -> None:
    _err.print(message)


def step(message: str) -> None:
    """One line of progress on long work."""
    _err.print(f"[bold cyan]==>[/] {message}" if not is_plain() else f"==> {message}")


def warn(message: str) -> None:
    _err.print(f"[yellow]warning:[/] {message}")


def error(message: str, hint: str | None = None) -> None:
    _err.print(f"[bold red]error:[/] {message}", markup=True)
    if hint:
        _err.print(f"[dim]hint:[/] {hint}")


def emit_json(obj: Any) -> None:
    """The one JSON object a --json command prints on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
