"""How a deploy's time grows with the number of servers, for `make bench` (tools/bench.py).

For each lab size it brings the lab to that many servers, deploys v1 (the new servers pull it),
then times `opsctl deploy v2` and `opsctl deploy v1` in turn, idle, with the example's lab
environment changed to `rollout.batch: 33%`: one batch for 1 server, 1 host a batch for 3, 2 for 6
and 3 for 9. The changed opsctl.yml is written to a temporary directory; the inventory and secrets
it names are the lab's own (absolute paths), so nothing in the checkout changes.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

from tests.lab.helpers import HELLO, opsctl, reset_fleet

BATCH = "33%"


def _config(directory: Path) -> Path:
    text = (HELLO / "opsctl.yml").read_text()
    changed, count = re.subn(r"rollout: \{batch: 1,", "rollout: {batch: " + BATCH + ",", text)
    if count != 1:
        raise SystemExit("examples/hello/opsctl.yml: the lab environment's rollout line changed; update scale_bench.py")
    path = directory / "opsctl.yml"
    path.write_text(changed)
    return path


def deploy_args(config: str, version: str) -> list[str]:
    # -c is an option of opsctl itself, so it comes before the command.
    return ["-c", config, "deploy", version, "-e", "lab"]


def measure(sizes: list[int], rounds: int, env: dict[str, str]) -> dict[int, list[float]]:
    """Seconds of each `deploy` (v2 and v1 alternately, `rounds` of each) per lab size."""
    found: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="opsctl-scale-") as tmp:
        config = str(_config(Path(tmp)))
        for size in sizes:
            opsctl("lab", "up", "--hosts", str(size), env=env, check=True)
            reset_fleet()
            opsctl(*deploy_args(config, "v1"), env=env, check=True)
            times = []
            for _ in range(rounds):
                for version in ("v2", "v1"):
                    started = time.monotonic()
                    opsctl(*deploy_args(config, version), env=env, check=True)
                    times.append(time.monotonic() - started)
            found[size] = times
            print(f"{size} server(s): deploy median {statistics.median(times):.2f} s over {len(times)} deploys")
    return found


def render(found: dict[int, list[float]]) -> str:
    base = statistics.median(found[3]) if 3 in found else None
    lines = [
        "",
        f"### Deploy time by number of servers (`rollout.batch: {BATCH}`, idle)",
        "",
        "| servers | batches | median deploy | min | max | / 3 servers |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for size, times in sorted(found.items()):
        batches = min(size, 3)
        ratio = f"{statistics.median(times) / base:.2f}" if base else "-"
        lines.append(f"| {size} | {batches} | {statistics.median(times):.2f} s | {min(times):.2f} s "
                     f"| {max(times):.2f} s | {ratio} |")
    return "\n".join(lines)
