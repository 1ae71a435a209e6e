"""Measure deploy and rollback on the 3-server lab and write docs/benchmarks.md's deploy section.

Run with `make bench` (or `.venv/bin/python tools/bench.py --rounds 5`). It brings the lab up, builds
the example app's v1 and v2 when missing, then alternates deploy v2 / rollback to v1 while a client
sends continuous requests to every server's ingress, and records wall times and failed requests.
Then, in the same run and on the same servers, Docker Swarm updates and rolls back the same image
under the same traffic (tools/swarm_bench.py; `--no-swarm` skips it), and one table compares them.
The opsctl rounds run twice: as the example is, and with `rollout.standby: true`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.lab.helpers import HELLO, Load, http_ports, opsctl, reset_fleet, standby_copy  # noqa: E402

BENCH = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- deploy-bench:begin -->", "<!-- deploy-bench:end -->"


def timed(*args: str, env: dict[str, str], traffic_on: bool = True, cwd: Path = HELLO) -> tuple[float, int]:
    urls = [f"http://127.0.0.1:{p}/version" for p in http_ports().values()] if traffic_on else []
    with Load(urls) as traffic:
        time.sleep(0.3)
        started = time.monotonic()
        proc = opsctl(*args, "--timings", env=env, cwd=cwd)
        took = time.monotonic() - started
        time.sleep(0.3)
    if proc.returncode != 0:
        raise SystemExit(f"opsctl {' '.join(args)} failed:\n{proc.stderr}")
    # The per-phase breakdown (--timings), as the command printed it.
    breakdown = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("wall time:")]
    print(f"opsctl {' '.join(args)}{' (traffic)' if traffic_on else ''}: {took:.2f} s, "
          f"{traffic.failed} failed requests; {breakdown[-1] if breakdown else ''}", flush=True)
    return took, traffic.failed


Runs = list[tuple[float, int]]
# deploys and rollbacks under traffic, then deploys and rollbacks idle
Rounds = tuple[Runs, Runs, Runs, Runs]


def measure_rounds(rounds: int, env: dict[str, str], cwd: Path = HELLO) -> Rounds:
    """Alternate deploy v2 / rollback to v1, every other round under traffic, from a fresh fleet."""
    reset_fleet()
    opsctl("deploy", "v1", "-e", "lab", env=env, cwd=cwd, check=True)
    measured: Rounds = ([], [], [], [])
    for round_ in range(2 * rounds):
        loaded = round_ % 2 == 0
        deploys, rollbacks = (measured[0], measured[1]) if loaded else (measured[2], measured[3])
        deploys.append(timed("deploy", "v2", "-e", "lab", env=env, traffic_on=loaded, cwd=cwd))
        rollbacks.append(timed("rollback", "-e", "lab", env=env, traffic_on=loaded, cwd=cwd))
        # Deploy v1 afresh so that every round is the same: rollback returns to the deploy before
        # the current one, which must be v1 again, not the v2 of the previous round.
        opsctl("deploy", "v1", "-e", "lab", env=env, cwd=cwd, check=True)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-swarm", action="store_true", help="skip the Docker Swarm side-by-side")
    parser.add_argument("--scale", default="1,3,6,9",
                        help="lab sizes for the deploy-time-by-servers table ('' skips it)")
    args = parser.parse_args()
    env = {"HELLO_SECRET_KEY": f"bench-{uuid.uuid4().hex}"}
    opsctl("lab", "up", "--hosts", "3", env=env, check=True)
    for version in ("v1", "v2"):
        opsctl("build", version, "--allow-dirty", env=env, check=True)
    plain = measure_rounds(args.rounds, env)
    # The same rounds with `rollout.standby: true` (a copy of the example that differs only there).
    with tempfile.TemporaryDirectory() as tmp:
        standby = measure_rounds(args.rounds, env, standby_copy(Path(tmp)))
    reset_fleet()
    section = render(plain, standby, args.rounds)
    write(section)  # each part as soon as it is measured: a later failure loses nothing before it
    if not args.no_swarm:
        from swarm_bench import measure  # next to this script

        image = "localhost:5050/hello"
        swarm_loaded = measure(image, args.rounds, traffic=True)
        swarm_quiet = measure(image, args.rounds, traffic=False)
        section = section.replace(END, side_by_side(plain, standby, swarm_loaded, swarm_quiet, args.rounds)
                                  + "\n" + END)
        write(section)
    sizes = [int(n) for n in args.scale.split(",") if n.strip()]
    if sizes:
        import scale_bench  # next to this script

        section = section.replace(END, scale_bench.render(scale_bench.measure(sizes, args.rounds, env)) + "\n" + END)
        write(section)
        opsctl("lab", "up", "--hosts", "3", env=env, check=True)  # the size the tests expect
    print(section)


def write(section: str) -> None:
    """Put `section` into docs/benchmarks.md between its markers (or at the end the first time)."""
    text = BENCH.read_text() if BENCH.exists() else "# Benchmarks\n"
    if BEGIN in text:
        # A function replacement: the section is text, never a pattern (no backslash escapes).
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    BENCH.write_text(text)


def side_by_side(plain: Rounds, standby: Rounds, swarm_loaded: tuple[Runs, Runs],
                 swarm_quiet: tuple[Runs, Runs], rounds: int) -> str:
    def med(runs: Runs) -> float:
        return statistics.median(t for t, _ in runs)

    def failed(runs: Runs) -> str:
        return str(sum(f for _, f in runs))

    lines = [
        "",
        "### Side by side with Docker Swarm (same run, same servers, same image, same traffic)",
        "",
        "Swarm: a global service of the same image, one web task per server on a host-mode port, "
        "stop-first, health check every 1 s, monitor 2 s (GUIDE.md). Its traffic goes to each "
        f"server's port directly (Swarm has no per-server proxy); median of {rounds} rounds each.",
        "",
        "| | opsctl | Swarm | opsctl / Swarm | failed requests opsctl | failed requests Swarm |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, ours, theirs, counted in (
        ("update under traffic", plain[0], swarm_loaded[0], True),
        ("rollback under traffic", plain[1], swarm_loaded[1], True),
        ("rollback under traffic, `standby: true`", standby[1], swarm_loaded[1], True),
        ("update, idle", plain[2], swarm_quiet[0], False),
        ("rollback, idle", plain[3], swarm_quiet[1], False),
        ("rollback, idle, `standby: true`", standby[3], swarm_quiet[1], False),
    ):
        lines.append(f"| {label} | {med(ours):.2f} s | {med(theirs):.2f} s | {med(ours) / med(theirs):.2f} "
                     f"| {failed(ours) if counted else '-'} | {failed(theirs) if counted else '-'} |")
    return "\n".join(lines)


def render(plain: Rounds, standby: Rounds, rounds: int) -> str:
    def row(name: str, runs: Runs, counted: bool = True) -> str:
        times = [t for t, _ in runs]
        failed = sum(f for _, f in runs) if counted else "-"
        return (f"| {name} | {statistics.median(times):.2f} s | {min(times):.2f} s | {max(times):.2f} s "
                f"| {failed} |")

    cpu = os.cpu_count()
    return "\n".join([
        BEGIN,
        "## Deploy and rollback on the 3-server lab",
        "",
        f"Example app (`examples/hello`: 2 web replicas, a worker per server, a singleton clock), "
        f"rollout one host at a time, image already built and pushed; {rounds} rounds with traffic and "
        f"{rounds} without, on a {cpu}-core "
        "machine, measured from the `opsctl` command's start to its exit, while one client per server "
        "sent requests to that server's ingress (each answered request followed by a 10 ms pause, "
        "about 100 requests/s per server). A rollback moves all hosts at once (the example's "
        "`rollout.rollback_batch: 100%`); each still passes its health checks before its proxy "
        "switches.",
        "",
        "| command | median | min | max | failed requests (all rounds) |",
        "| --- | --- | --- | --- | --- |",
        row("`opsctl deploy v2 -e lab` (lock, configs, pull, release step, roll 3 hosts one by one)", plain[0]),
        row("`opsctl rollback -e lab` (no build, no pull)", plain[1]),
        row("the same deploy, no traffic", plain[2], counted=False),
        row("the same rollback, no traffic", plain[3], counted=False),
        row("deploy with `rollout.standby: true`", standby[0]),
        row("rollback with `rollout.standby: true` (resumes the paused replicas)", standby[1]),
        row("the same deploy with standby, no traffic", standby[2], counted=False),
        row("the same rollback with standby, no traffic", standby[3], counted=False),
        "",
        "`rollout.standby` (off by default, docs/deploy.md) pauses the replaced release's web replicas "
        "instead of removing them, so the rollback resumes them instead of starting containers; the "
        "standby rounds run a copy of the example that differs only in that setting.",
        "",
        "The client's own CPU use shows: on 2 cores, 300 requests/s through nginx and Python slows "
        "container starts and Ansible alike. `--timings` on deploy and rollback shows where the time "
        "goes, per phase and host.",
        "",
        f"Reproduce: `make bench` (runs `.venv/bin/python tools/bench.py --rounds {rounds}`).",
        f"Measured {time.strftime('%Y-%m-%d')}.",
        END,
    ])


if __name__ == "__main__":
    main()
