"""`opsctl init`: write a starter opsctl.yml (and an inventory to go with it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from opsctl.commands.common import config_path
from opsctl.errors import OpsctlError, UsageError

STARTER_INVENTORY = """\
# Hosts of the production environment. Each host needs sshd (key auth), python3 and Docker;
# `opsctl bootstrap` installs Docker. Groups are what services' `groups:` refer to.
[web]
web1 ansible_host=203.0.113.10 ansible_user=deploy
"""


def app_name_from(directory: Path) -> str:
    """A valid app name derived from a directory name ('My_App 2' -> 'my-app-2')."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.name.lower()).strip("-")[:63].strip("-")
    return name or "app"


def render_config(app_name: str) -> str:
    from opsctl.paths import templates_dir

    template = (templates_dir() / "init" / "opsctl.yml").read_text(encoding="utf-8")
    return template.replace("__APP__", app_name)


def write_starter(target: Path, app_name: str, force: bool) -> list[tuple[Path, str]]:
    """Write opsctl.yml (and inventories/production.ini if missing); return (path, what happened)."""
    from opsctl.validate import slug_problem

    problem = slug_problem(app_name)
    if problem:
        raise UsageError(f"app name: {problem}")
    if target.exists() and not force:
        raise OpsctlError(f"{target} already exists; nothing was written", hint="pass --force to overwrite it")
    inventory = target.parent / "inventories" / "production.ini"
    # Everything that could stop us is checked first, so a failure never leaves half a project.
    for path, kind in ((target, "file"), (inventory, "file"), (inventory.parent, "directory"),
                       (target.parent, "directory")):
        if path.exists() and (path.is_dir() if kind == "file" else not path.is_dir()):
            raise OpsctlError(f"{path} exists and is not a {kind}; nothing was written")
    for parent in (target.parent, inventory.parent):
        for above in (parent, *parent.parents):
            if above.exists() and not above.is_dir():
                raise OpsctlError(f"{above} is a file, not a directory; nothing was written")
    results: list[tuple[Path, str]] = []
    content = render_config(app_name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        existed = target.exists()
        target.write_text(content, encoding="utf-8")
        results.append((target, "overwrote" if existed else "wrote"))
        if inventory.exists():
            results.append((inventory, "kept existing"))
        else:
            inventory.parent.mkdir(parents=True, exist_ok=True)
            inventory.write_text(STARTER_INVENTORY, encoding="utf-8")
            results.append((inventory, "wrote"))
        from opsctl.hooks import write_samples

        results += write_samples(target.parent)
    except OSError as exc:
        done = ", ".join(str(p) for p, what in results if what != "kept existing") or "nothing"
        raise OpsctlError(f"cannot write {exc.filename or target}: {exc.strerror or exc} (written: {done})") from None
    return results


def init(
    ctx: typer.Context,
    app_name: Annotated[str | None, typer.Argument(metavar="APP", help="App name (default: the directory name).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing opsctl.yml.")] = False,
) -> None:
    """Write a starter opsctl.yml in the current directory."""
    from rich.markup import escape

    from opsctl import output

    target = config_path(ctx) or Path.cwd() / "opsctl.yml"
    name = app_name if app_name is not None else app_name_from(target.resolve().parent)
    for path, what in write_starter(target, name, force):
        output.info(f"{what} {escape(str(path))}")
    output.info("next: point image/registry at your registry, list your servers in the inventory, "
                "then run 'opsctl check'")
