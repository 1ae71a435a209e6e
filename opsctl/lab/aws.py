"""The lab's AWS endpoint: a moto server on 127.0.0.1:5051, detached, pid file + log in the lab
dir, killed by `lab down`. It runs opsctl/lab/moto_server.py (moto with the fixes the tests use)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from opsctl.errors import OpsctlError
from opsctl.lab import names, state


def _pid_file(directory: Path) -> Path:
    return directory / state.MOTO_PID_FILE


def running_pid(directory: Path) -> int | None:
    """The pid of the lab's moto server, if it is alive (and really moto)."""
    path = _pid_file(directory)
    try:
        pid = int(path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if b"moto" not in cmdline:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return None
    return pid


LAUNCHER = "opsctl.lab.moto_server"
REQUIRED_MODULES = ("moto", "flask", "flask_cors")
"""What the moto server imports beyond opsctl's own dependencies (the `lab` extra brings them)."""


def require_moto() -> None:
    """Fail at once, in one line, when the `lab` extra is not installed (instead of a timeout later)."""
    missing = [m for m in REQUIRED_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise OpsctlError(
            f"opsctl lab needs the 'lab' extra ({', '.join(missing)} missing): "
            "pipx install --force 'opsctl[lab]' (or pip install 'opsctl[lab]')"
        )


def command() -> list[str]:
    return [sys.executable, "-m", LAUNCHER, "-H", names.BIND_ADDRESS, "-p", str(names.MOTO_PORT)]


def start(directory: Path) -> int:
    """Start moto unless it runs; return its pid (readiness: probes.wait_http)."""
    pid = running_pid(directory)
    if pid is not None:
        return pid
    log = (directory / state.MOTO_LOG_FILE).open("ab")
    env = {**os.environ, "AWS_DEFAULT_REGION": names.AWS_REGION}
    try:
        proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
            command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )
    finally:
        log.close()
    _pid_file(directory).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(directory: Path, timeout: float = 5.0) -> bool:
    """Stop the lab's moto server (its whole session); True when one was running."""
    pid = running_pid(directory)
    _pid_file(directory).unlink(missing_ok=True)
    if pid is None:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                _reap(pid)
                return True
            time.sleep(0.05)
    return True


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
