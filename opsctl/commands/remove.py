"""`opsctl remove`: take the app off its servers, leaving other apps and the shared ingress running."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, YesOpt, load_config


def remove(
    ctx: typer.Context,
    env: EnvOpt = None,
    yes: YesOpt = False,
    keep_ledger: Annotated[bool, typer.Option(
        "--keep-ledger", help="Keep the release ledger (the app's history) on the servers.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Remove the app's containers, its routes on the shared ingress, its network, env files and state."""
    from opsctl import output
    from opsctl.commands.dev import confirm
    from opsctl.deploy import remove as removal
    from opsctl.deploy.fleet import Fleet

    fleet = Fleet.open(load_config(ctx), env)
    keeps = "; its release ledger stays" if keep_ledger else ", its release ledger included"
    confirm(yes, f"remove {fleet.config.app} ({fleet.env_name}) from {', '.join(fleet.hosts)}{keeps}?")
    outcome = removal.remove(fleet, keep_ledger)
    if json_:
        output.emit_json(outcome.to_json())
    else:
        for host, lines in sorted(outcome.removed.items()):
            for line in lines or ["nothing of it was there"]:
                output.info(output.escape(f"{host}: removed {line}"))
        for host, why in sorted(outcome.failed.items()):
            output.error(output.escape(f"{host}: {why}"))
        if outcome.ok:
            output.info(output.escape(f"{outcome.app} ({outcome.env}) is off {', '.join(outcome.hosts)}"))
    if not outcome.ok:
        raise typer.Exit(1)
