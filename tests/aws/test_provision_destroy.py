"""`provision destroy` never takes CI=true as consent, and keeps a queue that still holds messages
unless it is named with --allow-destroy (moto over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.aws.test_provision_scenario import PREFIX, client, opsctl, queue_url, write_config

pytestmark = pytest.mark.aws

QUEUES_ONLY = {"rds": None, "ses": None, "dns": None, "load_balancer": None,
               "queues": {"jobs": {"visibility_timeout": 30, "dead_letter": None}}}


def test_ci_alone_is_not_consent_to_destroy(moto: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, moto, QUEUES_ONLY)
    assert opsctl(config, "apply", "--yes").returncode == 0
    refused = opsctl(config, "destroy", extra_env={"CI": "true"})
    assert refused.returncode == 2, refused.stderr
    assert "--yes" in refused.stderr and "CI=true is not consent" in refused.stderr
    assert queue_url(moto, f"{PREFIX}-jobs")
    assert opsctl(config, "destroy", "--yes", extra_env={"CI": "true"}).returncode == 0
    assert client(moto, "sqs").list_queues().get("QueueUrls", []) == []


def test_a_queue_holding_messages_is_destroyed_only_when_named(moto: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, moto, QUEUES_ONLY)
    assert opsctl(config, "apply", "--yes").returncode == 0
    sqs = client(moto, "sqs")
    url = queue_url(moto, f"{PREFIX}-jobs")
    sqs.send_message(QueueUrl=url, MessageBody="an unprocessed job")

    refused = opsctl(config, "destroy", "--yes")
    assert refused.returncode == 1, refused.stderr
    assert f"--allow-destroy {PREFIX}-jobs" in refused.stderr
    assert "holds about 1 message(s)" in refused.stdout
    assert sqs.list_queues()["QueueUrls"] == [url]

    # Removed from config, it is kept by apply too (its messages would be lost).
    emptied = write_config(tmp_path, moto, {**QUEUES_ONLY, "queues": {}})
    kept = opsctl(emptied, "apply", "--yes")
    assert kept.returncode == 0, kept.stderr
    assert sqs.list_queues()["QueueUrls"] == [url]

    done = opsctl(config, "destroy", "--yes", "--allow-destroy", f"{PREFIX}-jobs")
    assert done.returncode == 0, done.stderr
    assert sqs.list_queues().get("QueueUrls", []) == []
