"""`opsctl dashboard`: a local, read-only web page of one environment with live status lights."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, load_config


def dashboard(
    ctx: typer.Context,
    env: EnvOpt = None,
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Local port (0: any free one).", min=0, max=65535)] = 0,
    interval: Annotated[
        float, typer.Option("--interval", metavar="SECONDS", help="Seconds between reads of the fleet.", min=1, max=3600)
    ] = 2.0,
) -> None:
    """Serve a live page of the topology, status lights, releases and merged logs on 127.0.0.1."""
    import time

    from opsctl import output
    from opsctl.config.checks import environment_hosts
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import OpsctlError
    from opsctl.observe import dashboard as board_mod
    from opsctl.observe import dashboard_page, graph_render, topology

    config = load_config(ctx)
    fleet = Fleet.open(config, env)
    model = topology.build(config, fleet.env_name, environment_hosts(config, fleet.env_name), detailed=True)
    svg = graph_render.render(graph_render.to_dot(model), "svg").decode()
    board = board_mod.Board(fleet, model)
    title = f"{config.app} / {fleet.env_name}"
    try:
        server, url = board_mod.serve(
            board, lambda nonce: dashboard_page.page(title, svg, nonce, 1500), port, interval
        )
    except OSError as exc:
        raise OpsctlError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    output.info(f"dashboard of {title} (read-only): {url}")
    output.info("the token in the URL is the only key: do not share it. Ctrl-C stops the server.")
    print(url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop.set()
        server.shutdown()
        output.info("dashboard stopped")
