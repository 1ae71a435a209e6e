"""Atomic writes of files only their owner can read.

Each write goes to its own temporary next to the target (made by `tempfile.mkstemp`, so 0600 from
the first byte and never shared with another writer), then `os.replace`s the target. A fixed
`<name>.tmp` would let two opsctl processes writing the same file truncate each other's temporary,
or rename it away under each other. Readers see the old file or the new one, never a part of one.

Stdlib only, so any module can use it without adding to opsctl's start-up time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"


def _prefix(path: Path) -> str:
    # Named after the file it will replace, so what a killed writer leaves can be told apart.
    return f".{path.name}."


def leftover_temporaries(path: Path) -> list[Path]:
    """The temporaries of writes to `path` that never finished (or are under way right now)."""
    prefix = _prefix(path)
    try:
        return sorted(p for p in path.parent.iterdir()
                      if p.name.startswith(prefix) and p.name.endswith(TEMP_SUFFIX))
    except FileNotFoundError:
        return []


def write_private_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, mode 0600, replacing any file there atomically.

    The parent directory must exist. Raises OSError (UnicodeEncodeError for text UTF-8 cannot
    hold); on any failure no temporary is left behind and the file that was there is untouched.
    """
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path), suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # mkstemp asks for 0600 but the umask can take bits away; the mode is exact either way.
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            # Without it a crash soon after the rename can leave the new name pointing at no data.
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def write_private_json(path: Path, value: Any) -> None:
    """`value` as JSON (`json.dumps` defaults), written as `write_private_text` does.

    Encoded before anything is created, so a value JSON cannot encode (TypeError, ValueError)
    leaves no trace on disk.
    """
    write_private_text(path, json.dumps(value))
