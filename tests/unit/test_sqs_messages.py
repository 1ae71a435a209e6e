"""A queue that still holds messages is deleted only when named (like a database)."""

from __future__ import annotations

from typing import Any

from opsctl.provision import sqs
from opsctl.provision.plan import Action, Observed
from opsctl.provision.runner import build_plan
from tests.unit.test_provision_resources import ACCOUNT, REGION, TAGS, target


def queue(messages: int) -> Observed:
    attrs: dict[str, Any] = {"visibility_timeout": 30, "retention_seconds": 345_600, "redrive": None, "sns_publishers": []}
    return Observed(attrs=attrs, tags=TAGS, ids={"url": "https://sqs/q", "messages": str(messages)})


def test_message_count_adds_waiting_in_flight_and_delayed() -> None:
    assert sqs.message_count({"ApproximateNumberOfMessages": "2", "ApproximateNumberOfMessagesNotVisible": "1",
                              "ApproximateNumberOfMessagesDelayed": "3"}) == 6
    assert sqs.message_count({"ApproximateNumberOfMessages": "many"}) == 0


def test_destroying_a_queue_with_messages_needs_its_name() -> None:
    t = target({"queues": {}})
    state = sqs.SqsState(queues={"hello-staging-full": queue(5), "hello-staging-empty": queue(0)},
                         account_id=ACCOUNT, region=REGION)
    plan = build_plan(sqs.diff(t, state, destroy=True), destroy=True)
    actions = {c.name: (c.action, c.note) for c in plan.changes}
    assert actions["hello-staging-empty"][0] is Action.DELETE
    action, note = actions["hello-staging-full"]
    assert action is Action.KEEP and note is not None
    assert note.startswith("holds about 5 message(s); stateful: kept unless named with --allow-destroy")
    named = build_plan(sqs.diff(t, state, destroy=True), destroy=True, allow_destroy=["hello-staging-full"])
    assert {c.name: c.action for c in named.changes}["hello-staging-full"] is Action.DELETE
