"""What `lab up --hosts N` does to the servers that already exist (pure: tested without Docker)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from opsctl.lab import names


@dataclass(frozen=True)
class Existing:
    """A lab server container found on the engine."""

    name: str
    running: bool
    spec: str
    """The spec hash label it was created with."""


@dataclass
class ResizePlan:
    keep: list[str] = field(default_factory=list)
    """Running, made from the wanted spec: reused as they are."""
    create: list[str] = field(default_factory=list)
    """Missing, or replaced (see `replace`): created anew."""
    replace: list[str] = field(default_factory=list)
    """Present but stopped or made from another spec: removed, then created again."""
    remove: list[str] = field(default_factory=list)
    """Beyond the wanted count (or not a lab server name): removed."""

    @property
    def changes(self) -> bool:
        return bool(self.create or self.remove)


def plan_resize(wanted: int, existing: Mapping[str, Existing], specs: Mapping[str, str]) -> ResizePlan:
    """Servers lab1..lab{wanted} must run, each from `specs[name]`; everything else goes."""
    plan = ResizePlan()
    wanted_names = [names.host_name(i) for i in range(1, wanted + 1)]
    for name in wanted_names:
        found = existing.get(name)
        if found is None:
            plan.create.append(name)
        elif found.running and found.spec == specs[name]:
            plan.keep.append(name)
        else:
            plan.replace.append(name)
            plan.create.append(name)
    plan.remove = sorted((n for n in existing if n not in wanted_names), key=_index_or_large)
    return plan


def _index_or_large(name: str) -> tuple[int, str]:
    digits = name.removeprefix("lab")
    return (int(digits), name) if digits.isdigit() else (1 << 30, name)
