"""Shell completion of names from opsctl.yml: environments and services.

Runs on every <TAB>, so it only reads the YAML file (no validation, no SSH, no AWS) and stays
silent on any problem: a broken opsctl.yml must not print errors into the user's prompt. Release
versions are not completed: they live on the fleet, and completion never makes a network call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer


def _config_path(ctx: typer.Context) -> Path:
    given = ctx.find_root().params.get("config")
    if given:
        return Path(given)
    return Path(os.environ.get("OPSCTL_CONFIG") or "opsctl.yml")


def _section_names(ctx: typer.Context, section: str) -> list[str]:
    import yaml

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(_config_path(ctx).read_text(encoding="utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # a missing or broken file completes nothing, quietly
    names = doc.get(section) if isinstance(doc, dict) else None
    return [str(name) for name in names] if isinstance(names, dict) else []


def environments(ctx: typer.Context, incomplete: str) -> list[str]:
    """`-e` values: the environments opsctl.yml defines."""
    return [name for name in _section_names(ctx, "environments") if name.startswith(incomplete)]


def services(ctx: typer.Context, incomplete: str) -> list[str]:
    """A service name (e.g. `opsctl logs SERVICE`)."""
    return [name for name in _section_names(ctx, "services") if name.startswith(incomplete)]


def service_list(ctx: typer.Context, incomplete: str) -> list[str]:
    """`--services a,b`: completes the last name of a comma-separated list."""
    done, _, last = incomplete.rpartition(",")
    chosen = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [
        prefix + name
        for name in _section_names(ctx, "services")
        if name.startswith(last) and name not in chosen
    ]
