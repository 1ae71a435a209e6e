"""The `aws:` section of opsctl.yml: where AWS is, and the resources `opsctl provision` keeps.

Every resource section is optional: a section that is absent means opsctl does not manage that
kind of resource for the environment. Names are derived from the app and environment
(`<app>-<env>`) so two environments never collide; `docs/provision.md` is the reference.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_AWS_NAME = re.compile(r"^[A-Za-z0-9-]+$")
# AWS region names: partition prefix, optional isolated/gov part, direction, number (us-east-1,
# ap-southeast-2, us-gov-west-1, cn-north-1). Checked by shape: botocore's list is too slow to load.
_REGION = re.compile(
    r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn)(?:-gov|-iso[a-z]?)?"
    r"-(?:east|west|north|south|central|northeast|southeast|northwest|southwest)-\d{1,2}"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RdsConfig(_Strict):
    """A PostgreSQL RDS instance (and the DB subnet group it lives in)."""

    identifier: str | None = Field(default=None, description="Instance identifier (default: <app>-<env>).")
    instance_class: str = Field(default="db.t3.micro", description="RDS instance class.")
    engine_version: str = Field(default="16.3", description="PostgreSQL engine version.")
    allocated_storage: int = Field(default=20, ge=20, le=65536, description="Storage in GiB.")
    storage_type: Literal["gp2", "gp3", "io1", "io2"] = "gp3"
    multi_az: bool | None = Field(
        default=None, description="Standby in a second AZ (default: on in 'production', off elsewhere)."
    )
    db_name: str = Field(default="app", description="Database created with the instance.")
    master_username: str = "app"
    master_password_secret: str = Field(
        default="DATABASE_PASSWORD",
        description="Name of the secret holding the master password (read only at creation).",
    )
    subnet_ids: list[str] = Field(
        default_factory=list,
        description="Subnets of the DB subnet group (default: every subnet of the default VPC).",
    )
    backup_retention_days: int = Field(default=7, ge=0, le=35)
    deletion_protection: bool = True
    final_snapshot: bool = Field(default=True, description="Take a final snapshot when destroyed.")
    publicly_accessible: bool = False


class DeadLetterConfig(_Strict):
    max_receive_count: int = Field(default=5, ge=1, le=1000, description="Receives before a message moves.")
    retention_seconds: int = Field(default=1_209_600, ge=60, le=1_209_600)
    visibility_timeout: int = Field(default=30, ge=0, le=43_200, description="Seconds.")


class QueueConfig(_Strict):
    """One SQS queue, named <app>-<env>-<key>; its dead-letter queue is <name>-dlq."""

    visibility_timeout: int = Field(default=30, ge=0, le=43_200, description="Seconds.")
    retention_seconds: int = Field(default=345_600, ge=60, le=1_209_600)
    dead_letter: DeadLetterConfig | None = Field(
        default_factory=lambda: DeadLetterConfig(), description="null for no dead-letter queue."
    )


class SesConfig(_Strict):
    """A SES domain identity with DKIM, and bounce/complaint notifications."""

    domain: str | None = Field(default=None, description="Mail domain (default: dns.zone).")
    feedback: bool = Field(
        default=True,
        description="Bounces and complaints go to SNS topic <app>-<env>-ses-feedback, "
        "with SQS queue <app>-<env>-ses-feedback subscribed.",
    )


class RecordConfig(_Strict):
    """An extra DNS record in the hosted zone."""

    name: str = Field(description="Relative to the zone; '@' is the apex.")
    type: Literal["A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA"]
    ttl: int = Field(default=300, ge=0)
    values: list[str] = Field(min_length=1)


class DnsConfig(_Strict):
    """A Route53 hosted zone and the records opsctl keeps in it."""

    zone: str = Field(description="The hosted zone's domain, e.g. example.com.")
    name: str | None = Field(
        default=None,
        description="Record aliased to the load balancer, relative to the zone "
        "('@' for the apex; default: the app name).",
    )
    records: list[RecordConfig] = Field(default_factory=list)

    @field_validator("zone")
    @classmethod
    def _strip_dot(cls, value: str) -> str:
        return value.rstrip(".").lower()


class HealthCheckConfig(_Strict):
    """The target group's health check; the path is the web service's healthcheck.path."""

    interval_seconds: int = Field(default=10, ge=5, le=300)
    timeout_seconds: int = Field(default=5, ge=2, le=120)
    healthy_threshold: int = Field(default=2, ge=2, le=10)
    unhealthy_threshold: int = Field(default=2, ge=2, le=10)
    matcher: str = Field(default="200-399", description="HTTP codes that count as healthy.")


class LoadBalancerConfig(_Strict):
    """An application load balancer with one target group for the web service."""

    name: str | None = Field(
        default=None, description="Load balancer name, at most 32 characters (default: <app>-<env>)."
    )
    scheme: Literal["internet-facing", "internal"] = "internet-facing"
    subnet_ids: list[str] = Field(
        default_factory=list, description="At least two AZs (default: the default VPC's subnets)."
    )
    security_group_ids: list[str] = Field(
        default_factory=list, description="Default: AWS picks the VPC's default security group."
    )
    certificate_arn: str | None = Field(
        default=None, description="ACM certificate: adds HTTPS on 443 and HTTP redirects to it."
    )
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    target_port: int = Field(default=80, ge=1, le=65535, description="Port the targets listen on.")
    target_type: Literal["instance", "ip"] = "instance"
    deregistration_delay: int = Field(
        default=30, ge=0, le=3600, description="Seconds a deregistered target keeps draining."
    )
    health_check: HealthCheckConfig = Field(default_factory=lambda: HealthCheckConfig())

    @field_validator("name")
    @classmethod
    def _name_fits(cls, value: str | None) -> str | None:
        if value is not None and (len(value) > 32 or not _AWS_NAME.match(value)):
            raise ValueError("must be at most 32 letters, digits or hyphens")
        return value


class AwsConfig(_Strict):
    """Where AWS is, and the resources `opsctl provision` creates and keeps for an environment."""

    region: str = "us-east-1"
    # One setting for moto or LocalStack; AWS_ENDPOINT_URL in the environment also works.
    endpoint_url: str | None = None
    rds: RdsConfig | None = None
    queues: dict[str, QueueConfig] = Field(default_factory=dict)
    ses: SesConfig | None = None
    dns: DnsConfig | None = None
    load_balancer: LoadBalancerConfig | None = None

    @field_validator("region", mode="before")
    @classmethod
    def _region_shape(cls, value: object) -> object:
        if isinstance(value, str) and not _REGION.fullmatch(value):
            raise ValueError(f"expected an AWS region like us-east-1 or eu-west-1, got {value!r}")
        return value

    @field_validator("endpoint_url", mode="before")
    @classmethod
    def _endpoint_is_url(cls, value: object) -> object:
        from urllib.parse import urlsplit

        # `${AWS_ENDPOINT_URL:-}` with the variable unset gives "": the same as no endpoint at all.
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            parts = urlsplit(value.strip())
            if parts.scheme in ("http", "https") and parts.hostname and not any(c.isspace() for c in value.strip()):
                return value.strip()
        raise ValueError(f"expected an http(s):// URL like http://127.0.0.1:5000, got {value!r}")

    @field_validator("queues")
    @classmethod
    def _queue_keys(cls, value: dict[str, QueueConfig]) -> dict[str, QueueConfig]:
        for key in value:
            if not _AWS_NAME.match(key) or key.endswith("-dlq") or key == "ses-feedback":
                raise ValueError(
                    f"queue name {key!r}: letters, digits and hyphens only, "
                    "not ending in -dlq, not 'ses-feedback' (opsctl uses those)"
                )
        return value

    @model_validator(mode="after")
    def _ses_has_domain(self) -> AwsConfig:
        if self.ses is not None and self.ses.domain is None and self.dns is None:
            raise ValueError("aws.ses needs a domain (aws.ses.domain, or aws.dns.zone)")
        return self
