"""Start a command that dies with opsctl: `python -m opsctl.deploy.guard COMMAND ARGS...`.

ansible-runner starts `ansible-playbook` in a session of its own, so killing opsctl (even its whole
process group, as a cancelled CI job does) used to leave the playbook running: it went on swapping
hosts with nobody recording the outcome. opsctl therefore starts the playbook through this guard.

The guard asks the kernel for a signal when its parent (opsctl) dies, runs the command as its child
in its own process group, and on that signal (or on any HUP/INT/TERM) ends the whole group: the
playbook, its worker forks and their ssh clients. The child also gets SIGKILL if the guard itself is
killed, so no level of the tree outlives the one above it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

_PR_SET_PDEATHSIG = 1
# A cancelled playbook gets this long to stop on its own before the group is killed.
GRACE_SECONDS = 3.0


def _set_parent_death_signal(signum: int) -> bool:
    """Linux only: deliver `signum` to this process when its parent thread exits."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _kill_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def run(argv: list[str]) -> int:
    parent = os.getppid()
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent:  # opsctl died before the guard was armed
        return 143
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        _set_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent and os.getppid() == 1:
            os._exit(137)
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"opsctl guard: cannot run {argv[0]}: {exc}\n".encode())
            os._exit(127)
    try:
        os.setpgid(child, child)
    except (ProcessLookupError, PermissionError):
        pass  # the child already did it, or already exec'd

    def stop(signum: int, frame: FrameType | None) -> None:
        # Ask the playbook first (it ends its workers itself), then end whatever is left in the group.
        try:
            os.kill(child, signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)
        except ProcessLookupError:
            pass
        signal.signal(signal.SIGALRM, lambda *_: _kill_group(child, signal.SIGKILL))
        signal.setitimer(signal.ITIMER_REAL, GRACE_SECONDS)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return 1
    signal.setitimer(signal.ITIMER_REAL, 0)
    # Workers the playbook forked may still be alive (orphaned into our group): end them too.
    _kill_group(child, signal.SIGKILL)
    return _exit_code(status)


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m opsctl.deploy.guard COMMAND [ARGS...]\n")
        raise SystemExit(2)
    raise SystemExit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
