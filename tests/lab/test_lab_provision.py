"""The lab's AWS endpoint behaves like AWS for what opsctl provisions: apply, then plan shows no
changes (SES notification topics included), with no AWS credentials exported."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.lab

APP = f"labmail{uuid.uuid4().hex[:6]}"
ZONE = f"{APP}.test"


def opsctl(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Nothing AWS-related from the caller's environment: opsctl must find the lab's credentials itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CI"}
    env["HOME"] = str(project)  # no ~/.aws either
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args], cwd=project, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )


def test_apply_then_plan_shows_no_changes_without_exported_credentials(lab: Any, tmp_path: Path) -> None:
    config = {
        "app": APP,
        "image": f"localhost:5050/{APP}",
        "services": {"web": {"port": 8000, "healthcheck": {"path": "/ping"}}},
        "environments": {"lab": {"inventory": str(lab.inventory_path)}},
        "aws": {
            "region": "us-east-1",
            "endpoint_url": "http://127.0.0.1:5051",
            "queues": {"jobs": {"dead_letter": {"max_receive_count": 3}}},
            "ses": {"domain": f"mail.{ZONE}", "feedback": True},
            "dns": {"zone": ZONE},
        },
    }
    (tmp_path / "opsctl.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    applied = opsctl(tmp_path, "provision", "apply", "-e", "lab", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    try:
        plan = opsctl(tmp_path, "provision", "plan", "-e", "lab", "--detailed-exitcode")
        assert plan.returncode == 0, plan.stdout + plan.stderr
    finally:
        destroyed = opsctl(tmp_path, "provision", "destroy", "-e", "lab", "--yes", "--allow-destroy", ZONE)
        assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
