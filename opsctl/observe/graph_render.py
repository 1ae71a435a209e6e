"""The topology model as Graphviz DOT, Mermaid text, or an SVG/PNG drawn by Graphviz's `dot`.

Labels come from user files (and, live, from the hosts): every renderer escapes them for its own
syntax, so no label can end a string or inject markup.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from opsctl.errors import OpsctlError
from opsctl.observe import lights
from opsctl.observe.topology import Model, dom_id

# light -> (stroke, fill) for drawings; the symbol goes into the label as well.
PALETTE: dict[str, tuple[str, str]] = {
    lights.HEALTHY: ("#2e7d32", "#d4f5d4"),
    lights.RUNNING: ("#2e7d32", "#d4f5d4"),
    lights.STARTING: ("#b28704", "#fff3c4"),
    lights.UNHEALTHY: ("#c62828", "#ffd6d6"),
    lights.STOPPED: ("#616161", "#eeeeee"),
    lights.STANDBY: ("#616161", "#eeeeee"),
    lights.UNREACHABLE: ("#8e24aa", "#f1dcf7"),
    lights.UNKNOWN: ("#9e9e9e", "#ffffff"),
}


def q(text: str) -> str:
    """A DOT double-quoted ID; names come from user files, so quotes and backslashes are escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={q(value)}" for key, value in attrs.items())


def _label(label: str, light: str | None) -> str:
    return f"{lights.symbol(light)} {label}" if light else label


def to_dot(model: Model, node_lights: Mapping[str, str] | None = None) -> str:
    node_lights = node_lights or {}
    lines = [f"digraph {q(model.name)} {{", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']

    def node_line(indent: str, node_id: str) -> None:
        node = next(n for n in model.nodes if n.id == node_id)
        attrs = {"label": _label(node.label, node_lights.get(node.id))}
        if node.shape != "box":
            attrs["shape"] = node.shape
        light = node_lights.get(node.id)
        styles = [s for s in (node.style, "filled" if light else None) if s]
        if styles:
            attrs["style"] = ",".join(styles)
        if light:
            attrs["color"], attrs["fillcolor"] = PALETTE.get(light, PALETTE[lights.UNKNOWN])
        # An id in the SVG lets the dashboard find this node and change its light.
        attrs["id"] = dom_id(node.id)
        lines.append(f"{indent}{q(node.id)} [{_attrs(attrs)}];")

    for node in model.nodes:
        if node.cluster is None:
            node_line("  ", node.id)
    for cluster, label in model.clusters.items():
        lines.append(f"  subgraph {q(cluster)} {{")
        light = node_lights.get(cluster)
        lines.append(f"    label={q(_label(label, light))};")
        lines.append(f"    id={q(dom_id(cluster))};")
        if light:
            lines.append(f"    color={q(PALETTE[light][0])};")
        for node in model.nodes:
            if node.cluster == cluster:
                node_line("    ", node.id)
        lines.append("  }")
    for edge in model.edges:
        attrs = ({"label": edge.label} if edge.label else {}) | ({"style": "dashed"} if edge.dashed else {})
        lines.append(f"  {q(edge.a)} -> {q(edge.b)}" + (f" [{_attrs(attrs)}]" if attrs else "") + ";")
    return "\n".join([*lines, "}"]) + "\n"


def _mq(text: str) -> str:
    """Mermaid label text in quotes: entity codes for what Mermaid would parse, <br/> for lines."""
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;")):
        text = text.replace(char, code)
    return '"' + text.replace("\n", "<br/>") + '"'


_MERMAID_SHAPES = {"ellipse": ("([", "])"), "cylinder": ("[(", ")]"), "note": (">", "]"), "folder": ("[/", "/]")}


def to_mermaid(model: Model, node_lights: Mapping[str, str] | None = None) -> str:
    node_lights = node_lights or {}
    ids = {node.id: f"n{i}" for i, node in enumerate(model.nodes)}
    ids |= {cluster: f"c{i}" for i, cluster in enumerate(model.clusters)}
    lines = ["flowchart LR"]

    def node_line(indent: str, node_id: str) -> None:
        node = next(n for n in model.nodes if n.id == node_id)
        opening, closing = ("(", ")") if node.style == "rounded" else _MERMAID_SHAPES.get(node.shape, ("[", "]"))
        lines.append(f"{indent}{ids[node.id]}{opening}{_mq(_label(node.label, node_lights.get(node.id)))}{closing}")

    for node in model.nodes:
        if node.cluster is None:
            node_line("  ", node.id)
    for cluster, label in model.clusters.items():
        lines.append(f"  subgraph {ids[cluster]}[{_mq(_label(label, node_lights.get(cluster)))}]")
        for node in model.nodes:
            if node.cluster == cluster:
                node_line("    ", node.id)
        lines.append("  end")
    for edge in model.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f"|{_mq(edge.label)}|" if edge.label else ""
        lines.append(f"  {ids[edge.a]} {arrow}{label} {ids[edge.b]}")
    used = sorted({light for light in node_lights.values()})
    for light in used:
        stroke, fill = PALETTE.get(light, PALETTE[lights.UNKNOWN])
        lines.append(f"  classDef {light} fill:{fill},stroke:{stroke},stroke-width:2px")
    for node_id, light in sorted(node_lights.items()):
        if node_id in ids:
            lines.append(f"  class {ids[node_id]} {light}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, fmt: str, timeout: float = 60.0) -> bytes:
    """SVG or PNG bytes from Graphviz's `dot`; a clear error when Graphviz is not installed."""
    dot_bin = shutil.which("dot")
    if dot_bin is None:
        raise OpsctlError(
            f"--format {fmt} needs Graphviz's `dot`, which is not installed",
            hint="apt-get install graphviz (or brew install graphviz); --format dot|mermaid need nothing",
        )
    try:
        done = subprocess.run(  # noqa: S603 - argument list, no shell
            [dot_bin, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise OpsctlError(f"Graphviz's dot did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise OpsctlError(f"Graphviz's dot failed: {message[-1] if message else f'exit {done.returncode}'}")
    return done.stdout
