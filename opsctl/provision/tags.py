"""The three tags that mark a resource as opsctl's, and what a resource's tags say about its owner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MANAGED_BY = "managed-by"
OPSCTL = "opsctl"


class Ownership(StrEnum):
    OURS = "ours"
    # Someone else's: untagged, or tagged for another app/environment. opsctl never touches it.
    FOREIGN = "foreign"


@dataclass(frozen=True)
class Owner:
    app: str
    env: str

    @property
    def prefix(self) -> str:
        """The name prefix every resource of this app and environment gets."""
        return f"{self.app}-{self.env}"

    def tags(self) -> dict[str, str]:
        return {"app": self.app, "env": self.env, MANAGED_BY: OPSCTL}

    def tag_list(self) -> list[Any]:  # Any: each boto3 service has its own TagTypeDef
        """Tags in the Key/Value list form most AWS APIs take."""
        return [{"Key": k, "Value": v} for k, v in self.tags().items()]

    def ownership(self, tags: Mapping[str, str]) -> Ownership:
        wanted = self.tags()
        return Ownership.OURS if all(tags.get(k) == v for k, v in wanted.items()) else Ownership.FOREIGN

    def describe_foreign(self, tags: Mapping[str, str]) -> str:
        """Why a resource is not ours, for the message that says opsctl leaves it alone."""
        if tags.get(MANAGED_BY) != OPSCTL:
            return "not tagged managed-by=opsctl"
        return f"tagged for app={tags.get('app')!r} env={tags.get('env')!r}"


def from_list(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """Key/Value list (RDS, ELBv2, Route53, SNS, SESv2) to a dict."""
    return {t["Key"]: t["Value"] for t in tags or ()}
