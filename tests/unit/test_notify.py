"""Webhooks: a real HTTP server on 127.0.0.1 receives what opsctl posts (tests/webhook_receiver.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from opsctl import notify
from opsctl.config.models import Webhook
from tests.webhook_receiver import Receiver, slack_problems


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def failed_deploy(error: str = "lab2: Swap containers: web did not pass its health check") -> notify.Event:
    return notify.Event(
        name="deploy.failure", app="hello", env="lab", version="vbad", previous_version="v1", release=4,
        who="ci@runner", duration=12.34, hosts=["lab1", "lab2", "lab3"], failed_hosts=["lab2"], error=error,
        message="ship it <!channel> & *bold*", fleet_state="all hosts on #3 (v1)",
    )


def test_slack_payload_has_text_blocks_and_every_fact() -> None:
    payload = notify.slack_payload(failed_deploy())
    assert slack_problems(payload) == []
    text = json.dumps(payload, ensure_ascii=False)
    for fact in ("hello", "lab", "vbad", "v1", "#4", "ci@runner", "12.3s", "lab1, lab2, lab3", "❌",
                 "*Failed host(s):* lab2", "did not pass its health check"):
        assert fact in text, fact
    # Outside text cannot mention @channel or make links: Slack's control characters are escaped.
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text


def test_slack_payload_stays_within_slack_limits_for_huge_inputs() -> None:
    event = failed_deploy(error="E" * 20000 + " the cause at the end")
    event.message = "m" * 10000
    event.version = "v" * 120
    event.hosts = [f"host{i}" for i in range(2000)]
    payload = notify.slack_payload(event)
    assert slack_problems(payload) == []
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    reason = next(t for t in texts if t.startswith("*Reason:*"))
    assert reason.endswith("the cause at the end```") and len(reason) <= 3000


@pytest.mark.parametrize("name", notify.EVENTS)
def test_every_event_makes_a_valid_slack_payload(name: str) -> None:
    event = notify.Event(name=name, app="hello", env="lab", version="v2", who="me", detail="took the lock")
    assert slack_problems(notify.slack_payload(event)) == []


def test_formats_and_event_choice(receiver: Receiver) -> None:
    base = receiver.base
    hooks = [
        Webhook(url=f"{base}/slack/T000/B000/XXXX", format="slack", events=["failure"]),
        Webhook(url=f"{base}/json/a", events=["deploy", "failure"]),
        Webhook(url=f"{base}/text/a", format="text", events=["all"]),
        Webhook(url=f"{base}/json/b", events=["rollback"]),
    ]
    assert notify.send(hooks, failed_deploy()) == []
    assert sorted(r.path for r in receiver.received) == ["/json/a", "/slack/T000/B000/XXXX", "/text/a"]
    assert all(r.status == 200 for r in receiver.received)
    data = receiver.on("/json/a")[0].json()
    assert data["event"] == "deploy.failure" and data["ok"] is False and data["failed_hosts"] == ["lab2"]
    text = receiver.on("/text/a")[0]
    assert text.content_type.startswith("text/plain")
    assert text.body.decode().startswith("❌ hello/lab: deploy of vbad failed, release #4, by ci@runner")


def test_slack_is_the_default_format_for_slack_urls() -> None:
    assert notify.format_of(Webhook(url="https://hooks.slack.com/services/T/B/x")) == "slack"
    assert notify.format_of(Webhook(url="https://example.com/hook")) == "json"


def test_a_failed_delivery_warns_once_without_credentials(receiver: Receiver,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    port = receiver.server.server_address[1]
    secret_hooks = [
        Webhook(url=f"http://bob:hunter2@127.0.0.1:{port}/fail/T0/B0/slacksecret?token=tok123"),
        Webhook(url="http://user:pw999@127.0.0.1:9/services/T1/B1/othersecret"),
    ]
    failed = notify.send(secret_hooks, notify.Event(name="deploy", app="hello"))
    assert failed == [h.url for h in secret_hooks]
    err = capsys.readouterr().err
    assert err.count("warning:") == 2
    assert f"webhook http://127.0.0.1:{port} (deploy) failed: HTTP 500" in err
    # The receiver's answer is shown as data: Rich markup in it is not interpreted.
    assert "[bold]server[/bold] exploded" in err
    for secret in ("bob", "hunter2", "slacksecret", "tok123", "pw999", "othersecret", "/services", "T0"):
        assert secret not in err


def test_deliveries_run_at_once_under_one_deadline(receiver: Receiver, capsys: pytest.CaptureFixture[str]) -> None:
    hooks = [Webhook(url=f"{receiver.base}/slow/{i}") for i in range(4)] + [Webhook(url=f"{receiver.base}/json/x")]
    started = time.monotonic()
    failed = notify.send(hooks, notify.Event(name="deploy", app="hello"), deadline=1.0)
    took = time.monotonic() - started
    assert took < 2.0, took
    assert len(failed) == 4 and receiver.on("/json/x")
    assert capsys.readouterr().err.count("warning:") == 4


def test_scrub_removes_every_part_of_the_url() -> None:
    url = "https://u:p%40ss@hooks.example.com/services/T/B/s3cr3t?token=abc"
    text = f"error at {url} (path /services/T/B/s3cr3t, token=abc, pw p@ss)"
    cleaned = notify.scrub(text, url)
    assert "s3cr3t" not in cleaned and "abc" not in cleaned and "p@ss" not in cleaned
    assert notify.where(url) == "https://hooks.example.com"


def test_health_alerts_go_where_failures_go() -> None:
    from opsctl.config.models import Webhook

    failures = Webhook(url="http://127.0.0.1:1/hook", events=["failure"])
    deploys = Webhook(url="http://127.0.0.1:1/hook", events=["deploy"])
    assert notify.wants(failures, "health") and not notify.wants(deploys, "health")
    event = notify.Event(name="health", app="shop", env="prod", title="shop/prod: DOWN: lab2 ingress (refused)",
                         detail="still wrong: lab2 ingress")
    assert notify.json_payload(event)["title"] == event.title
    assert notify.json_payload(event)["ok"] is True  # no status: not a failure
    down = notify.Event(name="health", app="shop", env="prod", title="t", detail="d", status="down")
    assert notify.json_payload(down)["ok"] is False and notify.json_payload(down)["event"] == "health"
    assert "DOWN: lab2 ingress" in notify.text_payload(event) and "still wrong" in notify.text_payload(event)
