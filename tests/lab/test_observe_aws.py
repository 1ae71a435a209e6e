"""Lights on the AWS elements, read through boto3 from the lab's moto endpoint over HTTP: resources
made by `opsctl provision apply` light up in the dashboard's state and in `graph --live`, and a
message in a queue's dead letters turns that queue red."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from opsctl.lab.names import AWS_ENDPOINT
from opsctl.observe.topology import dom_id
from tests.lab.helpers import ROOT, hosts
from tests.lab.test_dashboard import light, wait

pytestmark = pytest.mark.lab

APP = f"obs{uuid.uuid4().hex[:6]}"
ZONE = f"{APP}.test"
SCREENSHOT = ROOT / "docs" / "img" / "dashboard-aws.png"
NODES = ["aws:load_balancer", "aws:target_group", "aws:dns", "aws:rds", "aws:queue:jobs", "aws:ses"]


def environ(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CI"}
    return {**env, "HOME": str(project), "DATABASE_PASSWORD": f"pw-{uuid.uuid4().hex}"}


def opsctl(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=project, env=environ(project),
                          capture_output=True, text=True, timeout=300, check=False)


def client(service: Literal["elbv2", "sqs"]) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=AWS_ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def project(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("aws-lights")
    config = {
        "app": APP,
        "image": f"localhost:5050/{APP}",
        "services": {"web": {"port": 8000, "healthcheck": {"path": "/ping"}}},
        "environments": {"lab": {"inventory": str(lab.inventory_path)}},
        "aws": {
            "region": "us-east-1",
            "endpoint_url": AWS_ENDPOINT,
            "rds": {"master_password_secret": "DATABASE_PASSWORD"},
            "queues": {"jobs": {"dead_letter": {"max_receive_count": 3}}},
            "ses": {},
            "dns": {"zone": ZONE},
            "load_balancer": {},
        },
    }
    (path / "opsctl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    applied = opsctl(path, "provision", "apply", "-e", "lab", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # The lab's servers are EC2 instances on moto: put them in the target group, as a deploy's hook would.
    elb = client("elbv2")
    arn = elb.describe_target_groups(Names=[f"{APP}-lab-web"])["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": str(v["opsctl_target_id"]), "Port": 80}
                                                       for v in hosts().values()])
    yield path
    destroyed = opsctl(path, "provision", "destroy", "-e", "lab", "--yes", "--allow-destroy", f"{APP}-lab",
                       "--allow-destroy", ZONE, "--allow-destroy", f"{APP}-lab-jobs-dlq")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr


@pytest.fixture()
def dashboard(project: Path) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "opsctl", "dashboard", "-e", "lab", "--interval", "1"],
                            cwd=project, env=environ(project), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stderr is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err


def read_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "state", timeout=10) as response:
        data: dict[str, Any] = json.load(response)
        return data


def wait_lights(url: str, want: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = read_state(url)
        if all(seen["lights"].get(dom_id(k)) == v for k, v in want.items()):
            return seen
        time.sleep(0.5)
    raise AssertionError(f"lights never became {want}: {({k: seen['lights'].get(dom_id(k)) for k in want})}")


def test_provisioned_resources_light_up_and_dead_letters_turn_a_queue_red(dashboard: str, browser: Any,
                                                                           project: Path) -> None:
    seen = wait_lights(dashboard, {node: "healthy" for node in NODES})
    notes = seen["notes"]
    assert "3/3 targets healthy" in notes[dom_id("aws:target_group")]
    assert "available" in notes[dom_id("aws:rds")] and "verified" in notes[dom_id("aws:ses")]
    assert "alias to" in notes[dom_id("aws:dns")]

    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName=f"{APP}-lab-jobs-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="a job that failed three times")
    seen = wait_lights(dashboard, {"aws:queue:jobs": "unhealthy"})
    assert "1 dead letters" in seen["notes"][dom_id("aws:queue:jobs")]

    # In the page: the same lights on the drawn elements, a symbol on each; the picture for docs/observe.md.
    browser.get(dashboard)
    for node in NODES:
        want = "unhealthy" if node == "aws:queue:jobs" else "healthy"
        wait(f"{node} {want} in the page", lambda node=node, want=want: light(browser, node) == want, 30)
    badge = browser.execute_script(
        "return document.getElementById(arguments[0]).querySelector('text.badge').textContent;", dom_id("aws:rds"))
    assert badge == "●"
    browser.save_screenshot(str(SCREENSHOT))

    graph = opsctl(project, "graph", "-e", "lab", "--live")
    assert graph.returncode == 0, graph.stderr
    rds_line = next(line for line in graph.stdout.splitlines() if line.strip().startswith('"aws:rds"'))
    assert "● RDS" in rds_line and "#d4f5d4" in rds_line  # the healthy symbol and fill
    queue_line = next(line for line in graph.stdout.splitlines() if line.strip().startswith('"aws:queue:jobs"'))
    assert "✖" in queue_line
