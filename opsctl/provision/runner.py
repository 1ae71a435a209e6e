"""Plan and apply across all resource modules: the one place that knows every module."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError, UsageError
from opsctl.provision import elb, rds, route53, ses, sqs
from opsctl.provision.order import apply_order, kind_order
from opsctl.provision.plan import Action, Change, Plan, guard_stateful
from opsctl.provision.resource import Resource, State
from opsctl.provision.session import Aws
from opsctl.provision.tags import Owner
from opsctl.provision.target import Target

if TYPE_CHECKING:
    from opsctl.config.models import Config

# Read and diffed in this order: a later module may need to know what an earlier one creates.
MODULES: tuple[Resource[Any], ...] = (rds, sqs, ses, elb, route53)


def target_for(config: Config, env_name: str) -> Target:
    """What to provision for one environment of a loaded opsctl.yml."""
    from opsctl.config.secrets import secret_value

    aws_config = config.aws_for(env_name)
    web = config.http_services()
    health_path = "/"
    if web:
        health_path = next(iter(web.values())).healthcheck.path
    elif aws_config.load_balancer is not None:
        raise UsageError(
            "aws.load_balancer needs a web service (a service with a port) to send traffic to",
            hint="give the web service a port in services:, or remove aws.load_balancer",
        )
    rds_config = aws_config.rds

    secret_name = rds_config.master_password_secret if rds_config is not None else ""

    def password() -> str:
        return secret_value(config, env_name, secret_name)

    return Target(
        owner=Owner(config.app, env_name),
        aws=aws_config,
        health_path=health_path,
        master_password=password if rds_config is not None else None,
    )


def make_plan(aws: Aws, target: Target, *, destroy: bool = False, allow_destroy: Sequence[str] = ()) -> Plan:
    changes = collect_changes(aws, target, destroy=destroy)
    return build_plan(changes, destroy=destroy, allow_destroy=allow_destroy)


def collect_changes(
    aws: Aws, target: Target, *, destroy: bool, modules: Sequence[Resource[Any]] = MODULES
) -> list[Change]:
    """Every module's changes, in module order. Each is told which kinds the modules before it
    create or replace (records hold the load balancer's DNS name and SES's tokens: unknown while
    those are pending)."""
    changes: list[Change] = []
    for module in modules:
        pending = {c.kind for c in changes if c.action in (Action.CREATE, Action.REPLACE)}
        changes += _module_changes(module, aws, target, destroy=destroy, pending=pending)
    return changes


def _module_changes(
    module: Resource[State], aws: Aws, target: Target, *, destroy: bool, pending: set[str]
) -> list[Change]:
    return module.diff(target, module.read(aws, target), destroy=destroy, pending=pending)


def build_plan(changes: list[Change], *, destroy: bool, allow_destroy: Sequence[str] = ()) -> Plan:
    """Guard stateful resources and sort for display (dependency order, reversed for destroy)."""
    guarded = [guard_stateful(c, destroy=destroy, allowed=allow_destroy) for c in changes if not c.absent]
    rank = {kind: i for i, kind in enumerate(kind_order())}
    guarded.sort(key=lambda c: -rank[c.kind] if destroy else rank[c.kind])
    return Plan(changes=guarded, destroy=destroy)


def check_applicable(plan: Plan) -> None:
    """Refuse before changing anything when some of the plan cannot be done."""
    if plan.conflicts:
        lines = [f"{c.address}: {c.note}" for c in plan.conflicts]
        raise OpsctlError(
            "opsctl will not touch these resources:\n  " + "\n  ".join(lines),
            hint="rename opsctl's resource in opsctl.yml, or tag the existing one "
            "app=<app> env=<env> managed-by=opsctl to let opsctl manage it",
        )
    kept = [c for c in plan.changes if c.action is Action.KEEP]
    if plan.destroy and kept:
        names = " ".join(f"--allow-destroy {c.name}" for c in kept)
        raise OpsctlError(
            "refusing to destroy: stateful resources would be left behind or lost: "
            + ", ".join(c.address for c in kept),
            hint=f"to destroy them with the rest (their data included), run again with {names}",
        )


def apply_plan(
    aws: Aws,
    target: Target,
    plan: Plan,
    progress: Callable[[str], None],
    modules: Sequence[Resource[Any]] = MODULES,
) -> list[Change]:
    check_applicable(plan)
    by_kind = {kind: module for module in modules for kind in module.KINDS}
    todo = apply_order(plan.changes)
    if target.master_password is not None and any(
        c.kind == rds.INSTANCE and c.action is Action.CREATE for c in todo
    ):
        # Fail on a missing secret before creating anything, not halfway through.
        target.master_password()
    for i, change in enumerate(todo, 1):
        progress(f"[{i}/{len(todo)}] {change.action.value} {change.address}")
        by_kind[change.kind].apply(aws, target, change, progress)
    return todo
