"""The operator's side on the lab: hooks and notifications around real deploys, the ELB path with
lab servers as EC2 targets on the lab's moto, and `exec -i` through a real terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab.helpers import HELLO, HelloImages, Load, hosts, http_ports, opsctl, reset_fleet, versions
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.lab

SECRET = f"s3cret-{uuid.uuid4().hex}"
ENV = {"HELLO_SECRET_KEY": SECRET, "AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab-secret-key"}

# A hook that appends its OPSCTL_* variables (and whether it saw any secret) to hooks.log.
RECORD = f"""#!{sys.executable}
import json, os
env = dict(os.environ)
seen = {{k: v for k, v in env.items() if k.startswith("OPSCTL_")}}
seen["leaked"] = sorted(k for k, v in env.items() if "s3cret-" in v or k.startswith("AWS_")
                        or k in ("HELLO_SECRET_KEY", "OPSCTL_REGISTRY_PASSWORD"))
with open("hooks.log", "a") as log:
    log.write(json.dumps(seen) + "\\n")
"""


def project(tmp_path: Path, **changes: Any) -> Path:
    """A copy of the example's opsctl.yml in tmp_path with `changes` merged in (deploys only)."""
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    config["build"]["context"] = str(HELLO)
    for key, value in changes.items():
        config[key] = value
    (tmp_path / "opsctl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def run(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return opsctl(*args, cwd=where, env=ENV)


# --- hooks and notifications ------------------------------------------------------------------


def test_hooks_and_slack_messages_of_a_deploy_a_failed_deploy_and_a_rollback(images: HelloImages, tmp_path: Path) -> None:
    reset_fleet()
    with Receiver() as receiver:
        where = project(tmp_path, notify=[
            {"url": f"{receiver.base}/slack/T0/B0/secret", "format": "slack", "events": ["all"]},
            {"url": f"{receiver.base}/json/x", "events": ["deploy", "failure", "rollback"]},
        ])
        for name in ("pre-deploy", "post-deploy", "post-rollback", "on-failure"):
            path = where / ".opsctl" / "hooks" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(RECORD)
            path.chmod(0o755)

        assert run(where, "deploy", "v1", "-e", "lab").returncode == 0
        second = run(where, "deploy", "v2", "-e", "lab", "-m", "second <!here> [bold]")
        assert second.returncode == 0, second.stderr
        bad = run(where, "deploy", "vbad", "-e", "lab")
        assert bad.returncode == 1
        back = run(where, "rollback", "-e", "lab")
        assert back.returncode == 0, back.stderr
        assert run(where, "lock", "acquire", "-e", "lab", "-m", "maintenance").returncode == 0
        assert run(where, "lock", "release", "-e", "lab").returncode == 0
    assert set(versions().values()) == {"v1"}

    slack = receiver.on("/slack/")
    assert [r.problems for r in slack] == [[]] * len(slack) and all(r.status == 200 for r in slack)
    events = [r.json() for r in slack]
    headers = [e["blocks"][0]["text"]["text"] for e in events]
    assert headers == [
        "🚀 hello/lab: deploying v1", "✅ hello/lab: deployed v1",
        "🚀 hello/lab: deploying v2", "✅ hello/lab: deployed v2",
        "🚀 hello/lab: deploying vbad", "❌ hello/lab: deploy of vbad failed",
        "↩️ hello/lab: rolled back to v1",
        "🔒 hello/lab: deploy lock taken", "🔒 hello/lab: deploy lock released",
    ]
    deployed_v2, failed, rolled_back = (json.dumps(events[i], ensure_ascii=False) for i in (3, 5, 6))
    assert "*Previous version*\\nv1" in deployed_v2 and "*Release*\\n#2" in deployed_v2
    assert "second &lt;!here&gt; [bold]" in deployed_v2 and "<!here>" not in deployed_v2
    assert "*Previous version*\\nv2" in failed and "*Release*\\n#3" in failed
    first_host = sorted(hosts())[0]
    assert f"*Failed host(s):* {first_host}" in failed and "did not pass its health check" in failed
    assert "*Previous version*\\nv2" in rolled_back and "*Release*\\n#4" in rolled_back
    assert "maintenance" in json.dumps(events[7])

    as_json = [r.json() for r in receiver.on("/json/")]
    assert [(e["event"], e["version"], e["release"]) for e in as_json] == [
        ("deploy", "v1", 1), ("deploy", "v2", 2), ("deploy.failure", "vbad", 3), ("rollback", "v1", 4)]

    log = [json.loads(line) for line in (where / "hooks.log").read_text().splitlines()]
    assert [(h["OPSCTL_HOOK"], h["OPSCTL_VERSION"], h["OPSCTL_RELEASE"], h["OPSCTL_PREVIOUS_VERSION"])
            for h in log] == [
        ("pre-deploy", "v1", "", ""), ("post-deploy", "v1", "1", ""),
        ("pre-deploy", "v2", "", ""), ("post-deploy", "v2", "2", "v1"),
        ("pre-deploy", "vbad", "", ""), ("on-failure", "vbad", "3", "v2"),
        ("post-rollback", "v1", "4", "v2"),
    ]
    assert "did not pass its health check" in log[5]["OPSCTL_ERROR"]
    assert log[3]["OPSCTL_MESSAGE"] == "second <!here> [bold]"
    assert all(h["OPSCTL_APP"] == "hello" and h["OPSCTL_ENV"] == "lab" and h["leaked"] == [] for h in log)
    assert log[0]["OPSCTL_HOSTS"] == ",".join(hosts())


# --- the ELB path -----------------------------------------------------------------------------


def _target_ids() -> dict[str, str]:
    return {str(v["opsctl_target_id"]): name for name, v in hosts().items()}


def _client() -> Any:
    import boto3

    return boto3.client("elbv2", endpoint_url="http://127.0.0.1:5051", region_name="us-east-1",
                        aws_access_key_id="lab", aws_secret_access_key="lab-secret-key")


class TargetGroupWatch:
    """Polls the target group's members (from AWS) and each host's version (over HTTP)."""

    def __init__(self, arn: str) -> None:
        self.elb = _client()
        self.arn = arn
        self.names = _target_ids()
        self.changes: list[tuple[str, str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def members(self) -> set[str]:
        health = self.elb.describe_target_health(TargetGroupArn=self.arn)["TargetHealthDescriptions"]
        return {self.names.get(d["Target"]["Id"], d["Target"]["Id"]) for d in health
                if d["TargetHealth"]["State"] == "healthy"}

    def _loop(self) -> None:
        before = self.members()
        deadline = time.monotonic() + 300
        while not self._stop.is_set() and time.monotonic() < deadline:
            now = self.members()
            changed = sorted(before ^ now)
            if changed:
                seen = versions()
                for host in changed:
                    self.changes.append(("in" if host in now else "out", host, seen[host]))
            before = now
            time.sleep(0.05)

    def __enter__(self) -> TargetGroupWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_deploy_takes_each_host_out_of_the_target_group_around_its_swap(images: HelloImages, tmp_path: Path) -> None:
    reset_fleet()
    from opsctl.lab import ec2

    # Each lab server is a live instance on the lab's AWS endpoint, its id in the inventory.
    assert {name: str(v.get("opsctl_target_id")) for name, v in hosts().items()} == ec2.existing(ec2.client())
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    lab_env = config["environments"]["lab"]
    lab_env["load_balancer"]["target_group"] = "hello-lab-web"
    lab_env["rollout"]["rollback_batch"] = 1  # all at once would empty the target group
    where = project(tmp_path, environments={"lab": lab_env},
                    aws={"region": "us-east-1", "load_balancer": {"deregistration_delay": 0}})
    applied = run(where, "provision", "apply", "-e", "lab", "--yes")
    assert applied.returncode == 0, applied.stderr
    arn = _client().describe_target_groups(Names=["hello-lab-web"])["TargetGroups"][0]["TargetGroupArn"]

    first = run(where, "deploy", "v1", "-e", "lab")  # registers each host after its first swap
    assert first.returncode == 0, first.stderr
    plan = json.loads(run(where, "deploy", "v2", "-e", "lab", "--dry-run", "--json").stdout)["plan"]
    order = [h for batch in plan["batches"] for h in batch]
    with TargetGroupWatch(arn) as watch:
        assert watch.members() == set(hosts())
        with Load([f"http://127.0.0.1:{port}/version" for port in http_ports().values()]) as traffic:
            deploy = run(where, "deploy", "v2", "-e", "lab")
        time.sleep(0.3)
    assert deploy.returncode == 0, deploy.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    # From AWS's side: out on the old version, back in on the new one, one host after another.
    expected = [step for host in order for step in (("out", host, "v1"), ("in", host, "v2"))]
    assert watch.changes == expected
    assert watch.members() == set(hosts())

    # A rollback takes the same path back.
    with TargetGroupWatch(arn) as watch:
        with Load([f"http://127.0.0.1:{port}/version" for port in http_ports().values()]) as traffic:
            back = run(where, "rollback", "-e", "lab")
        time.sleep(0.3)
    assert back.returncode == 0, back.stderr
    assert traffic.failed == 0, traffic.errors[:10]
    assert watch.changes == [step for host in order for step in (("out", host, "v2"), ("in", host, "v1"))]


def test_a_load_balancer_failure_names_group_target_and_reason(images: HelloImages, tmp_path: Path) -> None:
    reset_fleet()
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    lab_env = config["environments"]["lab"]
    missing = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone-web/0123456789abcdef"
    lab_env["load_balancer"]["target_group"] = missing
    where = project(tmp_path, environments={"lab": lab_env})
    failed = run(where, "deploy", "v1", "-e", "lab")
    assert failed.returncode == 1
    first_host, target = sorted(hosts())[0], hosts()[sorted(hosts())[0]]["opsctl_target_id"]
    line = f"{first_host}: Take the host out of the load balancer: could not take target {target}:80 out of target group gone-web: TargetGroupNotFound"
    assert line in failed.stderr, failed.stderr
    assert "non-zero return code" not in failed.stderr


# --- exec -i ----------------------------------------------------------------------------------


def test_exec_i_gives_a_terminal_in_the_current_release(images: HelloImages) -> None:
    import pty
    import select

    reset_fleet()
    assert opsctl("deploy", "v2", "-e", "lab", env=ENV).returncode == 0
    script = ("import os, sys; print('tty', sys.stdin.isatty(), os.environ['OPSCTL_VERSION']); "
              "print('got', input('name? ')); sys.exit(7)")
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "opsctl", "exec", "-i", "-e", "lab", "--", "python3", "-c", script],
                            cwd=HELLO, env={**os.environ, **ENV}, stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    seen = b""

    def read_until(marker: bytes, timeout: float = 90) -> None:
        nonlocal seen
        end = time.monotonic() + timeout
        while marker not in seen and time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        assert marker in seen, seen.decode(errors="replace")

    try:
        read_until(b"name? ")
        os.write(master, b"it's $(id) `x`\r")
        read_until(b"got it's $(id) `x`")
        assert proc.wait(timeout=60) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"tty True v2" in seen
