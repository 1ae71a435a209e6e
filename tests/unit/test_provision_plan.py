"""The shared diff logic, stateful guard and dependency order of `opsctl provision` (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from opsctl.errors import OpsctlError
from opsctl.provision.order import DEPENDS_ON, apply_order, kind_order
from opsctl.provision.plan import (
    UNKNOWN,
    Action,
    AttrChange,
    Change,
    diff_attrs,
    diff_resource,
    guard_stateful,
)
from opsctl.provision.runner import build_plan, check_applicable

CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None, bool, Action, list[AttrChange]]] = [
    ("missing -> create", {"a": 1}, None, True, Action.CREATE, [AttrChange("a", None, 1)]),
    ("same -> no change", {"a": 1}, {"a": 1, "extra": "ignored"}, True, Action.NOOP, []),
    ("differs -> update", {"a": 2, "b": 1}, {"a": 1, "b": 1}, True, Action.UPDATE, [AttrChange("a", 1, 2)]),
    (
        "forcing attr -> replace",
        {"fixed": "y"},
        {"fixed": "x"},
        True,
        Action.REPLACE,
        [AttrChange("fixed", "x", "y")],
    ),
    ("unwanted -> delete", None, {"a": 1}, True, Action.DELETE, [AttrChange("a", 1, None)]),
    ("foreign, wanted -> conflict", {"a": 1}, {"a": 1}, False, Action.CONFLICT, []),
    ("foreign, unwanted -> left alone", None, {"a": 1}, False, Action.NOOP, []),
    ("neither -> nothing", None, None, True, Action.NOOP, []),
    ("list order is not a change", {"l": ["b", "a"]}, {"l": ["a", "b"]}, True, Action.NOOP, []),
    (
        "unknown value is a change",
        {"a": UNKNOWN},
        {"a": "x"},
        True,
        Action.UPDATE,
        [AttrChange("a", "x", UNKNOWN)],
    ),
]


@pytest.mark.parametrize(
    ("label", "desired", "current", "owned", "action", "attrs"), CASES, ids=[c[0] for c in CASES]
)
def test_diff_resource(
    label: str,
    desired: dict[str, Any] | None,
    current: dict[str, Any] | None,
    owned: bool,
    action: Action,
    attrs: list[AttrChange],
) -> None:
    change = diff_resource("k", "n", desired=desired, current=current, owned=owned, replace_on=("fixed",))
    assert change.action is action
    assert change.attrs == attrs


def test_conflict_says_why() -> None:
    change = diff_resource(
        "k", "n", desired={}, current={}, owned=False, foreign_reason="not tagged managed-by=opsctl"
    )
    assert change.note is not None and "not tagged managed-by=opsctl" in change.note


def test_diff_attrs_compares_only_desired_keys_in_desired_order() -> None:
    assert diff_attrs({"x": 1, "y": 2, "aws_only": 3}, {"y": 5, "x": 4}) == [
        AttrChange("y", 2, 5),
        AttrChange("x", 1, 4),
    ]


GUARD = [
    # action, stateful, destroy, allowed, expected
    (Action.DELETE, False, False, [], Action.DELETE),
    (Action.DELETE, True, False, [], Action.KEEP),
    (Action.DELETE, True, True, [], Action.KEEP),
    (Action.DELETE, True, True, ["db"], Action.DELETE),
    (Action.REPLACE, True, False, [], Action.CONFLICT),
    (Action.REPLACE, False, False, [], Action.REPLACE),
    (Action.UPDATE, True, False, [], Action.UPDATE),
]


@pytest.mark.parametrize(("action", "stateful", "destroy", "allowed", "expected"), GUARD)
def test_guard_stateful(
    action: Action, stateful: bool, destroy: bool, allowed: list[str], expected: Action
) -> None:
    change = Change("rds.instance", "db", action, stateful=stateful)
    assert guard_stateful(change, destroy=destroy, allowed=allowed).action is expected


def test_kept_resource_says_how_to_destroy_it() -> None:
    change = guard_stateful(
        Change("rds.instance", "db", Action.DELETE, stateful=True), destroy=False, allowed=[]
    )
    assert change.note is not None and "--allow-destroy db" in change.note


def test_kind_order_respects_every_dependency() -> None:
    order = kind_order()
    assert sorted(order) == sorted(DEPENDS_ON)
    for kind, deps in DEPENDS_ON.items():
        for dep in deps:
            assert order.index(dep) < order.index(kind), (dep, kind)


def test_kind_order_finds_cycles_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="cycle"):
        kind_order({"a": ("b",), "b": ("a",)})
    with pytest.raises(ValueError, match="unknown"):
        kind_order({"a": ("nope",)})


def test_apply_order_forwards_then_deletes_backwards() -> None:
    changes = [
        Change("route53.record", "alias", Action.CREATE),
        Change("sqs.dead_letter_queue", "old-dlq", Action.DELETE),
        Change("elb.listener", "l", Action.UPDATE),
        Change("sqs.queue", "old", Action.DELETE),
        Change("elb.load_balancer", "lb", Action.CREATE),
        Change("sqs.queue", "same", Action.NOOP),
        Change("rds.subnet_group", "g", Action.CREATE),
        Change("rds.instance", "db", Action.CREATE),
    ]
    assert [c.name for c in apply_order(changes)] == ["g", "db", "lb", "l", "alias", "old", "old-dlq"]


def test_destroy_plan_is_shown_in_reverse_dependency_order() -> None:
    plan = build_plan(
        [
            Change("rds.subnet_group", "g", Action.DELETE),
            Change("rds.instance", "db", Action.DELETE, stateful=True),
            Change("route53.record", "r", Action.DELETE),
        ],
        destroy=True,
        allow_destroy=["db"],
    )
    assert [c.name for c in plan.changes] == ["r", "db", "g"]
    check_applicable(plan)


def test_destroy_refuses_unnamed_stateful_resources() -> None:
    plan = build_plan([Change("rds.instance", "db", Action.DELETE, stateful=True)], destroy=True)
    with pytest.raises(OpsctlError) as err:
        check_applicable(plan)
    assert err.value.hint is not None and "--allow-destroy db" in err.value.hint


def test_conflicts_block_the_whole_plan() -> None:
    plan = build_plan(
        [Change("sqs.queue", "q", Action.CREATE), Change("sqs.queue", "taken", Action.CONFLICT, note="x")],
        destroy=False,
    )
    with pytest.raises(OpsctlError, match="taken"):
        check_applicable(plan)


def test_plan_summary_and_json() -> None:
    plan = build_plan(
        [
            Change("sqs.queue", "a", Action.UPDATE, [AttrChange("visibility_timeout", 30, 60)]),
            Change("sqs.queue", "b", Action.NOOP),
            Change("route53.record", "r", Action.CREATE, [AttrChange("alias", None, UNKNOWN)]),
            Change("sqs.queue", "never", Action.NOOP, absent=True),
        ],
        destroy=False,
    )
    assert plan.has_changes
    assert plan.counts()["update"] == 1 and plan.counts()["no change"] == 1
    data = plan.to_json()
    assert [c["name"] for c in data["changes"]] == ["a", "b", "r"]
    assert data["changes"][2]["attributes"] == [{"name": "alias", "old": None, "new": "(known after apply)"}]
    assert not build_plan([Change("sqs.queue", "b", Action.NOOP)], destroy=False).has_changes


def test_missing_db_secret_stops_apply_before_any_change() -> None:
    from opsctl.config.aws_models import AwsConfig
    from opsctl.provision.runner import apply_plan
    from opsctl.provision.tags import Owner
    from opsctl.provision.target import Target

    def no_secret() -> str:
        raise OpsctlError("secret DATABASE_PASSWORD is not set")

    target = Target(Owner("hello", "lab"), AwsConfig(), "/up", no_secret)
    plan = build_plan(
        [Change("sqs.queue", "q", Action.CREATE), Change("rds.instance", "db", Action.CREATE)], destroy=False
    )
    progress: list[str] = []
    # No AWS behind this: any attempt to apply a change would fail differently.
    with pytest.raises(OpsctlError, match="DATABASE_PASSWORD"):
        apply_plan(object(), target, plan, progress.append)  # type: ignore[arg-type]
    assert progress == []
