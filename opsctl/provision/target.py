"""What to provision for one environment: the `aws:` config plus the names derived from app and env."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from opsctl.config.aws_models import AwsConfig
from opsctl.errors import UsageError
from opsctl.provision.tags import Owner

_ELB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Target:
    owner: Owner
    aws: AwsConfig
    # The web service's health check path: the target group checks the same URL.
    health_path: str = "/"
    # Returns the RDS master password; called only when the instance is about to be created.
    master_password: Callable[[], str] | None = None

    @property
    def production(self) -> bool:
        return self.owner.env == "production"

    @property
    def rds_identifier(self) -> str:
        rds = self.aws.rds
        return rds.identifier if rds and rds.identifier else self.owner.prefix

    @property
    def subnet_group_name(self) -> str:
        return self.rds_identifier

    def queue_name(self, key: str) -> str:
        return f"{self.owner.prefix}-{key}"

    def dlq_name(self, key: str) -> str:
        return f"{self.queue_name(key)}-dlq"

    @property
    def feedback_name(self) -> str:
        """The SNS topic and the SQS queue that receive SES bounces and complaints."""
        return f"{self.owner.prefix}-ses-feedback"

    @property
    def ses_domain(self) -> str | None:
        ses = self.aws.ses
        if ses is None:
            return None
        domain = ses.domain or (self.aws.dns.zone if self.aws.dns else None)
        return domain.rstrip(".").lower() if domain else None

    @property
    def zone_name(self) -> str | None:
        return self.aws.dns.zone if self.aws.dns else None

    @property
    def alias_fqdn(self) -> str | None:
        dns = self.aws.dns
        if dns is None:
            return None
        return fqdn(dns.name if dns.name is not None else self.owner.app, dns.zone)

    @property
    def lb_name(self) -> str:
        lb = self.aws.load_balancer
        name = lb.name if lb and lb.name else self.owner.prefix
        if not _ELB_NAME.match(name):
            raise UsageError(
                f"load balancer name {name!r} is not valid for AWS (at most 32 letters, digits "
                "or hyphens, not starting or ending with a hyphen)",
                hint="set aws.load_balancer.name in opsctl.yml",
            )
        return name

    @property
    def target_group_name(self) -> str:
        return f"{self.lb_name[:28].rstrip('-')}-web"


def fqdn(name: str, zone: str) -> str:
    """A record name relative to the zone ('@' or '' is the apex), without the trailing dot."""
    zone = zone.rstrip(".").lower()
    name = name.rstrip(".").lower()
    if name in ("", "@"):
        return zone
    if name == zone or name.endswith("." + zone):
        return name
    return f"{name}.{zone}"
