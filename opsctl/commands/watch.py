"""`opsctl watch`: a foreground health monitor that alerts through `notify:` when something changes,
or (`--install`) the same monitor as a singleton container on the fleet, so alerts do not depend
on a laptop being open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, load_config

if TYPE_CHECKING:
    from opsctl.config.models import Config
    from opsctl.deploy.fleet import Fleet


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
        bool, typer.Option("--install", help="Run the watch on the fleet instead: one container on one host.")
    ] = False,
    uninstall: Annotated[
        bool, typer.Option("--uninstall", help="Remove the fleet's watcher (container, files, key) from every host.")
    ] = False,
    host: Annotated[
        str | None, typer.Option("--host", metavar="HOST", help="With --install: the host it runs on (default: the primary).")
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", metavar="REF", help="With --install: an image holding opsctl that the servers can pull (default: REGISTRY/opsctl:VERSION).")
    ] = None,
    push: Annotated[
        str | None, typer.Option("--push", metavar="LOCAL_IMAGE", help="With --install: tag this local image (from `make image`) as --image and push it first.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Check every host (sshd), its ingress and every container's health; alert on down and recovered."""
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import UsageError

    if install and uninstall:
        raise UsageError("--install and --uninstall do not go together")
    if not install and (host or image or push):
        raise UsageError("--host, --image and --push go with --install")
    if image:
        from opsctl.observe.watch_plan import check_image_ref

        check_image_ref(image, "--image")
    if push:
        from opsctl.observe.watch_plan import check_image_ref

        check_image_ref(push, "--push")
    config = load_config(ctx)
    fleet = Fleet.open(config, env)
    if install:
        _install(config, fleet, host, image, push, interval, confirm, json_)
    elif uninstall:
        _uninstall(fleet, json_)
    else:
        if json_:
            raise UsageError("--json goes with --install or --uninstall (the foreground watch prints lines)")
        _foreground(config, fleet, interval, confirm)


def _install(config: Config, fleet: Fleet, host: str | None, image: str | None, push: str | None,
             interval: float, confirm: int, json_: bool) -> None:
    from opsctl import __version__, output
    from opsctl.errors import OpsctlError
    from opsctl.notify import wants as notify_wants
    from opsctl.observe import watch_fleet, watch_plan

    ref = image or watch_plan.default_image(config, __version__)
    if ref is None:
        raise OpsctlError("--install needs --image: opsctl.yml has no registry: to default to",
                          hint="e.g. --image registry.example.com/opsctl:" + __version__)
    if not any(notify_wants(h, "health") for h in config.notify):
        output.warn("no notify: webhook takes failures: the watcher will only write its findings to its log")
    if push:
        output.step(f"pushing {push} as {ref}")
        watch_fleet.push_image(fleet, push, ref)
    installed = watch_fleet.install(fleet, host or fleet.primary, ref, interval, confirm)
    if json_:
        output.emit_json({"ok": True, "installed": installed.to_json()})
        return
    output.info(f"watcher {installed.container} runs on {installed.host}, checking {len(installed.hosts)} "
                   f"host(s) every {interval:g} s; see it with `opsctl status -e {fleet.env_name}`, "
                   f"its findings in `opsctl logs -e {fleet.env_name}` ({installed.host}/{installed.container})")


def _uninstall(fleet: Fleet, json_: bool) -> None:
    from opsctl import output
    from opsctl.observe import watch_fleet

    found = watch_fleet.uninstall(fleet)
    if json_:
        output.emit_json({"ok": True, "removed_from": found})
        return
    if found:
        output.info(f"watcher removed from {', '.join(found)}; its files and key are gone from every host")
    else:
        output.info("no watcher was running; its files and key (if any) are gone from every host")


def _foreground(config: Config, fleet: Fleet, interval: float, confirm: int) -> None:
    from opsctl import output
    from opsctl.notify import wants as notify_wants
    from opsctl.observe import status_view
    from opsctl.observe.watch import Watcher

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
