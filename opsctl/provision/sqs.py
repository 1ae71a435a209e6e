"""SQS: the configured queues, their dead-letter queues, and the SES feedback queue.

Read current -> diff -> apply. Queues are found by the `<app>-<env>-` name prefix and owned by
their tags, so a queue removed from config shows as a delete. A queue that still holds messages
is stateful: deleting it (destroy, or removal from config) needs `--allow-destroy NAME`, like a
database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from opsctl.provision.plan import Action, Change, Observed, diff_observed
from opsctl.provision.session import Aws, aws_errors, error_code
from opsctl.provision.tags import Ownership
from opsctl.provision.target import Target

QUEUE = "sqs.queue"
DEAD_LETTER_QUEUE = "sqs.dead_letter_queue"
KINDS = (DEAD_LETTER_QUEUE, QUEUE)

FEEDBACK_VISIBILITY_TIMEOUT = 30
FEEDBACK_RETENTION = 1_209_600

_ATTRIBUTE = {"visibility_timeout": "VisibilityTimeout", "retention_seconds": "MessageRetentionPeriod"}


@dataclass
class SqsState:
    queues: dict[str, Observed]  # by name
    account_id: str
    region: str


def read(aws: Aws, target: Target) -> SqsState:
    prefix = f"{target.owner.prefix}-"
    queues: dict[str, Observed] = {}
    with aws_errors(f"SQS queues named {prefix}*", "list"):
        urls: list[str] = []
        for page in aws.sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
            urls.extend(page.get("QueueUrls", []))
    for url in urls:
        observed = _read_queue(aws, url)
        if observed is not None:
            queues[url.rstrip("/").rsplit("/", 1)[-1]] = observed
    return SqsState(queues=queues, account_id=aws.account_id, region=aws.region)


def _read_queue(aws: Aws, url: str) -> Observed | None:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    with aws_errors(f"SQS queue {name}", "describe"):
        try:
            attrs = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            tags = aws.sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        except ClientError as exc:
            # Listed a moment ago, deleted since (or still in SQS's 60 s deletion window).
            if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise
    return Observed(
        attrs=queue_attrs({str(k): v for k, v in attrs.items()}),
        tags=dict(tags),
        ids={"url": url, "arn": attrs.get("QueueArn", ""),
             "messages": str(message_count({str(k): v for k, v in attrs.items()}))},
    )


MESSAGE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed")


def message_count(raw: Mapping[str, str]) -> int:
    """Messages a queue still holds: waiting, in flight, or delayed (SQS's approximate counts)."""
    total = 0
    for key in MESSAGE_COUNTS:
        try:
            total += int(raw.get(key, 0))
        except (TypeError, ValueError):
            continue
    return total


def queue_attrs(raw: dict[str, str]) -> dict[str, Any]:
    """The attributes opsctl compares, from what GetQueueAttributes returns."""
    redrive: dict[str, Any] | None = None
    if raw.get("RedrivePolicy"):
        policy = json.loads(raw["RedrivePolicy"])
        redrive = {
            "dead_letter_queue": str(policy["deadLetterTargetArn"]).rsplit(":", 1)[-1],
            "max_receive_count": int(policy["maxReceiveCount"]),
        }
    return {
        "visibility_timeout": int(raw.get("VisibilityTimeout", 30)),
        "retention_seconds": int(raw.get("MessageRetentionPeriod", 345_600)),
        "redrive": redrive,
        "sns_publishers": sns_publishers(raw.get("Policy")),
    }


def sns_publishers(policy_json: str | None) -> list[str]:
    """SNS topic ARNs the queue policy lets send messages (what a topic subscription needs)."""
    if not policy_json:
        return []
    statements = json.loads(policy_json).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    arns: list[str] = []
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        source = st.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn")
        if isinstance(source, str):
            arns.append(source)
        elif isinstance(source, list):
            arns.extend(source)
    return sorted(arns)


def topic_arn(state_region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{state_region}:{account_id}:{name}"


def desired(target: Target, account_id: str, region: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Queue name -> (kind, attributes) of every queue the config asks for."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, queue in target.aws.queues.items():
        redrive = None
        if queue.dead_letter is not None:
            dlq = target.dlq_name(key)
            out[dlq] = (
                DEAD_LETTER_QUEUE,
                {
                    "visibility_timeout": queue.dead_letter.visibility_timeout,
                    "retention_seconds": queue.dead_letter.retention_seconds,
                    "redrive": None,
                    "sns_publishers": [],
                },
            )
            redrive = {"dead_letter_queue": dlq, "max_receive_count": queue.dead_letter.max_receive_count}
        out[target.queue_name(key)] = (
            QUEUE,
            {
                "visibility_timeout": queue.visibility_timeout,
                "retention_seconds": queue.retention_seconds,
                "redrive": redrive,
                "sns_publishers": [],
            },
        )
    if target.aws.ses is not None and target.aws.ses.feedback:
        name = target.feedback_name
        out[name] = (
            QUEUE,
            {
                "visibility_timeout": FEEDBACK_VISIBILITY_TIMEOUT,
                "retention_seconds": FEEDBACK_RETENTION,
                "redrive": None,
                "sns_publishers": [topic_arn(region, account_id, name)],
            },
        )
    return out


def diff(
    target: Target, state: SqsState, *, destroy: bool = False, pending: Iterable[str] = ()
) -> list[Change]:
    want = {} if destroy else desired(target, state.account_id, state.region)
    changes = []
    for name, (kind, attrs) in want.items():
        changes.append(
            diff_observed(kind, name, desired=attrs, observed=state.queues.get(name), owner=target.owner)
        )
    for name in sorted(set(state.queues) - set(want)):
        observed = state.queues[name]
        if target.owner.ownership(observed.tags) is not Ownership.OURS:
            # Shares our prefix but is someone else's (another env named like ours): not ours to list.
            continue
        kind = DEAD_LETTER_QUEUE if name.endswith("-dlq") else QUEUE
        changes.append(diff_observed(kind, name, desired=None, observed=observed, owner=target.owner))
    return [_holding_messages(c, state.queues.get(c.name)) for c in changes]


def _holding_messages(change: Change, observed: Observed | None) -> Change:
    """A delete of a queue with messages in it loses them: treat it as stateful (see guard_stateful)."""
    held = int((observed.ids.get("messages") if observed else None) or 0)
    if change.action is Action.DELETE and held > 0:
        change.stateful = True
        change.note = f"holds about {held} message(s)"
    return change


def _aws_attributes(target_region: str, account_id: str, name: str, attrs: dict[str, Any]) -> dict[str, str]:
    out = {_ATTRIBUTE[k]: str(attrs[k]) for k in _ATTRIBUTE if k in attrs}
    if "redrive" in attrs:
        redrive = attrs["redrive"]
        out["RedrivePolicy"] = (
            json.dumps(
                {
                    "deadLetterTargetArn": f"arn:aws:sqs:{target_region}:{account_id}:{redrive['dead_letter_queue']}",
                    "maxReceiveCount": redrive["max_receive_count"],
                }
            )
            if redrive
            else ""
        )
    if "sns_publishers" in attrs:
        out["Policy"] = _policy(target_region, account_id, name, attrs["sns_publishers"])
    return out


def _policy(region: str, account_id: str, name: str, topics: list[str]) -> str:
    if not topics:
        return ""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "opsctl-sns",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:{region}:{account_id}:{name}",
                    "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
                }
            ],
        }
    )


def apply(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    name = change.name
    account = aws.account_id
    if change.action is Action.CREATE:
        attributes = {
            k: v for k, v in _aws_attributes(aws.region, account, name, change.desired).items() if v
        }
        with aws_errors(f"SQS queue {name}", "create"):
            aws.sqs.create_queue(QueueName=name, Attributes=attributes, tags=target.owner.tags())  # type: ignore[arg-type]
    elif change.action is Action.UPDATE:
        changed = {a.name: a.new for a in change.attrs}
        with aws_errors(f"SQS queue {name}", "update"):
            aws.sqs.set_queue_attributes(
                QueueUrl=change.ids["url"],
                Attributes=_aws_attributes(aws.region, account, name, changed),  # type: ignore[arg-type]
            )
    elif change.action is Action.DELETE:
        with aws_errors(f"SQS queue {name}", "delete"):
            aws.sqs.delete_queue(QueueUrl=change.ids["url"])
    else:
        raise ValueError(f"sqs cannot {change.action}")


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"
