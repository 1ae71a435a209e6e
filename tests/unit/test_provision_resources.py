"""Each resource module's desired state and diff, table-driven: fake current state in, changes out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from opsctl.config.aws_models import AwsConfig
from opsctl.provision import elb, rds, route53, ses, sqs
from opsctl.provision.plan import UNKNOWN, Action, Change, Observed
from opsctl.provision.tags import Owner
from opsctl.provision.target import Target

OWNER = Owner("hello", "staging")
TAGS = OWNER.tags()
ACCOUNT, REGION = "123456789012", "us-east-1"


def target(aws: dict[str, Any], env: str = "staging", health: str = "/up") -> Target:
    return Target(Owner("hello", env), AwsConfig.model_validate(aws), health)


def actions(changes: list[Change]) -> dict[str, Action]:
    return {f"{c.kind} {c.name}": c.action for c in changes if not c.absent}


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("aws", "fragment"),
    [
        ({"rds": {"instance_clas": "db.t3.micro"}}, "instance_clas"),
        ({"queues": {"jobs": {"visibilty_timeout": 3}}}, "visibilty_timeout"),
        ({"queues": {"jobs-dlq": {}}}, "-dlq"),
        ({"ses": {}}, "needs a domain"),
        ({"load_balancer": {"name": "x" * 33}}, "at most 32"),
        ({"dns": {"zone": "example.com", "records": [{"name": "a", "type": "A", "values": []}]}}, "values"),
    ],
)
def test_config_mistakes_are_errors(aws: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        AwsConfig.model_validate(aws)


# --- RDS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "multi_az", "expected"),
    [
        ("production", None, True),
        ("staging", None, False),
        ("staging", True, True),
        ("production", False, False),
    ],
)
def test_multi_az_defaults_on_in_production(env: str, multi_az: bool | None, expected: bool) -> None:
    want = rds.desired_instance(target({"rds": {"multi_az": multi_az}}, env=env))
    assert want is not None and want["multi_az"] is expected


def _db(**over: Any) -> Observed:
    want = rds.desired_instance(target({"rds": {}}))
    assert want is not None
    return Observed(attrs={**want, **over}, tags=TAGS)


RDS_CASES = [
    ("matches", _db(), {}, Action.NOOP),
    ("minor version picked by AWS", _db(engine_version="16.3"), {"engine_version": "16"}, Action.NOOP),
    ("storage grown in config", _db(), {"allocated_storage": 50}, Action.UPDATE),
    ("db_name cannot change: refused", _db(db_name="other"), {}, Action.CONFLICT),
    ("untagged instance of that name", Observed(attrs={}, tags={}), {}, Action.CONFLICT),
]


@pytest.mark.parametrize(("label", "current", "config", "expected"), RDS_CASES, ids=[c[0] for c in RDS_CASES])
def test_rds_instance_diff(label: str, current: Observed, config: dict[str, Any], expected: Action) -> None:
    from opsctl.provision.runner import build_plan

    state = rds.RdsState(subnet_group=None, instance=current, default_subnets=["subnet-a", "subnet-b"])
    changes = build_plan(rds.diff(target({"rds": config}), state), destroy=False).changes
    assert actions(changes)["rds.instance hello-staging"] is expected


def test_rds_subnet_group_uses_default_vpc_subnets_unless_given() -> None:
    state = rds.RdsState(subnet_group=None, instance=None, default_subnets=["subnet-b", "subnet-a"])
    [group, _] = rds.diff(target({"rds": {}}), state)
    assert group.desired == {"subnet_ids": ["subnet-a", "subnet-b"]}
    [group, _] = rds.diff(target({"rds": {"subnet_ids": ["subnet-x", "subnet-y"]}}), state)
    assert group.desired == {"subnet_ids": ["subnet-x", "subnet-y"]}


def test_rds_removed_from_config_is_kept_not_deleted() -> None:
    from opsctl.provision.runner import build_plan

    state = rds.RdsState(subnet_group=None, instance=_db(), default_subnets=[])
    [change] = build_plan(rds.diff(target({}), state), destroy=False).changes
    assert change.action is Action.KEEP


# --- SQS ------------------------------------------------------------------------------------


def test_queue_attrs_from_aws() -> None:
    raw = {
        "VisibilityTimeout": "45",
        "MessageRetentionPeriod": "600",
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q-dlq", "maxReceiveCount": "3"}
        ),
        "Policy": json.dumps(
            {"Statement": {"Effect": "Allow", "Condition": {"ArnEquals": {"aws:SourceArn": "arn:topic"}}}}
        ),
    }
    assert sqs.queue_attrs(raw) == {
        "visibility_timeout": 45,
        "retention_seconds": 600,
        "redrive": {"dead_letter_queue": "q-dlq", "max_receive_count": 3},
        "sns_publishers": ["arn:topic"],
    }


def test_desired_queues_include_dlqs_and_the_ses_feedback_queue() -> None:
    t = target({"queues": {"jobs": {}, "mail": {"dead_letter": None}}, "ses": {"domain": "example.com"}})
    want = sqs.desired(t, ACCOUNT, REGION)
    assert sorted(want) == [
        "hello-staging-jobs",
        "hello-staging-jobs-dlq",
        "hello-staging-mail",
        "hello-staging-ses-feedback",
    ]
    assert want["hello-staging-jobs"][1]["redrive"] == {
        "dead_letter_queue": "hello-staging-jobs-dlq",
        "max_receive_count": 5,
    }
    assert want["hello-staging-jobs-dlq"][0] == sqs.DEAD_LETTER_QUEUE
    assert want["hello-staging-mail"][1]["redrive"] is None
    assert want["hello-staging-ses-feedback"][1]["sns_publishers"] == [
        f"arn:aws:sns:{REGION}:{ACCOUNT}:hello-staging-ses-feedback"
    ]


def _queue(name: str, tags: dict[str, str], visibility: int = 30) -> Observed:
    return Observed(
        attrs={
            "visibility_timeout": visibility,
            "retention_seconds": 345_600,
            "redrive": None,
            "sns_publishers": [],
        },
        tags=tags,
        ids={"url": f"https://sqs/{name}"},
    )


def test_sqs_diff_drift_removal_and_foreign_queues() -> None:
    t = target({"queues": {"jobs": {"dead_letter": None}}})
    state = sqs.SqsState(
        queues={
            "hello-staging-jobs": _queue("hello-staging-jobs", TAGS, visibility=99),
            "hello-staging-old": _queue("hello-staging-old", TAGS),
            # Same prefix, someone else's (another environment named staging-x, or by hand).
            "hello-staging-x-jobs": _queue("hello-staging-x-jobs", {**TAGS, "env": "staging-x"}),
            "hello-staging-manual": _queue("hello-staging-manual", {}),
        },
        account_id=ACCOUNT,
        region=REGION,
    )
    changes = sqs.diff(t, state)
    assert actions(changes) == {
        "sqs.queue hello-staging-jobs": Action.UPDATE,
        "sqs.queue hello-staging-old": Action.DELETE,
    }
    [update] = [c for c in changes if c.action is Action.UPDATE]
    assert [(a.name, a.old, a.new) for a in update.attrs] == [("visibility_timeout", 99, 30)]
    destroyed = actions(sqs.diff(t, state, destroy=True))
    assert destroyed == {
        "sqs.queue hello-staging-jobs": Action.DELETE,
        "sqs.queue hello-staging-old": Action.DELETE,
    }


# --- SES ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("feedback", "topic", "forwarding"), [(True, True, False), (False, False, True)])
def test_ses_identity_notifications(feedback: bool, topic: bool, forwarding: bool) -> None:
    want = ses.desired(target({"ses": {"domain": "example.com", "feedback": feedback}}), ACCOUNT, REGION)
    identity = want[ses.IDENTITY]
    assert identity is not None and identity["dkim_enabled"] is True
    assert (identity["bounce_topic"] is not None) is topic
    assert identity["complaint_topic"] == identity["bounce_topic"]
    assert identity["forwarding_enabled"] is forwarding
    assert (want[ses.TOPIC] is not None) is topic


def test_ses_dkim_turned_off_by_hand_is_drift() -> None:
    t = target({"ses": {"domain": "example.com", "feedback": False}})
    identity = Observed(
        attrs={
            "dkim_enabled": False,
            "bounce_topic": None,
            "complaint_topic": None,
            "forwarding_enabled": True,
        },
        tags=TAGS,
    )
    state = ses.SesState(account_id=ACCOUNT, region=REGION, identity=identity)
    [change] = [c for c in ses.diff(t, state) if not c.absent]
    assert change.action is Action.UPDATE
    assert [(a.name, a.old, a.new) for a in change.attrs] == [("dkim_enabled", False, True)]


# --- ELBv2 ----------------------------------------------------------------------------------


def test_health_check_path_is_the_web_service_path() -> None:
    want = elb.desired(target({"load_balancer": {}}, health="/ping"), "vpc-1", ["s1", "s2"])
    assert want[elb.TARGET_GROUP]["health_check_path"] == "/ping"
    assert want["80"] == {"protocol": "HTTP", "default_action": "forward hello-staging-web"}
    assert "443" not in want


def test_certificate_adds_https_and_http_redirects() -> None:
    want = elb.desired(target({"load_balancer": {"certificate_arn": "arn:cert"}}), "vpc-1", ["s1", "s2"])
    assert want["80"]["default_action"] == "redirect HTTPS:443"
    assert want["443"]["default_action"] == "forward hello-staging-web"
    assert want["443"]["certificate_arn"] == "arn:cert"


@pytest.mark.parametrize(
    ("actions_", "summary"),
    [
        (
            [
                {
                    "Type": "forward",
                    "TargetGroupArn": "arn:aws:elasticloadbalancing:r:a:targetgroup/tg-web/abc",
                }
            ],
            "forward tg-web",
        ),
        (
            [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443"}}],
            "redirect HTTPS:443",
        ),
        ([{"Type": "fixed-response"}], "fixed-response"),
    ],
)
def test_describe_actions(actions_: list[dict[str, Any]], summary: str) -> None:
    assert elb.describe_actions(actions_) == summary


def _elb_state(tg_port: int) -> elb.ElbState:
    t = target({"load_balancer": {}})
    want = elb.desired(t, "vpc-1", ["s1", "s2"])
    return elb.ElbState(
        load_balancer=Observed(attrs=dict(want[elb.LOAD_BALANCER]), tags=TAGS, ids={"arn": "lb"}),
        target_group=Observed(
            attrs={**want[elb.TARGET_GROUP], "port": tg_port}, tags=TAGS, ids={"arn": "tg"}
        ),
        listeners={
            80: Observed(
                attrs={**want["80"], "certificate_arn": None, "ssl_policy": None},
                tags=TAGS,
                ids={"arn": "l80"},
            )
        },
        vpc_id="vpc-1",
        default_subnets=["s1", "s2"],
    )


def test_elb_in_sync_and_target_group_replacement_carries_the_listener() -> None:
    t = target({"load_balancer": {}})
    assert set(actions(elb.diff(t, _elb_state(80))).values()) == {Action.NOOP}
    changed = actions(elb.diff(t, _elb_state(8080)))
    assert changed == {
        "elb.target_group hello-staging-web": Action.REPLACE,
        "elb.load_balancer hello-staging": Action.NOOP,
        "elb.listener hello-staging:80": Action.UPDATE,
    }


# --- Route53 --------------------------------------------------------------------------------

DNS = {"dns": {"zone": "example.com", "records": [{"name": "@", "type": "TXT", "values": ["v=spf1 -all"]}]}}
LB = Observed(attrs={}, tags=TAGS, ids={"dns_name": "LB-1.elb.amazonaws.com", "zone_id": "Z1"})
IDENTITY = Observed(attrs={}, tags=TAGS, ids={"verification_token": "tok", "dkim_tokens": "a,b,c"})


def test_record_groups_when_everything_exists() -> None:
    t = target({**DNS, "ses": {}, "load_balancer": {}})
    groups = {g.name: g.wanted for g in route53.record_groups(t, LB, IDENTITY)}
    assert groups == {
        "hello.example.com A": {("hello.example.com", "A"): {"alias": "lb-1.elb.amazonaws.com"}},
        "_amazonses.example.com TXT": {("_amazonses.example.com", "TXT"): {"ttl": 1800, "values": ['"tok"']}},
        "example.com DKIM": {
            (f"{x}._domainkey.example.com", "CNAME"): {"ttl": 1800, "values": [f"{x}.dkim.amazonses.com"]}
            for x in "abc"
        },
        "example.com TXT": {("example.com", "TXT"): {"ttl": 300, "values": ['"v=spf1 -all"']}},
    }


def test_record_values_unknown_until_their_resources_exist() -> None:
    t = target({**DNS, "ses": {}, "load_balancer": {}})
    pending = {elb.LOAD_BALANCER, ses.IDENTITY}
    groups = {g.name: g.wanted for g in route53.record_groups(t, LB, IDENTITY, pending)}
    assert groups["hello.example.com A"] == {("hello.example.com", "A"): {"alias": UNKNOWN}}
    assert groups["_amazonses.example.com TXT"] == {
        ("_amazonses.example.com", "TXT"): {"ttl": 1800, "values": UNKNOWN}
    }


def test_ses_records_only_when_the_domain_is_in_the_zone() -> None:
    t = target({**DNS, "ses": {"domain": "mail.other.org"}})
    assert [g.name for g in route53.record_groups(t, None, IDENTITY)] == ["example.com TXT"]


def _rr(name: str, rtype: str, value: str, ttl: int = 300) -> dict[str, Any]:
    return {"Name": name, "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": value}]}


def test_route53_diff_in_an_owned_zone() -> None:
    t = target(
        {
            "dns": {
                "zone": "example.com",
                "records": [{"name": "www", "type": "CNAME", "values": ["x.example.com"]}],
            }
        }
    )
    state = route53.Route53State(
        zone=Observed(attrs={}, tags=TAGS, ids={"id": "Z"}),
        records=[
            _rr("www.example.com", "CNAME", "old.example.com"),
            _rr("other.example.com", "A", "1.2.3.4"),
        ],
    )
    changes = route53.diff(t, state)
    assert actions(changes) == {
        "route53.zone example.com": Action.NOOP,
        "route53.record www.example.com CNAME": Action.UPDATE,
    }
    [update] = [c for c in changes if c.action is Action.UPDATE]
    assert [(a.name, a.old, a.new) for a in update.attrs] == [
        ("values", ["old.example.com"], ["x.example.com"])
    ]


def test_route53_never_touches_records_in_a_zone_it_does_not_own() -> None:
    t = target(
        {"dns": {"zone": "example.com", "records": [{"name": "www", "type": "A", "values": ["1.1.1.1"]}]}}
    )
    state = route53.Route53State(zone=Observed(attrs={}, tags={}, ids={"id": "Z"}), records=[])
    assert set(actions(route53.diff(t, state)).values()) == {Action.CONFLICT}
    assert set(actions(route53.diff(t, state, destroy=True)).values()) == {Action.NOOP}
