"""What a plan is made of, and the diff logic every resource module shares (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from opsctl.provision.tags import Owner, Ownership


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no change"
    # The name is taken by a resource opsctl does not own: nothing can be done with it.
    CONFLICT = "conflict"
    # Stateful and not in config any more (or destroy without --allow-destroy): left as is.
    KEEP = "keep"


class Unknown:
    """A value only known once an earlier change is applied (an ARN, a DNS name, a token)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __str__(self) -> str:
        return "(known after apply)"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class AttrChange:
    name: str
    old: Any
    new: Any


@dataclass
class Change:
    kind: str
    name: str
    action: Action
    attrs: list[AttrChange] = field(default_factory=list)
    note: str | None = None
    stateful: bool = False
    # What the resource module needs to apply the change (desired settings, ids, ...).
    desired: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    # Ids of the existing resource (ARN, URL, zone id) for apply.
    ids: dict[str, str] = field(default_factory=dict)
    # Neither wanted nor there: not worth a line in the plan.
    absent: bool = False

    @property
    def address(self) -> str:
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "action": self.action.value,
            "attributes": [
                {"name": a.name, "old": _jsonable(a.old), "new": _jsonable(a.new)} for a in self.attrs
            ],
        }
        if self.note:
            out["note"] = self.note
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Unknown):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class Plan:
    changes: list[Change]
    destroy: bool = False

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action not in (Action.NOOP, Action.KEEP, Action.CONFLICT)]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.CONFLICT]

    def counts(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {
            "destroy": self.destroy,
            "has_changes": self.has_changes,
            "summary": self.counts(),
            "changes": [c.to_json() for c in self.changes],
        }


def diff_attrs(
    current: Mapping[str, Any], desired: Mapping[str, Any], ignore: Iterable[str] = ()
) -> list[AttrChange]:
    """Attributes whose desired value differs from the current one, in the desired order.

    Only desired keys count: AWS reports many attributes opsctl does not set, and those are not
    drift. An unknown desired value always counts as a change, since it can only be filled in by
    apply.
    """
    skip = set(ignore)
    out = []
    for key, new in desired.items():
        if key in skip:
            continue
        old = current.get(key)
        if isinstance(new, Unknown) or _normal(old) != _normal(new):
            out.append(AttrChange(key, old, new))
    return out


def _normal(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(sorted((_normal(v) for v in value), key=repr))
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    return value


def diff_resource(
    kind: str,
    name: str,
    *,
    desired: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    owned: bool = True,
    foreign_reason: str = "",
    replace_on: Sequence[str] = (),
    stateful: bool = False,
    ignore: Iterable[str] = (),
    ids: Mapping[str, str] | None = None,
) -> Change:
    """The one change that brings a resource from `current` to `desired`.

    `desired` None means opsctl should not have it; `current` None means it does not exist.
    A resource that exists but is not ours is a conflict whatever is desired of it, and nothing
    else: opsctl never changes or deletes someone else's resource.
    """
    change = _diff(kind, name, desired, current, owned, foreign_reason, replace_on, stateful, ignore)
    change.ids = dict(ids or {})
    return change


def _diff(
    kind: str,
    name: str,
    desired: Mapping[str, Any] | None,
    current: Mapping[str, Any] | None,
    owned: bool,
    foreign_reason: str,
    replace_on: Sequence[str],
    stateful: bool,
    ignore: Iterable[str],
) -> Change:
    want = dict(desired or {})
    have = dict(current or {})
    if current is not None and not owned:
        note = f"name taken by a resource opsctl does not manage ({foreign_reason})"
        if desired is None:
            return Change(kind, name, Action.NOOP, note=None, stateful=stateful)
        return Change(kind, name, Action.CONFLICT, note=note, stateful=stateful, desired=want, current=have)
    if current is None:
        if desired is None:
            return Change(kind, name, Action.NOOP, stateful=stateful, absent=True)
        attrs = [AttrChange(k, None, v) for k, v in want.items() if k not in set(ignore)]
        return Change(kind, name, Action.CREATE, attrs, stateful=stateful, desired=want)
    if desired is None:
        attrs = [AttrChange(k, v, None) for k, v in have.items() if k not in set(ignore)]
        return Change(kind, name, Action.DELETE, attrs, stateful=stateful, current=have)
    attrs = diff_attrs(have, want, ignore)
    if not attrs:
        return Change(kind, name, Action.NOOP, stateful=stateful, desired=want, current=have)
    forcing = [a.name for a in attrs if a.name in replace_on]
    if forcing:
        note = f"{', '.join(forcing)} cannot be changed in place"
        return Change(
            kind, name, Action.REPLACE, attrs, note=note, stateful=stateful, desired=want, current=have
        )
    return Change(kind, name, Action.UPDATE, attrs, stateful=stateful, desired=want, current=have)


def guard_stateful(change: Change, *, destroy: bool, allowed: Iterable[str]) -> Change:
    """Stateful resources (data lives in them) are only deleted or replaced when named.

    In a normal plan a stateful resource gone from config is kept rather than deleted; deleting it
    is a job for `provision destroy --allow-destroy NAME`.
    """
    if not change.stateful or change.action not in (Action.DELETE, Action.REPLACE):
        return change
    if change.name in set(allowed):
        return change
    if change.action is Action.REPLACE:
        change.action = Action.CONFLICT
        change.note = (
            f"{change.note}; replacing it would destroy its data, so opsctl refuses. "
            "Change it by hand, or destroy it first with --allow-destroy"
        )
        return change
    change.action = Action.KEEP
    change.note = (f"{change.note}; " if change.note else "") + (
        f"stateful: kept unless named with --allow-destroy {change.name}"
        if destroy
        else "not in config any more; stateful, so kept (remove it with "
        f"'opsctl provision destroy --allow-destroy {change.name}')"
    )
    return change


@dataclass
class Observed:
    """A resource as read from AWS: the attributes opsctl compares, its tags, and its ids."""

    attrs: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def diff_observed(
    kind: str,
    name: str,
    *,
    desired: Mapping[str, Any] | None,
    observed: Observed | None,
    owner: Owner,
    replace_on: Sequence[str] = (),
    stateful: bool = False,
    ignore: Iterable[str] = (),
) -> Change:
    """`diff_resource` for a resource read from AWS, its ownership decided by its tags."""
    return diff_resource(
        kind,
        name,
        desired=desired,
        current=observed.attrs if observed else None,
        owned=observed is None or owner.ownership(observed.tags) is Ownership.OURS,
        foreign_reason=owner.describe_foreign(observed.tags) if observed else "",
        replace_on=replace_on,
        stateful=stateful,
        ignore=ignore,
        ids=observed.ids if observed else None,
    )
