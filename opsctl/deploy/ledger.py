"""The release ledger: numbered releases, newest last. Pure functions over the list of entries.

A deploy appends an entry; so does a rollback ("rollback to #12 (v64)"). The fleet keeps the ledger
(see opsctl/playbooks/library/opsctl_state.py); this module decides what it says and what a copy
read back from a server must look like. A server's contents are not trusted: every entry is
validated against a strict schema before opsctl uses it to name an image or an env file.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from opsctl.errors import OpsctlError

Status = Literal["succeeded", "failed", "rolled back", "interrupted"]
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
ROLLED_BACK: Final = "rolled back"
INTERRUPTED: Final = "interrupted"  # a run stopped by a signal (recorded with the hosts it reached)
KEEP = 200
FILE = "releases.json"

DIGEST = r"^sha256:[0-9a-f]{64}$"
# What opsctl.deploy.plan.config_hash writes: 12 hex digits. It becomes part of an env-file path
# on the hosts, so nothing else (no '/', no '..') may get through.
CONFIG_HASH = r"^[0-9a-f]{12}$"
VERSION = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"  # same grammar as opsctl.validate


class Release(BaseModel):
    """One ledger entry. Strict: a string where a number belongs is an error, not a conversion."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    number: int = Field(ge=1)
    version: str = Field(pattern=VERSION)
    image: str = Field(min_length=1)
    digest: str | None = Field(default=None, pattern=DIGEST)
    config_hash: str = Field(pattern=CONFIG_HASH)
    who: str
    when: str = Field(max_length=64)
    status: Status
    previous: int | None = Field(default=None, ge=1)
    kind: Literal["deploy", "rollback"] = "deploy"
    target: int | None = Field(default=None, ge=1)  # for a rollback: the release it returned to
    message: str | None = None
    hosts: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    duration: float | None = Field(default=None, ge=0)
    note: str | None = None
    # Hosts left out because they were known down (`--skip-hosts`): they run an older release.
    skipped: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Release:
        if self.previous is not None and self.previous >= self.number:
            raise ValueError(f"previous #{self.previous} is not before #{self.number}")
        if self.kind == "rollback":
            if self.target is None or self.target >= self.number:
                raise ValueError("a rollback entry needs the number of an earlier release as target")
        elif self.target is not None:
            raise ValueError("only a rollback entry has a target")
        repository = (info.context or {}).get("repository") if info.context else None
        if repository is not None:
            allowed = {f"{repository}:{self.version}"}
            if self.digest:
                allowed.add(f"{repository}@{self.digest}")
            if self.image not in allowed:
                raise ValueError(
                    f"image {self.image!r} is not the app's repository at this version "
                    f"(expected {' or '.join(sorted(allowed))})"
                )
        return self

    def to_json(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        if not data["skipped"]:
            # Absent unless used: a ledger without skipped hosts stays readable by an older opsctl.
            del data["skipped"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], repository: str | None = None) -> Release:
        return cls.model_validate(data, context={"repository": repository} if repository else None)

    @property
    def title(self) -> str:
        if self.kind == "rollback" and self.target is not None:
            return f"rollback to #{self.target} ({self.version})"
        return f"deploy {self.version}"

    def reference(self, repository: str) -> str:
        """The image a container of this release runs: by digest when the registry gave one."""
        from opsctl.deploy.names import image_ref

        return image_ref(repository, self.version, self.digest)


class LedgerProblem(ValueError):
    """A ledger copy that is not what opsctl writes (the message says what is wrong with it)."""


def _no_constants(name: str) -> Any:
    raise LedgerProblem(f"not valid JSON: {name} is not a number opsctl writes")


def parse_text(text: str | None, repository: str) -> list[Release]:
    """A ledger file's text (None: no file yet) -> its releases, oldest first.

    Raises LedgerProblem for anything opsctl would not have written: broken or truncated JSON,
    wrong types, unknown fields, a bad digest or config hash, an image outside the app's
    repository, numbers that do not strictly increase. Nothing here is ever read as "no history".
    """
    if text is None:
        return []
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise LedgerProblem(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); truncated or corrupt?"
        ) from None
    except RecursionError:
        raise LedgerProblem("not valid JSON: nested too deeply") from None
    if not isinstance(data, list):
        raise LedgerProblem(f"expected a JSON list of releases, found {type(data).__name__}")
    return parse(data, repository)


def parse(entries: list[Any], repository: str | None = None) -> list[Release]:
    """Validate decoded entries (oldest first); see parse_text."""
    releases: list[Release] = []
    for index, entry in enumerate(entries, start=1):
        label = f"entry {index}"
        if isinstance(entry, dict) and isinstance(entry.get("number"), int):
            label += f" (release #{entry['number']})"
        if not isinstance(entry, dict):
            raise LedgerProblem(f"{label}: expected an object, found {type(entry).__name__}")
        try:
            release = Release.from_json(entry, repository)
        except ValidationError as exc:
            raise LedgerProblem(f"{label}: {_first_error(exc)}") from None
        if releases and release.number <= releases[-1].number:
            raise LedgerProblem(
                f"{label}: release numbers must strictly increase (#{release.number} follows "
                f"#{releases[-1].number})"
            )
        releases.append(release)
    return releases


def _first_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"])
        message = re.sub(r"^Value error, ", "", error["msg"])
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)


def dump(releases: list[Release]) -> list[dict[str, Any]]:
    return [r.to_json() for r in releases]


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
            if candidate.number == release.target and candidate.number < release.number:
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
    if releases and release.number <= releases[-1].number:
        raise OpsctlError(f"internal: release #{release.number} does not follow #{releases[-1].number}")
    return dump([*releases, release][-KEEP:])
