"""`logs -f`: one ssh per host, each running remote_follow.py, merged here in time order.

Why ssh and not Ansible: a follow never ends, and Ansible returns a task's output only when it
ends. The ssh connection uses the inventory's own connection variables (host, port, user, key,
common/extra args). Ctrl-C closes each ssh's stdin, so the remote side stops its `docker logs -f`;
an ssh that does not end within a few seconds is terminated: nothing is left running.
"""

from __future__ import annotations

import json
import queue
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsctl.errors import OpsctlError
from opsctl.observe.logs import LogLine, Reorder, parse

SCRIPT = Path(__file__).with_name("remote_follow.py")


def ssh_argv(host: str, host_vars: dict[str, Any], remote: list[str]) -> list[str]:
    """ssh to one inventory host as Ansible would, running `remote` (quoted for the remote shell)."""
    ssh = shutil.which("ssh")
    if ssh is None:
        raise OpsctlError("logs -f needs the ssh client", hint="apt-get install openssh-client")
    values = {k: str(v) for k, v in host_vars.items() if k.startswith("ansible_")}
    templated = sorted(k for k, v in values.items() if "{{" in v)
    if templated:
        raise OpsctlError(f"{host}: logs -f needs literal connection variables; {', '.join(templated)} is a template")
    argv = [ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"]
    if "ansible_port" in values:
        argv += ["-p", values["ansible_port"]]
    if "ansible_ssh_private_key_file" in values:
        argv += ["-i", str(Path(values["ansible_ssh_private_key_file"]).expanduser())]
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        argv += shlex.split(values.get(key, ""))
    address = values.get("ansible_host", host)
    user = values.get("ansible_user")
    # `--` ends ssh's options; the remote command is one string that the remote shell splits.
    return [*argv, f"{user}@{address}" if user else address, "--", shlex.join(remote)]


def remote_command(host_vars: dict[str, Any], app: str, env: str, service: str, since: str) -> list[str]:
    python = str(host_vars.get("ansible_python_interpreter") or "python3")
    return [python, "-c", SCRIPT.read_text(encoding="utf-8"), app, env, service, since]


class Follower:
    """Streams from every host into one queue; `run` prints them in time order until stopped."""

    def __init__(self, argvs: dict[str, list[str]]) -> None:
        self.argvs = argvs
        # (host, line or None when the host's stream ended, why it ended, when it arrived)
        self.lines: queue.Queue[tuple[str, LogLine | None, str, float]] = queue.Queue()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def _read(self, host: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                container, service, text = json.loads(raw)
            except (ValueError, TypeError):
                continue  # not ours (a login banner, say): never shown as log text
            self.lines.put((host, parse(host, str(container), str(service), str(text)), "", time.monotonic()))
        code = proc.wait()
        assert proc.stderr is not None
        reason = proc.stderr.read().decode(errors="replace").strip().splitlines()
        why = f"stream ended (exit {code}{': ' + reason[-1] if reason else ''})"
        self.lines.put((host, None, why, time.monotonic()))

    def start(self) -> None:
        for host, argv in self.argvs.items():
            # A session of its own: the terminal's Ctrl-C reaches opsctl, which ends ssh in order.
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            self.procs[host] = proc
            threading.Thread(target=self._read, args=(host, proc), daemon=True).start()

    def run(self, emit: Callable[[LogLine], None], note: Callable[[str, str], None],
            stop: threading.Event | None = None) -> None:
        reorder = Reorder()
        ended: set[str] = set()
        while not (stop and stop.is_set()) and len(ended) < len(self.procs):
            try:
                host, line, why, arrived = self.lines.get(timeout=0.1)
                if line is not None:
                    reorder.add(line, arrived)
                else:
                    ended.add(host)
                    note(host, why)
            except queue.Empty:
                pass
            for line in reorder.ready(time.monotonic()):
                emit(line)
        for line in reorder.ready(time.monotonic(), flush=True):
            emit(line)

    def close(self, grace: float = 3.0) -> None:
        for proc in self.procs.values():
            try:
                if proc.stdin:
                    proc.stdin.close()  # EOF: the remote side stops its docker logs -f and exits
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
