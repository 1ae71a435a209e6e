"""Secret values: from the process environment or a git-ignored secrets file, never stored back.

Lookup order for a secret NAME in environment ENV: the process environment, then
`environments.ENV.secrets_file`, then the top-level `secrets_file`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.errors import OpsctlError
from opsctl.validate import env_value_problem

if TYPE_CHECKING:
    from opsctl.config.models import Config


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments, blank lines, an optional 'export ' and quotes are allowed."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        raise OpsctlError(f"{path}: cannot read the secrets file: {reason}") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise OpsctlError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def secret_files(config: Config, env_name: str | None) -> list[Path]:
    files: list[Path] = []
    if env_name is not None and env_name in config.environments:
        env_file = config.environments[env_name].secrets_file
        if env_file:
            files.append(config.path(env_file))
    if config.secrets_file:
        files.append(config.path(config.secrets_file))
    return files


def _lookup(config: Config, env_name: str | None, name: str) -> tuple[str, str] | None:
    if name in os.environ:
        return os.environ[name], f"environment variable {name}"
    for path in secret_files(config, env_name):
        if path.is_file():
            values = read_env_file(path)
            if name in values:
                return values[name], f"secrets file {path}"
    return None


def secret_value(config: Config, env_name: str | None, name: str) -> str:
    found = _lookup(config, env_name, name)
    if found is None:
        places = ", ".join(str(p) for p in secret_files(config, env_name)) or "no secrets file configured"
        raise OpsctlError(
            f"secret {name} is not set",
            hint=f"export {name}=... or add it to a secrets file ({places})",
        )
    value, source = found
    problem = env_value_problem(value)
    if problem:
        raise OpsctlError(f"secret {name} (from {source}): {problem}")
    return value


def secret_is_set(config: Config, env_name: str | None, name: str) -> bool:
    """Whether a secret has a value somewhere (the value itself is not returned)."""
    return _lookup(config, env_name, name) is not None


def secret_source(config: Config, env_name: str | None, name: str) -> str:
    """Where a secret's value comes from (for error messages), never the value itself."""
    found = _lookup(config, env_name, name)
    return found[1] if found else "nowhere (not set)"


def app_secret_names(config: Config, env_name: str) -> list[str]:
    env = config.environments[env_name]
    return list(dict.fromkeys([*config.env.secret, *env.env.secret]))


def secrets_needed(config: Config, env_name: str, command: str) -> dict[str, str]:
    """The secrets `command` reads for an environment: name -> what it is for.

    deploy writes the app's env file and logs the servers in to the registry. rollback and exec
    reuse what a past deploy left on the servers (its env file, its image), so they read none
    today; they still ask here, so a secret they come to need is checked before they connect.
    provision apply may create the RDS instance, which is the only time its password is read.
    """
    needed: dict[str, str] = {}
    if command == "deploy":
        needed.update({name: "env.secret" for name in app_secret_names(config, env_name)})
        if config.registry is not None:
            needed.setdefault(config.registry.password_env, f"registry.password_env ({config.registry.server})")
        for service_name, service in config.services.items():
            for name in service.tls.secret_names() if service.tls else []:
                needed.setdefault(name, f"services.{service_name}.tls")
    elif command == "provision apply":
        rds = config.aws_for(env_name).rds
        if rds is not None:
            needed[rds.master_password_secret] = "aws.rds.master_password_secret"
    return needed


def secret_problems(config: Config, names: dict[str, str], env_name: str | None) -> list[str]:
    """Every secret of `names` that is unset or unusable, one line each (values never shown)."""
    problems = []
    for name, purpose in names.items():
        try:
            secret_value(config, env_name, name)
        except OpsctlError as exc:
            problems.append(f"{exc.message} ({purpose})")
    return problems


def require_secrets(config: Config, env_name: str, command: str) -> None:
    """Resolve every secret `command` needs before it connects anywhere; name all missing at once."""
    problems = secret_problems(config, secrets_needed(config, env_name, command), env_name)
    if problems:
        from opsctl.errors import ConfigError

        places = ", ".join(str(p) for p in secret_files(config, env_name)) or "no secrets file configured"
        raise ConfigError(
            [f"{command} -e {env_name}: {p}" for p in problems],
            hint=f"export them, or add them to a secrets file ({places}); nothing was changed",
        )


def app_env(config: Config, env_name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The containers' environment: (clear values, secret values) for one environment."""
    env = config.environments[env_name]
    clear = {k: _text(v) for k, v in {**config.env.clear, **env.env.clear}.items()}
    for key, value in clear.items():
        problem = env_value_problem(value)
        if problem:
            raise OpsctlError(f"env.clear.{key}: {problem}")
    names = list(dict.fromkeys([*config.env.secret, *env.env.secret]))
    secrets = {name: secret_value(config, env_name, name) for name in names}
    return clear, secrets


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
