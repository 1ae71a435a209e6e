"""The shape every provision module has: read current -> diff -> apply.

rds, sqs, ses, elb and route53 are modules, and each satisfies `Resource` (mypy checks it where
runner.py lists them), so the runner loops over them instead of knowing each by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from opsctl.provision.plan import Change
from opsctl.provision.session import Aws
from opsctl.provision.target import Target

State = TypeVar("State")


class Resource(Protocol[State]):
    @property
    def KINDS(self) -> tuple[str, ...]:
        """The change kinds this module plans and applies."""
        ...

    def read(self, aws: Aws, target: Target) -> State:
        """What exists now (read-only API calls)."""
        ...

    def diff(
        self, target: Target, state: State, *, destroy: bool = False, pending: Iterable[str] = ()
    ) -> list[Change]:
        """The changes from `state` to what `target` asks for (or to nothing, with `destroy`).
        `pending` holds the kinds earlier modules create or replace in this apply, whose ids
        (a DNS name, a token) are therefore not known yet."""
        ...

    def apply(self, aws: Aws, target: Target, change: Change, progress: Callable[[str], None]) -> None:
        """Carry out one change of one of this module's kinds."""
        ...
