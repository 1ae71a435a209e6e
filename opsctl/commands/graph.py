"""`opsctl graph`: the app's pieces in one environment, as DOT, Mermaid, or a picture drawn by Graphviz.

The model (opsctl.observe.topology) is the dashboard's too. `--live` reads status from the fleet and
colours each node by its light (with the light's symbol in the label, for readers without colour).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, load_config

__all__ = ["Format", "graph"]


class Format(StrEnum):
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"
    png = "png"


def graph(
    ctx: typer.Context,
    env: EnvOpt = None,
    fmt: Annotated[Format, typer.Option("--format", metavar="FORMAT", help="dot, mermaid, or svg/png (need Graphviz).")] = Format.dot,
    out: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Read status from the fleet and colour nodes by it.")] = False,
) -> None:
    """Print the services, hosts and AWS resources of an environment as a graph (DOT, Mermaid, SVG, PNG)."""
    import sys

    from opsctl import output
    from opsctl.config.checks import environment_hosts
    from opsctl.errors import OpsctlError
    from opsctl.observe import graph_render, topology

    config = load_config(ctx)
    env_name, _ = config.environment(env)
    model = topology.build(config, env_name, environment_hosts(config, env_name), detailed=live)
    node_lights: dict[str, str] = {}
    if live:
        from opsctl.deploy.fleet import Fleet
        from opsctl.observe import status_view

        fleet = Fleet.open(config, env_name)
        snapshot = status_view.take(fleet, status_view.service_specs(config, env_name))
        node_lights = topology.node_lights(model, snapshot.hosts, snapshot.unreachable)
        from opsctl.observe import aws_status

        node_lights |= {k: v.light for k, v in aws_status.read(config, env_name, model).items()}
    if fmt is Format.mermaid:
        data = graph_render.to_mermaid(model, node_lights).encode()
    else:
        data = graph_render.to_dot(model, node_lights).encode()
        if fmt in (Format.svg, Format.png):
            data = graph_render.render(data.decode(), fmt.value)
    if out is not None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise OpsctlError(f"cannot write {out}: {exc.strerror}") from None
        output.info(f"wrote {out} ({fmt.value}, {len(data)} bytes)")
        return
    if fmt is Format.png and sys.stdout.isatty():
        raise OpsctlError("a PNG is binary: give -o FILE, or pipe stdout to a file")
    if fmt is Format.png:
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data.decode())
    sys.stdout.flush()
