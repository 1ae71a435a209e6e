"""`opsctl config`: show the effective configuration of one environment.

Secret values are never shown: each secret is listed as `*** (set)` or `(unset)`, so the output
can be pasted into an issue or a CI log and still tells what a deploy would be missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config

if TYPE_CHECKING:
    from opsctl.config.checks import EnvironmentReport
    from opsctl.config.models import Config

MASK = "***"
SET, UNSET = f"{MASK} (set)", "(unset)"


def _masked_url(url: str) -> str:
    from urllib.parse import urlsplit

    # Webhook URLs often carry their token in the path or query (Slack, Teams, ...).
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/{MASK}"


def effective(config: Config, env_name: str, report: EnvironmentReport) -> dict[str, Any]:
    """The environment's configuration after merging, as plain data (no secret values)."""
    from opsctl.config.secrets import secret_files, secret_is_set
    from opsctl.notify import format_of

    env = config.environments[env_name]
    clear = {**config.env.clear, **env.env.clear}
    secret_names = list(dict.fromkeys([*config.env.secret, *env.env.secret]))
    # Clear values shadowed by a secret of the same name would be replaced by the secret.
    variables: dict[str, Any] = {k: v for k, v in clear.items() if k not in secret_names}
    variables.update({name: SET if secret_is_set(config, env_name, name) else UNSET for name in secret_names})
    services: dict[str, Any] = {}
    for name, service in config.services.items():
        services[name] = {
            **service.model_dump(mode="json", exclude={"healthcheck"} if not service.is_http else set()),
            "hosts": report.hosts_by_service.get(name, []),
        }
    return {
        "app": config.app,
        "environment": env_name,
        "source": str(config.source),
        "image": config.image,
        "tag": env.tag,
        "registry": config.registry.model_dump(mode="json") if config.registry else None,
        "build": config.build.model_dump(mode="json"),
        "inventory": [str(p) for p in config.inventory_paths(env_name)],
        "hosts": list(report.inventory.hosts) if report.inventory else [],
        "services": services,
        "release": config.release.model_dump(mode="json") if config.release else None,
        "rollout": env.rollout.model_dump(mode="json"),
        "load_balancer": env.load_balancer.model_dump(mode="json"),
        "env": variables,
        "secrets": {
            "names": secret_names,
            "unset": [n for n in secret_names if not secret_is_set(config, env_name, n)],
            "files": [str(p) for p in secret_files(config, env_name)],
        },
        "aws": config.aws_for(env_name).model_dump(mode="json"),
        "notify": [
            {"url": _masked_url(hook.url), "format": format_of(hook), "events": list(hook.events)}
            for hook in config.notify
        ],
        "hooks": config.hooks.model_dump(mode="json"),
    }


def config(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False) -> None:
    """Print the effective configuration for an environment (secret values masked)."""
    import sys

    import yaml

    from opsctl import output
    from opsctl.config.checks import environment_hosts

    cfg = load_config(ctx)
    env_name, _ = cfg.environment(env)
    data = effective(cfg, env_name, environment_hosts(cfg, env_name))
    if json_:
        output.emit_json(data)
        return
    sys.stdout.write(f"# effective configuration of {cfg.app} in {env_name} ({cfg.source})\n")
    sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True))
