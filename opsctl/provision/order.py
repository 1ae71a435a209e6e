"""Dependency order between resource kinds: creates and updates go forwards, deletes backwards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from opsctl.provision.plan import Action, Change

# kind -> kinds it needs to exist first.
DEPENDS_ON: Mapping[str, tuple[str, ...]] = {
    "rds.subnet_group": (),
    "rds.instance": ("rds.subnet_group",),
    "sqs.dead_letter_queue": (),
    "sqs.queue": ("sqs.dead_letter_queue",),
    "sns.topic": (),
    # The queue's access policy names the topic, and the subscription both.
    "sns.subscription": ("sns.topic", "sqs.queue"),
    "ses.identity": ("sns.topic",),
    "elb.target_group": (),
    "elb.load_balancer": (),
    "elb.listener": ("elb.load_balancer", "elb.target_group"),
    "route53.zone": (),
    "route53.record": ("route53.zone", "elb.load_balancer", "ses.identity"),
}


def kind_order(depends_on: Mapping[str, Iterable[str]] = DEPENDS_ON) -> list[str]:
    """Kinds sorted so each comes after everything it depends on (stable: ties keep map order)."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(kind: str, path: tuple[str, ...]) -> None:
        if state.get(kind) == "done":
            return
        if state.get(kind) == "visiting":
            raise ValueError(f"dependency cycle: {' -> '.join((*path, kind))}")
        state[kind] = "visiting"
        for dep in depends_on.get(kind, ()):
            if dep not in depends_on:
                raise ValueError(f"{kind} depends on unknown kind {dep}")
            visit(dep, (*path, kind))
        state[kind] = "done"
        order.append(kind)

    for kind in depends_on:
        visit(kind, ())
    return order


def apply_order(changes: Iterable[Change]) -> list[Change]:
    """The order to apply a plan in.

    Creates, updates and replaces go in dependency order; deletes come after them, in reverse, so
    that nothing is deleted while something still points at it (a queue before its old DLQ, an
    alias record before the load balancer). Within a kind the plan's order is kept.
    """
    rank = {kind: i for i, kind in enumerate(kind_order())}
    todo = [c for c in changes if c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)]
    forwards = sorted((c for c in todo if c.action is not Action.DELETE), key=lambda c: rank[c.kind])
    backwards = sorted((c for c in todo if c.action is Action.DELETE), key=lambda c: -rank[c.kind])
    return forwards + backwards
