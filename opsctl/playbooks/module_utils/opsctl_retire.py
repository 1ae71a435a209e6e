"""Retiring old containers after a host's switch, without holding up the rollout.

The swap hands its old containers to `retire_detached`: a forked child (its own session, stdio on
/dev/null, so Ansible's connection does not wait for it) sleeps through the drain, stops them all at
once, records the outcome, and then removes them. The protocol with opsctl_state's `await_retire`, which the rollout's
last play runs on every host:

    <state_dir>/retire/<run_id>.pending   written before the child starts: the containers
    <state_dir>/retire/<run_id>.done      renamed from .pending when finished: {"stopped", "paused", "failed"}

Each container comes as [name, stop_timeout, how]: "stop" (SIGTERM, its timeout, then removal) or
"pause" (standby: it keeps its memory but no CPU, no restart policy, so a daemon restart does not
bring it back running; one that cannot be paused is stopped instead).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

# Runs `docker ARGS...` and returns its exit code.
Docker = Callable[[Sequence[str]], int]


def job_paths(state_dir: str, run_id: str) -> tuple[str, str]:
    directory = os.path.join(state_dir, "retire")
    return os.path.join(directory, f"{run_id}.pending"), os.path.join(directory, f"{run_id}.done")


def retire(docker: Docker, containers: list[list[object]], drain: float, pending: str, done: str,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, list[str]]:
    """Wait out the drain, pause the standbys and stop every other container at once (SIGTERM,
    then its timeout), record the outcome, then remove the stopped ones. The rollout waits only for
    the record, so removing the stopped containers costs it nothing; a container that could not be
    stopped is removed (killed) before the record, and one that cannot be removed either is
    reported as failed."""
    sleep(drain)

    def settle(entry: list[object]) -> tuple[str, int]:
        name = str(entry[0])
        if len(entry) > 2 and entry[2] == "pause" and _pause(docker, name):
            return "paused", 0
        return "stopped", docker(["stop", "-t", str(int(float(str(entry[1])))), name])

    with ThreadPoolExecutor(max_workers=max(1, min(len(containers), 8))) as pool:
        settled = list(pool.map(settle, containers))
    names = [str(c[0]) for c in containers]
    stopped = [name for name, (how, _) in zip(names, settled, strict=True) if how == "stopped"]
    unstopped = [name for name, (how, code) in zip(names, settled, strict=True) if how == "stopped" and code != 0]
    failed = [name for name in unstopped if docker(["rm", "-f", name]) != 0]
    outcome = {"failed": failed, "stopped": stopped,
               "paused": [name for name, (how, _) in zip(names, settled, strict=True) if how == "paused"]}
    with open(pending, "w") as handle:
        json.dump(outcome, handle)
    os.replace(pending, done)
    for name in stopped:
        if name not in unstopped:
            docker(["rm", "-f", name])
    return outcome


def _pause(docker: Docker, name: str) -> bool:
    """Turn a drained container into a standby: no restart policy first (a daemon restart must not
    start it running outside the proxy), then paused."""
    return docker(["update", "--restart", "no", name]) == 0 and docker(["pause", name]) == 0


def start_job(containers: list[list[object]], state_dir: str, run_id: str) -> tuple[str, str]:
    pending, done = job_paths(state_dir, run_id)
    os.makedirs(os.path.dirname(pending), mode=0o700, exist_ok=True)
    with open(pending, "w") as handle:
        json.dump({"containers": containers}, handle)
    return pending, done


def retire_detached(docker: Docker, containers: list[list[object]], drain: float,
                    state_dir: str, run_id: str) -> None:
    """Start retiring in a child process that outlives the module; return at once."""
    pending, done = start_job(containers, state_dir, run_id)
    if os.fork() != 0:
        return
    try:  # the child: detach from Ansible's session and pipes, do the work, never return
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 65536)  # nothing else of the module's (e.g. a pipe to Ansible) stays open
        retire(docker, containers, drain, pending, done)
    finally:
        os._exit(0)
