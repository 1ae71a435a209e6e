"""How opsctl talks to people and to pipelines: Rich on a terminal, plain lines in CI, JSON on request.

Human messages go to stderr so that stdout carries only results (a table, or one JSON object with
--json) and can be piped.
"""

from __future__ import annotations

import json
import os
import re
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Terminal control sequences in text that came from elsewhere (a server, a container's output, a
# ledger entry): a log line could otherwise clear the screen, retitle the window, or write the
# operator's clipboard (OSC 52). Removed: OSC and other string commands (to BEL or ST), CSI,
# two-character ESC sequences, the 8-bit C1 controls, and every C0 control except tab and newline.
_CONTROLS = re.compile(
    r"\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|$)"  # OSC, DCS, SOS, PM, APC ... BEL or ST
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|$)"  # their 8-bit forms
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b[ -/]*[0-~]"  # other ESC sequences (charset, keypad, RIS ...)
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]",  # whatever is left: C0 (not \t, \n), DEL, C1
    re.DOTALL,
)


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


def strip_controls(text: str) -> str:
    """Remote text made safe for a terminal: escape sequences and control characters removed
    (tabs and newlines kept; a carriage return too is removed, so a line cannot overwrite itself)."""
    return _CONTROLS.sub("", text)


def literal(text: str) -> Text:
    """Text that came from elsewhere, printed as it is: no Rich markup, no terminal controls.

    Use for anything opsctl did not write as a constant (ledger fields, lock holders, messages,
    container output). A message holding "[/bold]" prints as those characters.
    """
    from rich.text import Text

    return Text(strip_controls(text))


def escape(text: str) -> str:
    """For a literal piece inside a markup string opsctl writes: markup escaped, controls removed."""
    from rich.markup import escape as rich_escape

    return rich_escape(strip_controls(text))


def info(message: str) -> None:
    stderr().print(message)


def step(message: str) -> None:
    """One line of progress on long work; `message` is printed literally (it may quote remote text)."""
    stderr().print(f"[bold cyan]==>[/] {escape(message)}" if not is_plain() else f"==> {escape(message)}")


def warn(message: str) -> None:
    """A warning; `message` is printed literally (it may quote remote text)."""
    stderr().print(f"[yellow]warning:[/] {escape(message)}")


def error(message: str, hint: str | None = None) -> None:
    """An error line; `message` and `hint` are printed literally (they may quote remote text)."""
    stderr().print(f"[bold red]error:[/] {escape(message)}")
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
