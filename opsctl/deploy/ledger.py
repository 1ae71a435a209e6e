"""The release ledger: numbered releases, newest last. Pure functions over the list of entries.

A deploy appends an entry; so does a rollback ("rollback to #12 (v64)"). The fleet keeps the ledger
(see opsctl/playbooks/library/opsctl_state.py); this module decides what it says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from opsctl.errors import OpsctlError

SUCCEEDED = "succeeded"
FAILED = "failed"
ROLLED_BACK = "rolled back"
INTERRUPTED = "interrupted"
KEEP = 200


@dataclass
class Release:
    number: int
    version: str
    image: str
    digest: str | None
    config_hash: str
    who: str
    when: str
    status: str
    previous: int | None
    kind: str = "deploy"  # deploy | rollback
    target: int | None = None  # for a rollback: the release it returned to
    message: str | None = None
    hosts: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    duration: float | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Release:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    @property
    def title(self) -> str:
        if self.kind == "rollback" and self.target is not None:
            return f"rollback to #{self.target} ({self.version})"
        return f"deploy {self.version}"


def parse(entries: list[dict[str, Any]]) -> list[Release]:
    releases = [Release.from_json(e) for e in entries if isinstance(e, dict) and "number" in e]
    return sorted(releases, key=lambda r: r.number)


def newest(ledgers: list[list[dict[str, Any]]]) -> list[Release]:
    """Of the copies read from several hosts, the one that knows the most releases."""
    parsed = [parse(copy) for copy in ledgers]
    return max(parsed, key=lambda rs: (rs[-1].number if rs else 0, len(rs)), default=[])


def next_number(releases: list[Release]) -> int:
    return (releases[-1].number + 1) if releases else 1


def current(releases: list[Release]) -> Release | None:
    """The release the fleet runs: the newest that succeeded (a rollback entry counts)."""
    for release in reversed(releases):
        if release.status == SUCCEEDED:
            return release
    return None


def _effective(releases: list[Release], release: Release) -> Release:
    """The deploy a release amounts to: a rollback amounts to its target."""
    if release.kind == "rollback" and release.target is not None:
        for candidate in releases:
            if candidate.number == release.target:
                return _effective(releases, candidate)
    return release


def rollback_target(releases: list[Release], version: str | None = None) -> Release:
    """What `opsctl rollback [VERSION]` returns to.

    Without a version: the succeeded deploy before the one the fleet now amounts to, so that
    repeated rollbacks walk back through history instead of flipping between two releases.
    """
    now = current(releases)
    deploys = [r for r in releases if r.status == SUCCEEDED and r.kind == "deploy"]
    if version is not None:
        matching = [r for r in deploys if r.version == version]
        if not matching:
            raise OpsctlError(
                f"no succeeded release of version {version!r} in the ledger",
                hint="see 'opsctl releases' for what can be rolled back to",
            )
        return matching[-1]
    if now is None:
        raise OpsctlError("nothing has been deployed yet: there is nothing to roll back to")
    if releases[-1].status in (INTERRUPTED, FAILED):
        # The newest attempt stopped part-way (interrupted, or failed and paused): some hosts may run
        # it. Rolling back means bringing every host back to the release the fleet last agreed on.
        return now
    effective = _effective(releases, now)
    earlier = [r for r in deploys if r.number < effective.number]
    if not earlier:
        raise OpsctlError(
            f"no earlier succeeded release before #{effective.number} ({effective.version})",
            hint="see 'opsctl releases'",
        )
    return earlier[-1]


def append(releases: list[Release], release: Release) -> list[dict[str, Any]]:
    return [r.to_json() for r in [*releases, release][-KEEP:]]
