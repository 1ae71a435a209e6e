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


def main() -> None:
    app, env, service, since = sys.argv[1:5]
    filters = ["--filter", "label=opsctl.app=" + app, "--filter", "label=opsctl.env=" + env]
    if service == "proxy":
        filters += ["--filter", "label=opsctl.role=proxy"]
    elif service:
        filters += ["--filter", "label=opsctl.service=" + service]
    lock = threading.Lock()
    spawn = threading.Lock()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    last: dict[str, str] = {}  # container -> newest timestamp sent: where a re-follow resumes
    done = threading.Event()

    def pump(name: str, label: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            last[name] = line.partition(" ")[0]
            with lock:
                try:
                    sys.stdout.write(json.dumps([name, label, line]) + "\n")
                    sys.stdout.flush()
                except (BrokenPipeError, OSError):
                    done.set()
                    return

    def discover(first: bool) -> None:
        fmt = '{{.Names}}\t{{.Label "opsctl.service"}}\t{{.Label "opsctl.role"}}'
        out = subprocess.run(["docker", "ps", "--format", fmt, *filters],  # noqa: S603
                             stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=False).stdout.decode()
        for row in out.splitlines():
            name, label, role = [*row.split("\t"), "", ""][:3]
            if name in procs and procs[name].poll() is None:
                continue
            # Containers there at the start: from SINCE on. Later ones are new: their whole log.
            argv = ["docker", "logs", "-f", "--timestamps"]
            resume = last.get(name, since) if name in procs else since
            argv += ["--since", resume] if first or name in procs else []
            proc = subprocess.Popen(  # noqa: S603 - argument list, no shell
                [*argv, name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            procs[name] = proc
            threading.Thread(target=pump, args=(name, label or role or "-", proc), daemon=True).start()

    def poll() -> None:
        first = True
        while not done.is_set():
            with spawn:
                if not done.is_set():
                    discover(first)
            first = False
            done.wait(POLL)

    threading.Thread(target=poll, daemon=True).start()
    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    done.wait()
    with spawn:
        running = list(procs.values())
    for proc in running:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + 3
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
