"""SES: the domain identity with DKIM, and bounce/complaint notifications to an SNS topic that an
SQS queue (see sqs.py) is subscribed to. Read current -> diff -> apply.

SES v1 identities cannot carry tags, so ownership is read and written through SES v2's tagging of
the same identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from opsctl.provision.plan import Action, Change, Observed, diff_observed
from opsctl.provision.session import Aws, aws_errors, error_code
from opsctl.provision.sqs import queue_arn, topic_arn
from opsctl.provision.tags import from_list
from opsctl.provision.target import Target

TOPIC = "sns.topic"
SUBSCRIPTION = "sns.subscription"
IDENTITY = "ses.identity"
KINDS = (TOPIC, SUBSCRIPTION, IDENTITY)


@dataclass
class SesState:
    account_id: str
    region: str
    topic: Observed | None = None
    subscription: Observed | None = None
    identity: Observed | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def identity_arn(region: str, account_id: str, domain: str) -> str:
    return f"arn:aws:ses:{region}:{account_id}:identity/{domain}"


def read(aws: Aws, target: Target) -> SesState:
    state = SesState(account_id=aws.account_id, region=aws.region)
    topic = topic_arn(aws.region, state.account_id, target.feedback_name)
    state.topic = _read_topic(aws, topic)
    if state.topic is not None:
        state.subscription = _read_subscription(
            aws, topic, queue_arn(aws.region, state.account_id, target.feedback_name), state.topic.tags
        )
    if target.ses_domain:
        state.identity = read_identity(aws, target.ses_domain, state.account_id)
    return state


def _read_topic(aws: Aws, arn: str) -> Observed | None:
    with aws_errors(f"SNS topic {arn}", "describe"):
        try:
            aws.sns.get_topic_attributes(TopicArn=arn)
        except ClientError as exc:
            if error_code(exc) in ("NotFound", "NotFoundException"):
                return None
            raise
        tags = aws.sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])
    return Observed(attrs={}, tags=from_list(tags), ids={"arn": arn})  # type: ignore[arg-type]


def _read_subscription(aws: Aws, topic: str, queue: str, topic_tags: dict[str, str]) -> Observed | None:
    with aws_errors(f"subscriptions of SNS topic {topic}", "list"):
        for page in aws.sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
            for sub in page.get("Subscriptions", []):
                if sub.get("Protocol") == "sqs" and sub.get("Endpoint") == queue:
                    # Subscriptions cannot be tagged: they belong to whoever owns the topic.
                    return Observed(
                        attrs={"protocol": "sqs", "endpoint": queue},
                        tags=topic_tags,
                        ids={"arn": sub.get("SubscriptionArn", "")},
                    )
    return None


def read_identity(aws: Aws, domain: str, account_id: str) -> Observed | None:
    with aws_errors(f"SES identity {domain}", "describe"):
        verification = aws.ses.get_identity_verification_attributes(Identities=[domain])[
            "VerificationAttributes"
        ].get(domain)
        if verification is None:
            return None
        dkim_all = aws.ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"]
        dkim: dict[str, Any] = dict(dkim_all.get(domain) or {})
        notes_all = aws.ses.get_identity_notification_attributes(Identities=[domain])
        notes: dict[str, Any] = dict(notes_all["NotificationAttributes"].get(domain) or {})
        try:
            tags = aws.sesv2.list_tags_for_resource(ResourceArn=identity_arn(aws.region, account_id, domain))[
                "Tags"
            ]
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise
            tags = []
    return Observed(
        attrs={
            "dkim_enabled": dkim.get("DkimEnabled"),
            "bounce_topic": notes.get("BounceTopic"),
            "complaint_topic": notes.get("ComplaintTopic"),
            "forwarding_enabled": notes.get("ForwardingEnabled"),
        },
        tags=from_list(tags),
        ids={
            "verification_token": verification.get("VerificationToken", ""),
            "verification_status": verification.get("VerificationStatus", ""),
            "dkim_tokens": ",".join(dkim.get("DkimTokens", [])),
        },
    )


def desired(target: Target, account_id: str, region: str) -> dict[str, dict[str, Any] | None]:
    ses = target.aws.ses
    feedback = ses is not None and ses.feedback
    topic = topic_arn(region, account_id, target.feedback_name)
    return {
        TOPIC: {} if feedback else None,
        SUBSCRIPTION: {"protocol": "sqs", "endpoint": queue_arn(region, account_id, target.feedback_name)}
        if feedback
        else None,
        IDENTITY: {
            "dkim_enabled": True,
            "bounce_topic": topic if feedback else None,
            "complaint_topic": topic if feedback else None,
            # Email forwarding of bounces is only wanted when nothing else receives them.
            "forwarding_enabled": not feedback,
        }
        if ses is not None
        else None,
    }


def diff(
    target: Target, state: SesState, *, destroy: bool = False, pending: Iterable[str] = ()
) -> list[Change]:
    want: dict[str, dict[str, Any] | None] = (
        dict.fromkeys(KINDS) if destroy else desired(target, state.account_id, state.region)
    )
    topic_name = target.feedback_name
    changes = [
        diff_observed(TOPIC, topic_name, desired=want[TOPIC], observed=state.topic, owner=target.owner),
        diff_observed(
            SUBSCRIPTION,
            f"{topic_name} -> sqs:{topic_name}",
            desired=want[SUBSCRIPTION],
            observed=state.subscription,
            owner=target.owner,
        ),
    ]
    if target.ses_domain:
        changes.append(
            diff_observed(
                IDENTITY,
                target.ses_domain,
                desired=want[IDENTITY],
                observed=state.identity,
                owner=target.owner,
                # A destroyed topic takes the notification settings with it; no separate step.
            )
        )
    return changes


def apply(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    if change.kind == TOPIC:
        _apply_topic(aws, target, change)
    elif change.kind == SUBSCRIPTION:
        _apply_subscription(aws, target, change)
    elif change.kind == IDENTITY:
        _apply_identity(aws, target, change, progress)
    else:
        raise ValueError(change.kind)


def _apply_topic(aws: Aws, target: Target, change: Change) -> None:
    name = change.name
    if change.action is Action.CREATE:
        with aws_errors(f"SNS topic {name}", "create"):
            aws.sns.create_topic(Name=name, Tags=target.owner.tag_list())
    elif change.action is Action.DELETE:
        with aws_errors(f"SNS topic {name}", "delete"):
            aws.sns.delete_topic(TopicArn=change.ids["arn"])
    # A topic has no settings opsctl keeps, so there is no update.


def _apply_subscription(aws: Aws, target: Target, change: Change) -> None:
    topic = topic_arn(aws.region, aws.account_id, target.feedback_name)
    if change.action is Action.CREATE:
        with aws_errors(f"SNS subscription {change.name}", "create"):
            aws.sns.subscribe(
                TopicArn=topic,
                Protocol="sqs",
                Endpoint=change.desired["endpoint"],
                Attributes={"RawMessageDelivery": "true"},
                ReturnSubscriptionArn=True,
            )
    elif change.action is Action.DELETE:
        with aws_errors(f"SNS subscription {change.name}", "delete"):
            aws.sns.unsubscribe(SubscriptionArn=change.ids["arn"])


def _apply_identity(aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
    domain = change.name
    if change.action is Action.DELETE:
        with aws_errors(f"SES identity {domain}", "delete"):
            aws.ses.delete_identity(Identity=domain)
        return
    changed: dict[str, Any]
    if change.action is Action.CREATE:
        with aws_errors(f"SES identity {domain}", "create"):
            aws.ses.verify_domain_identity(Domain=domain)
            aws.ses.verify_domain_dkim(Domain=domain)
            aws.sesv2.tag_resource(
                ResourceArn=identity_arn(aws.region, aws.account_id, domain), Tags=target.owner.tag_list()
            )
        progress(f"SES identity {domain}: verification and DKIM records go into Route53 (route53.record)")
        # verify_domain_dkim turns DKIM signing on; the remaining settings are the notifications.
        changed = {k: v for k, v in change.desired.items() if k != "dkim_enabled"}
    else:
        changed = {a.name: a.new for a in change.attrs}
    forwarding = changed.get("forwarding_enabled")
    with aws_errors(f"SES identity {domain}", "update"):
        if changed.get("dkim_enabled") is not None:
            aws.ses.set_identity_dkim_enabled(Identity=domain, DkimEnabled=bool(changed["dkim_enabled"]))
        # SES refuses forwarding off while a topic is missing: turn it on before removing topics,
        # off only after setting them.
        if forwarding is True:
            aws.ses.set_identity_feedback_forwarding_enabled(Identity=domain, ForwardingEnabled=True)
        kinds: tuple[tuple[str, Literal["Bounce", "Complaint"]], ...] = (
            ("bounce_topic", "Bounce"),
            ("complaint_topic", "Complaint"),
        )
        for key, kind in kinds:
            if key not in changed:
                continue
            if changed[key]:
                aws.ses.set_identity_notification_topic(
                    Identity=domain, NotificationType=kind, SnsTopic=changed[key]
                )
            else:
                aws.ses.set_identity_notification_topic(Identity=domain, NotificationType=kind)
        if forwarding is False:
            aws.ses.set_identity_feedback_forwarding_enabled(Identity=domain, ForwardingEnabled=False)
