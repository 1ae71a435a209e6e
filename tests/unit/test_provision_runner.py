"""The runner's loop over resource modules: read -> diff in module order, each module told what
the earlier ones create, and every change applied by the module that owns its kind (no AWS)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from opsctl.config.aws_models import AwsConfig
from opsctl.provision import elb, rds, route53, ses, sqs
from opsctl.provision.plan import Action, Change
from opsctl.provision.resource import Resource
from opsctl.provision.runner import MODULES, apply_plan, build_plan, collect_changes
from opsctl.provision.session import Aws
from opsctl.provision.tags import Owner
from opsctl.provision.target import Target

TARGET = Target(Owner("hello", "lab"), AwsConfig())
NO_AWS: Aws = object()  # type: ignore[assignment]  # the fakes never call AWS


class FakeModule:
    """A resource module that plans fixed changes and records what the runner asks of it."""

    def __init__(self, kinds: tuple[str, ...], planned: list[Change], log: list[str]) -> None:
        self._kinds = kinds
        self.planned = planned
        self.log = log
        self.pending_seen: set[str] | None = None

    @property
    def KINDS(self) -> tuple[str, ...]:
        return self._kinds

    def read(self, aws: Aws, target: Target) -> str:
        self.log.append(f"read {self._kinds[0]}")
        return f"state of {self._kinds[0]}"

    def diff(
        self, target: Target, state: str, *, destroy: bool = False, pending: Iterable[str] = ()
    ) -> list[Change]:
        assert state == f"state of {self._kinds[0]}"
        self.log.append(f"diff {self._kinds[0]}")
        self.pending_seen = set(pending)
        return [] if destroy else list(self.planned)

    def apply(self, aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
        assert change.kind in self._kinds
        self.log.append(f"apply {change.address}")


def test_the_real_modules_are_listed_in_read_order() -> None:
    assert MODULES == (rds, sqs, ses, elb, route53)
    kinds = [kind for module in MODULES for kind in module.KINDS]
    assert len(kinds) == len(set(kinds)), "a kind belongs to one module"


def test_each_module_reads_then_diffs_in_order_and_sees_what_earlier_ones_create() -> None:
    log: list[str] = []
    queues = FakeModule(
        ("sqs.queue",),
        [Change("sqs.queue", "q", Action.CREATE), Change("sqs.queue", "old", Action.NOOP)],
        log,
    )
    balancer = FakeModule(("elb.load_balancer",), [Change("elb.load_balancer", "lb", Action.REPLACE)], log)
    records = FakeModule(("route53.record",), [Change("route53.record", "www A", Action.UPDATE)], log)
    modules: list[Resource[Any]] = [queues, balancer, records]

    changes = collect_changes(NO_AWS, TARGET, destroy=False, modules=modules)

    assert log == [
        "read sqs.queue", "diff sqs.queue",
        "read elb.load_balancer", "diff elb.load_balancer",
        "read route53.record", "diff route53.record",
    ]
    assert [c.address for c in changes] == ["sqs.queue q", "sqs.queue old", "elb.load_balancer lb",
                                            "route53.record www A"]
    assert queues.pending_seen == set()
    assert balancer.pending_seen == {"sqs.queue"}
    # NOOP and UPDATE do not make anything new; CREATE and REPLACE do.
    assert records.pending_seen == {"sqs.queue", "elb.load_balancer"}


def test_destroy_is_passed_to_every_module() -> None:
    log: list[str] = []
    module = FakeModule(("sqs.queue",), [Change("sqs.queue", "q", Action.CREATE)], log)
    assert collect_changes(NO_AWS, TARGET, destroy=True, modules=[module]) == []
    assert log == ["read sqs.queue", "diff sqs.queue"]


def test_apply_sends_each_change_to_the_module_of_its_kind_in_dependency_order() -> None:
    log: list[str] = []
    records = FakeModule(("route53.zone", "route53.record"), [], log)
    queues = FakeModule(("sqs.dead_letter_queue", "sqs.queue"), [], log)
    plan = build_plan(
        [
            Change("route53.record", "www A", Action.CREATE),
            Change("sqs.queue", "q", Action.UPDATE),
            Change("sqs.dead_letter_queue", "dlq", Action.CREATE),
            Change("sqs.queue", "same", Action.NOOP),
        ],
        destroy=False,
    )
    progress: list[str] = []
    done = apply_plan(NO_AWS, TARGET, plan, progress.append, modules=[records, queues])
    assert log == ["apply sqs.dead_letter_queue dlq", "apply sqs.queue q", "apply route53.record www A"]
    assert [c.address for c in done] == [entry.removeprefix("apply ") for entry in log]
    assert progress == [
        "[1/3] create sqs.dead_letter_queue dlq",
        "[2/3] update sqs.queue q",
        "[3/3] create route53.record www A",
    ]
