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
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
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


def secret_source(config: Config, env_name: str | None, name: str) -> str:
    """Where a secret's value comes from (for error messages), never the value itself."""
    found = _lookup(config, env_name, name)
    return found[1] if found else "nowhere (not set)"


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
