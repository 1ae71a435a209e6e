"""Helpers shared by opsctl's Ansible modules (Ansible ships this file to the host with them)."""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping


def write_atomic(path: str, content: str, mode: int = 0o644) -> None:
    """Replace `path` so that a reader sees the old file or the new one, never half of one.

    The mode is set before any byte is written, so a secret is never readable by others.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_if_changed(path: str, content: str, mode: int = 0o644) -> bool:
    """Write `path` atomically unless it already holds `content` with `mode`; True if it wrote."""
    try:
        with open(path) as handle:
            same = handle.read() == content and (os.stat(path).st_mode & 0o7777) == mode
    except (FileNotFoundError, UnicodeDecodeError):
        same = False
    if not same:
        write_atomic(path, content, mode)
    return not same


def switch_files(files: Mapping[str, str], reload: Callable[[], None], verify: Callable[[], None],
                 failure: type[Exception] | tuple[type[Exception], ...]) -> None:
    """Write `files` (path -> content), reload and verify; when either fails, put every file back
    as it was (removing those that did not exist) and reload again, so the proxy serves what it
    served before, then re-raise."""
    previous: dict[str, str | None] = {}
    for path, content in files.items():
        previous[path] = open(path).read() if os.path.exists(path) else None
        write_atomic(path, content)
    try:
        reload()
        verify()
    except failure:
        for path, old in previous.items():
            if old is None:
                os.unlink(path)
            else:
                write_atomic(path, old)
        reload()
        raise


def http_ok(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return 200 <= status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False
