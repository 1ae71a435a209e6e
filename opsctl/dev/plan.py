"""What `opsctl dev up` runs for a config, and how the app's environment is wired to it (pure).

The stand-ins: a PostgreSQL container for `aws.rds`, and an AWS endpoint (moto) for `aws.queues`
and `aws.ses`. The app reaches both at the gateway address of its Docker network, which the
service containers (on that network) and the release step's container (on Docker's default
network) can both reach, while nothing listens on any outside interface.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import quote

from opsctl.config.models import Config, Environment, EnvVars, LoadBalancer
from opsctl.errors import UsageError
from opsctl.validate import check_version

DEFAULT_ENV = "local"
DEFAULT_VERSION = "dev"
DEFAULT_PORT = 8480
DEFAULT_BASE_IMAGE = "opsctl/base:bookworm"
# The documented settings (docs/dev.md): a base image to build the stand-ins on, or ready-made
# images used as they are (e.g. postgres:16 and nginx:1.27 on a machine that can pull them).
BASE_IMAGE_VAR = "OPSCTL_DEV_BASE_IMAGE"
POSTGRES_IMAGE_VAR = "OPSCTL_DEV_POSTGRES_IMAGE"
PROXY_IMAGE_VAR = "OPSCTL_DEV_PROXY_IMAGE"
BUILT_POSTGRES = "opsctl/dev-postgres:bookworm"
BUILT_PROXY = "opsctl/dev-proxy:bookworm"
AWS_REGION_FALLBACK = "us-east-1"
# moto accepts any credentials; these only make the SDKs sign their requests.
DEV_AWS_KEY = "opsctl-dev"
LABEL = "opsctl.dev"  # on the stand-ins (never opsctl.app/opsctl.env: those mark app containers)


@dataclass(frozen=True)
class Images:
    """Where the stand-in and proxy images come from: built here on `base`, or used as given."""

    base: str = DEFAULT_BASE_IMAGE
    postgres: str | None = None
    proxy: str | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Images:
        env = os.environ if environ is None else environ
        return cls(
            base=env.get(BASE_IMAGE_VAR) or DEFAULT_BASE_IMAGE,
            postgres=env.get(POSTGRES_IMAGE_VAR) or None,
            proxy=env.get(PROXY_IMAGE_VAR) or None,
        )


@dataclass(frozen=True)
class Postgres:
    user: str
    database: str
    password_secret: str  # the name the app's config gives the RDS master password


@dataclass(frozen=True)
class DevPlan:
    app: str
    env: str
    version: str
    ports: dict[str, int]  # HTTP service -> its port on 127.0.0.1
    postgres: Postgres | None = None
    region: str = AWS_REGION_FALLBACK
    queues: list[str] = field(default_factory=list)  # SQS queue names, as provision names them
    ses_domain: str | None = None
    ses: bool = False

    @property
    def needs_aws(self) -> bool:
        return bool(self.queues) or self.ses

    @property
    def key(self) -> str:
        return f"{self.app}-{self.env}"

    @property
    def postgres_container(self) -> str:
        return f"{self.key}-postgres"

    @property
    def postgres_volume(self) -> str:
        return f"{self.key}-postgres-data"

    def standins(self) -> list[str]:
        return (["postgres"] if self.postgres else []) + (["aws"] if self.needs_aws else [])


def plan(config: Config, env_name: str, version: str | None, port: int) -> DevPlan:
    """The stand-ins the config needs and the local port of each HTTP service (`port`, then the
    next ones in the order services are listed)."""
    version = version or DEFAULT_VERSION
    check_version(version)
    http = list(config.http_services())
    if http and not 1024 <= port <= 65535 - (len(http) - 1):
        raise UsageError(f"--port: expected a port 1024-{65535 - (len(http) - 1)}, got {port}")
    aws = config.aws_for(env_name) if env_name in config.environments else config.aws
    rds = aws.rds
    postgres = None
    if rds is not None:
        postgres = Postgres(user=rds.master_username, database=rds.db_name,
                            password_secret=rds.master_password_secret)
    return DevPlan(
        app=config.app, env=env_name, version=version,
        ports={name: port + i for i, name in enumerate(http)},
        postgres=postgres,
        region=aws.region or AWS_REGION_FALLBACK,
        queues=[f"{config.app}-{env_name}-{key}" for key in aws.queues],
        ses=aws.ses is not None,
        ses_domain=(aws.ses.domain or (aws.dns.zone if aws.dns else None)) if aws.ses else None,
    )


def database_url(pg: Postgres, password: str, host: str, port: int) -> str:
    return (f"postgresql://{quote(pg.user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
            f"{quote(pg.database, safe='')}")


def wiring(plan: DevPlan, gateway: str, postgres_port: int | None, moto_port: int | None,
           password: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The app's extra environment: (clear values, secret values). Secrets go to the 0600 file."""
    clear: dict[str, str] = {}
    secrets: dict[str, str] = {}
    if plan.postgres is not None:
        assert postgres_port is not None and password is not None
        secrets["DATABASE_URL"] = database_url(plan.postgres, password, gateway, postgres_port)
        secrets[plan.postgres.password_secret] = password
    if plan.needs_aws:
        assert moto_port is not None
        clear.update({
            "AWS_ENDPOINT_URL": f"http://{gateway}:{moto_port}",
            "AWS_REGION": plan.region,
            "AWS_DEFAULT_REGION": plan.region,
        })
        secrets.update({"AWS_ACCESS_KEY_ID": DEV_AWS_KEY, "AWS_SECRET_ACCESS_KEY": DEV_AWS_KEY})
    return clear, secrets


def dev_config(config: Config, plan: DevPlan, clear: dict[str, str], secret_names: list[str],
               secrets_file: str, proxy_image: str) -> Config:
    """The config `dev up` deploys: this machine's environment with the stand-ins' variables, its
    own secrets file, the proxy on the local ports, no registry (the image is never pushed or
    pulled) and no load balancer target group."""
    base = config.environments.get(plan.env) or Environment(inventory=["(this machine)"])
    env = base.model_copy(update={
        "env": EnvVars(clear={**base.env.clear, **clear},
                       secret=list(dict.fromkeys([*base.env.secret, *secret_names]))),
        "secrets_file": secrets_file,
        "load_balancer": LoadBalancer(proxy=True, proxy_image=proxy_image),
    })
    services = {
        name: s.model_copy(update={"ingress_port": plan.ports[name]}) if name in plan.ports else s
        for name, s in config.services.items()
    }
    return config.model_copy(update={
        "registry": None,
        "services": services,
        "environments": {**config.environments, plan.env: env},
        "notify": [],
    })


def missing_app_secrets(config: Config, env_name: str, provided: set[str],
                        is_set: dict[str, bool]) -> list[str]:
    """The app's secrets nobody supplies: `dev up` generates a value for each (kept in its file)."""
    base = config.environments.get(env_name)
    names = [*config.env.secret, *(base.env.secret if base else [])]
    return [n for n in dict.fromkeys(names) if n not in provided and not is_set.get(n, False)]
