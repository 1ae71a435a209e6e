"""`opsctl watch`: a foreground health monitor that alerts through `notify:` when something changes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from opsctl.commands.common import EnvOpt, load_config


def watch(
    ctx: typer.Context,
    env: EnvOpt = None,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", help="Seconds between checks.", min=0.5, max=3600)
    ] = 2.0,
    confirm: Annotated[
        int, typer.Option("--confirm", metavar="COUNT", help="Readings in a row before a change is alerted (flap damping).", min=1, max=100)
    ] = 2,
    install: Annotated[
        bool, typer.Option("--install", help="Run the watch on the fleet instead (not built yet).")
    ] = False,
) -> None:
    """Check every host (sshd), its ingress and every container's health; alert on down and recovered."""
    from opsctl import output
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import NotImplementedYet
    from opsctl.notify import wants as notify_wants
    from opsctl.observe import status_view
    from opsctl.observe.watch import Watcher

    if install:
        raise NotImplementedYet("watch --install")
    config = load_config(ctx)
    fleet = Fleet.open(config, env)
    hooks = [h for h in config.notify if notify_wants(h, "health")]
    specs = status_view.service_specs(config, fleet.env_name)

    def alert(payload: dict[str, Any]) -> None:
        if hooks:
            from opsctl import notify

            notify.send(hooks, notify.Event(
                name="health", app=config.app, env=fleet.env_name, title=str(payload["title"]),
                detail=str(payload["summary"]), status="ok" if payload["ok"] else "down",
            ))

    watcher = Watcher(fleet, specs, interval, confirm, alert, say=_say)
    output.info(
        f"watching {config.app}/{fleet.env_name}: {len(watcher.probes)} host and ingress check(s), the containers of "
        f"{len(specs)} service(s) every {interval:g} s; alerts to {len(hooks)} webhook(s). Ctrl-C stops."
    )
    if not hooks:
        output.warn("no notify: webhook takes failures; changes are only printed here")
    try:
        watcher.run()
    except KeyboardInterrupt:
        output.info("stopped watching")


def _say(line: str) -> None:
    import sys
    import time

    sys.stdout.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    sys.stdout.flush()
