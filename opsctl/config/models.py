"""The opsctl.yml contract, as pydantic models.

Every model forbids unknown keys, so a misspelled key is an error instead of a silently ignored
setting. Custom types raise errors worded as "expected ..., got ...", which the loader prefixes
with the file, line and key path.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from opsctl.config.aws_models import AwsConfig
from opsctl.errors import UsageError


def _expected(what: str, got: Any) -> PydanticCustomError:
    return PydanticCustomError("opsctl", "expected {what}, got {got}", {"what": what, "got": repr(got)})


def _pattern_type(pattern: str, what: str) -> Any:
    regex = re.compile(pattern)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise _expected(what, value)
        return value

    return BeforeValidator(check)


def _int_range(low: int, high: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise _expected(f"an integer {low}-{high}", value)
        try:
            number = int(value) if isinstance(value, int | str) else None
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise _expected(f"an integer {low}-{high}", value)
        return number

    return BeforeValidator(check)


def _seconds(high: float) -> Any:
    def check(value: Any) -> float:
        if isinstance(value, bool):
            raise _expected(f"a number of seconds 0-{high:g}", value)
        try:
            number = float(value) if isinstance(value, int | float | str) else None
        except ValueError:
            number = None
        if number is None or not 0 <= number <= high:
            raise _expected(f"a number of seconds 0-{high:g}", value)
        return number

    return BeforeValidator(check)


def _command(value: Any) -> list[str]:
    # A string is split like a shell would split it, but no shell ever runs it.
    if isinstance(value, str):
        try:
            parts = shlex.split(value)
        except ValueError as exc:
            raise _expected(f"a command ({exc})", value) from None
    elif isinstance(value, list) and all(isinstance(p, str | int | float) for p in value):
        parts = [str(p) for p in value]
    else:
        raise _expected("a command (a string or a list of strings)", value)
    if not parts:
        raise _expected("a non-empty command", value)
    return parts


def _batch(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,3})%", value.strip())
        if match and 1 <= int(match.group(1)) <= 100:
            return f"{int(match.group(1))}%"
        if value.strip().isdigit() and int(value) >= 1:
            return int(value)
    raise _expected("a host count >= 1 or a percentage like '25%'", value)


def _sources(value: Any) -> list[str]:
    # One inventory source, or several that Ansible reads together (like `-i a -i b`).
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list) and items and all(isinstance(i, str) and i.strip() for i in items):
        return [i.strip() for i in items]
    raise _expected("an inventory path (a file, directory, script or plugin config) or a list of them", value)


Slug = Annotated[
    str, _pattern_type(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", "a name of lowercase letters, digits and '-'")
]
EnvVarName = Annotated[
    str, _pattern_type(r"[A-Za-z_][A-Za-z0-9_]{0,127}", "a variable name (letters, digits, '_')")
]
Version = Annotated[
    str,
    _pattern_type(
        r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}",
        "a version tag (letters, digits, '.', '_', '-', starting with a letter or digit)",
    ),
]
ImageRepo = Annotated[
    str,
    _pattern_type(
        r"(?:[a-zA-Z0-9.-]+(?::\d{1,5})?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*",
        "an image repository without a tag, like registry.example.com:5000/team/app",
    ),
]
ImageRef = Annotated[
    str,
    _pattern_type(
        r"(?:[a-zA-Z0-9.-]+(?::\d{1,5})?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
        r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?",
        "an image reference like nginx:1.27 or registry.example.com/proxy:1",
    ),
]
RegistryServer = Annotated[
    str, _pattern_type(r"[a-zA-Z0-9.-]+(?::\d{1,5})?", "a registry host[:port], like ghcr.io")
]
GroupName = Annotated[str, _pattern_type(r"[A-Za-z_][A-Za-z0-9_-]*", "an inventory group name")]
UrlPath = Annotated[str, _pattern_type(r"/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*", "a URL path starting with '/'")]
Url = Annotated[str, _pattern_type(r"https?://[^\s]+", "an http(s):// URL")]
Port = Annotated[int, _int_range(1, 65535)]
# A DNS name the shared ingress routes by: lowercase labels of letters, digits and '-', dot-separated.
HostName = Annotated[
    str,
    _pattern_type(
        r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*",
        "a host name of lowercase letters, digits, '-' and '.', like shop.example.com",
    ),
]
# A route's path prefix: '/' or '/a/b' (no trailing '/', no query, no spaces).
PathPrefix = Annotated[
    str, _pattern_type(r"/|(?:/[A-Za-z0-9._~-]+)+", "a path prefix like /shop ('/' for everything)")
]
Command = Annotated[list[str], BeforeValidator(_command)]
Batch = Annotated[int | str, BeforeValidator(_batch)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Registry(Strict):
    server: RegistryServer
    username: str
    # The name of the secret holding the password; the value itself never lives in opsctl.yml.
    password_env: EnvVarName = "OPSCTL_REGISTRY_PASSWORD"


class Build(Strict):
    context: str = "."
    dockerfile: str = "Dockerfile"
    args: dict[EnvVarName, str] = Field(default_factory=dict)


class Healthcheck(Strict):
    path: UrlPath = "/up"
    interval: Annotated[float, _seconds(60)] = 1.0
    timeout: Annotated[float, _seconds(60)] = 2.0
    retries: Annotated[int, _int_range(1, 1000)] = 30


class Tls(Strict):
    """A certificate (chain) and its key for a service's host names: each a file on the deploying
    machine (relative to opsctl.yml) or the name of a secret holding the PEM text."""

    certificate: str | None = None
    key: str | None = None
    certificate_secret: EnvVarName | None = None
    key_secret: EnvVarName | None = None

    @model_validator(mode="after")
    def _one_source_each(self) -> Tls:
        for what in ("certificate", "key"):
            given = [k for k in (what, f"{what}_secret") if getattr(self, k) is not None]
            if len(given) != 1:
                raise PydanticCustomError(
                    "opsctl", "tls: give exactly one of {a} (a file) and {b} (a secret's name)",
                    {"a": what, "b": f"{what}_secret"},
                )
        return self

    def secret_names(self) -> list[str]:
        return [n for n in (self.certificate_secret, self.key_secret) if n]


class Service(Strict):
    command: Command | None = None
    port: Port | None = None
    replicas: Annotated[int, _int_range(1, 50)] = 1
    healthcheck: Healthcheck = Field(default_factory=Healthcheck)
    groups: list[GroupName] = Field(default_factory=list)
    singleton: bool = False
    # Where the host's proxy takes this service's traffic in (HTTP services only).
    ingress_port: Port = 80
    # The host names (and path prefix) the shared ingress routes to this service; none: it is the
    # default server on its ingress_port (see docs/ingress.md).
    hosts: list[HostName] = Field(default_factory=list)
    path: PathPrefix = "/"
    tls: Tls | None = None
    stop_timeout: Annotated[float, _seconds(600)] = 10.0

    @property
    def is_http(self) -> bool:
        return self.port is not None

    @model_validator(mode="after")
    def _singleton_has_one(self) -> Service:
        if self.singleton and self.replicas != 1:
            raise PydanticCustomError(
                "opsctl", "a singleton service runs exactly one instance; remove replicas or singleton"
            )
        if (self.hosts or self.path != "/" or self.tls) and not self.is_http:
            raise PydanticCustomError("opsctl", "hosts, path and tls need an HTTP service: give it a port")
        if self.tls and not self.hosts:
            raise PydanticCustomError("opsctl", "tls needs the host names it is for: add hosts")
        if len(set(self.hosts)) != len(self.hosts):
            raise PydanticCustomError("opsctl", "hosts: a host name is listed twice")
        return self

    def routes(self) -> list[tuple[int, str, str]]:
        """What this service claims on the shared ingress: (port, host, path); host '' is the default."""
        return [(self.ingress_port, host, self.path) for host in (self.hosts or [""])]


class Release(Strict):
    command: Command
    timeout: Annotated[float, _seconds(86400)] = 900.0


class EnvVars(Strict):
    clear: dict[EnvVarName, str | int | float | bool] = Field(default_factory=dict)
    secret: list[EnvVarName] = Field(default_factory=list)


class Rollout(Strict):
    batch: Batch = 1
    # Rollback returns to a release that already ran on these hosts; an operator may want it to
    # move more hosts at once than a deploy does. Every host still passes the same checks.
    rollback_batch: Batch | None = None
    pause: Annotated[float, _seconds(3600)] = 0.0
    monitor: Annotated[float, _seconds(3600)] = 2.0
    max_failures: Annotated[int, _int_range(0, 10000)] = 0
    failure_action: Literal["pause", "rollback"] = "rollback"
    drain: Annotated[float, _seconds(600)] = 1.0
    # Pause the replaced release's HTTP containers after the drain instead of removing them, so a
    # rollback to it resumes them (no start). Off by default: a standby keeps its memory and any
    # connections it holds (e.g. to the database) open, and a request still running after the
    # drain is frozen, not finished.
    standby: bool = False


class LoadBalancer(Strict):
    proxy: bool = True
    proxy_image: ImageRef = "nginx:1.27"
    # Name or ARN of an ELBv2 target group; hosts are deregistered before and registered after
    # their swap.
    target_group: str | None = None
    target_port: Port | None = None


class Environment(Strict):
    inventory: Annotated[list[str], BeforeValidator(_sources)]
    tag: Version | None = None
    rollout: Rollout = Field(default_factory=Rollout)
    load_balancer: LoadBalancer = Field(default_factory=LoadBalancer)
    env: EnvVars = Field(default_factory=EnvVars)
    secrets_file: str | None = None
    # Partial `aws:` settings deep-merged over the top-level ones (see Config.aws_for).
    aws: dict[str, Any] | None = None


# `deploy`, `rollback`: succeeded; `failure`: deploy.failure, rollback.failure and health; `health`:
# opsctl watch saw something go down or recover; `lock`: taken or
# released by hand; `provision`: provision apply; `all`: every event (see opsctl/notify.py).
WebhookEvent = Literal[
    "build", "deploy.start", "deploy", "deploy.failure", "rollback", "rollback.failure", "failure",
    "provision", "lock", "health", "all",
]


def _default_events() -> list[WebhookEvent]:
    return ["deploy", "rollback", "failure"]


class Webhook(Strict):
    url: Url
    # slack: text + Block Kit blocks; json: opsctl's own object; text: a text/plain line.
    # Default: slack for hooks.slack.com URLs, json otherwise.
    format: Literal["slack", "json", "text"] | None = None
    events: list[WebhookEvent] = Field(default_factory=_default_events)


class HooksConfig(Strict):
    # Seconds each hook in .opsctl/hooks/ may run before it is stopped (and counts as failed).
    timeout: Annotated[float, _seconds(86400)] = 300.0


class Config(Strict):
    app: Slug
    image: ImageRepo
    registry: Registry | None = None
    build: Build = Field(default_factory=Build)
    secrets_file: str | None = None
    services: dict[Slug, Service]
    release: Release | None = None
    env: EnvVars = Field(default_factory=EnvVars)
    environments: dict[Slug, Environment]
    aws: AwsConfig = Field(default_factory=AwsConfig)
    notify: list[Webhook] = Field(default_factory=list)
    hooks: HooksConfig = Field(default_factory=HooksConfig)

    _source: Path = PrivateAttr(default=Path("opsctl.yml"))
    _aws_by_env: dict[str, AwsConfig] = PrivateAttr(default_factory=dict)
    # Line of each key path in the file, so checks made after loading can still name the line.
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_checks(self) -> Config:
        if not self.services:
            raise PydanticCustomError("opsctl", "services: expected at least one service")
        if not self.environments:
            raise PydanticCustomError("opsctl", "environments: expected at least one environment")
        claimed: dict[tuple[int, str, str], str] = {}
        for name, service in self.services.items():
            for route in service.routes() if service.is_http else []:
                if route in claimed:
                    port, host, path = route
                    where = f"host {host} path {path}" if host else f"ingress_port {port} as the default server"
                    raise PydanticCustomError(
                        "opsctl",
                        "services {a} and {b} both take {where}; give one other hosts, a path or a port",
                        {"a": claimed[route], "b": name, "where": where},
                    )
                claimed[route] = name
        return self

    @property
    def source(self) -> Path:
        return self._source

    @property
    def base_dir(self) -> Path:
        return self._source.parent

    def path(self, value: str) -> Path:
        """A path from the config: ~ expanded, relative to the config file's directory."""
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate)

    def environment(self, name: str | None) -> tuple[str, Environment]:
        """The environment named by -e, $OPSCTL_ENV, or the only one there is."""
        import os

        name = name or os.environ.get("OPSCTL_ENV") or None
        if name is None:
            if len(self.environments) == 1:
                name = next(iter(self.environments))
            else:
                raise UsageError(
                    "which environment? pass -e with one of: " + ", ".join(self.environments)
                )
        if name not in self.environments:
            name = self._environment_by_prefix(name)
        return name, self.environments[name]

    def _environment_by_prefix(self, given: str) -> str:
        """`-e prod` means production when no other environment starts with `prod`."""
        import difflib

        matches = [env for env in self.environments if env.startswith(given)]
        if len(matches) == 1:
            return matches[0]
        defined = ", ".join(self.environments)
        if matches:
            raise UsageError(f"environment {given!r} is ambiguous: it starts {', '.join(matches)}")
        close = difflib.get_close_matches(given, list(self.environments), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown environment {given!r}{hint}; {self.source.name} defines: {defined}")

    def where(self, *path: str | int) -> str:
        """`file:line` of the deepest key of `path` found in the file."""
        for end in range(len(path), -1, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return f"{self.source.name}:{line}"
        return f"{self.source.name}:1"

    def inventory_paths(self, env_name: str) -> list[Path]:
        """The environment's inventory sources, relative to opsctl.yml's directory."""
        return [self.path(source) for source in self.environments[env_name].inventory]

    def aws_for(self, env_name: str) -> AwsConfig:
        return self._aws_by_env.get(env_name, self.aws)

    def http_services(self) -> dict[str, Service]:
        return {name: s for name, s in self.services.items() if s.is_http}
