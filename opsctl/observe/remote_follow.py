"""Runs ON a host (python3 -c, over ssh): follow an app's container logs until stdin closes.

Not imported by opsctl: `follow.py` sends this file's text as one ssh argument. Arguments:
APP ENV SERVICE SINCE (SERVICE "" = every container of the app; "proxy" = the proxy). Containers
that appear later (a deploy's new replicas) are picked up by polling `docker ps`. Each output line
is JSON: [container, service, "<docker timestamp> <text>"]. When opsctl ends (Ctrl-C, or its ssh
dies), sshd closes our stdin: every `docker logs -f` is then stopped, so nothing stays behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

POLL = 2.0



class Follow:
    def __init__(self, app: str, env: str, service: str, since: str) -> None:
        self.since = since
        self.filters = ["--filter", "label=opsctl.app=" + app, "--filter", "label=opsctl.env=" + env]
        if service == "proxy":
            self.filters += ["--filter", "label=opsctl.role=proxy"]
        elif service:
            self.filters += ["--filter", "label=opsctl.service=" + service]
        self.write = threading.Lock()
        self.spawn = threading.Lock()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.last: dict[str, str] = {}  # container -> newest timestamp sent: where a re-follow resumes
        self.done = threading.Event()

    def pump(self, name: str, label: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.last[name] = line.partition(" ")[0]
            with self.write:
                try:
                    sys.stdout.write(json.dumps([name, label, line]) + "\n")
                    sys.stdout.flush()
                except (BrokenPipeError, OSError):
                    self.done.set()
                    return

    def discover(self, first: bool) -> None:
        fmt = '{{.Names}}\t{{.Label "opsctl.service"}}\t{{.Label "opsctl.role"}}'
        out = subprocess.run(["docker", "ps", "--format", fmt, *self.filters],  # noqa: S603
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False).stdout.decode()
        for row in out.splitlines():
            name, label, role = [*row.split("\t"), "", ""][:3]
            if name in self.procs and self.procs[name].poll() is None:
                continue
            # Containers there at the start: from SINCE on. Later ones are new: their whole log.
            argv = ["docker", "logs", "-f", "--timestamps"]
            if first or name in self.procs:
                argv += ["--since", self.last.get(name, self.since)]
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                [*argv, name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.procs[name] = proc
            threading.Thread(target=self.pump, args=(name, label or role or "-", proc), daemon=True).start()

    def poll(self) -> None:
        first = True
        while not self.done.is_set():
            with self.spawn:
                if not self.done.is_set():
                    self.discover(first)
            first = False
            self.done.wait(POLL)

    def wait_for_eof(self) -> None:
        sys.stdin.read()
        self.done.set()

    def stop(self) -> None:
        with self.spawn:
            running = list(self.procs.values())
        for proc in running:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.time() + 3
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    follow = Follow(*sys.argv[1:5])
    threading.Thread(target=follow.poll, daemon=True).start()
    threading.Thread(target=follow.wait_for_eof, daemon=True).start()
    follow.done.wait()
    follow.stop()


if __name__ == "__main__":
    main()
