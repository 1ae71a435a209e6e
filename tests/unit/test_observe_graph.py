"""`opsctl graph --format dot|mermaid|svg|png` and the topology model's live lights."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.checks import environment_hosts
from opsctl.config.loader import load as load_config
from opsctl.observe import graph_render, lights, topology
from tests.unit.config_samples import VALID

GRAPH_TEXT = VALID.replace(
    "  endpoint_url: http://127.0.0.1:5000\n",
    "  endpoint_url: http://127.0.0.1:5000\n  load_balancer:\n    name: hello-lb\n  dns:\n    zone: example.com\n"
    "  rds: {}\n  queues:\n    jobs: {}\n",
).replace("    load_balancer:\n      target_group: hello-production\n",
          "    load_balancer:\n      target_group: hello-production\n      proxy: true\n")


def opsctl(*args: str, cwd: Path, path_env: str | None = None) -> subprocess.CompletedProcess[bytes]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_") or k == "OPSCTL_HOME"}
    if path_env is not None:
        environ["PATH"] = path_env
    return subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=cwd, env=environ,
                          capture_output=True, timeout=60, check=False)


def model_of(config_project: Callable[..., Path], detailed: bool) -> topology.Model:
    path = config_project(GRAPH_TEXT)
    config = load_config(path)
    return topology.build(config, "production", environment_hosts(config, "production"), detailed=detailed)


def test_mermaid_has_every_node_and_edge(config_project: Callable[..., Path]) -> None:
    path = config_project(GRAPH_TEXT)
    result = opsctl("graph", "-e", "production", "--format", "mermaid", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert text.startswith("flowchart LR\n")
    model = model_of(config_project, detailed=False)
    assert len([line for line in text.splitlines() if "-->" in line or "-.->" in line]) == len(model.edges)
    assert '"web<br/>localhost:5000/hello<br/>x1 per host<br/>port 8080"' in text
    assert "-.->" in text  # the singleton's "may run on" edges
    assert "subgraph c0[" in text and "AWS eu-west-1" in text


def test_mermaid_escapes_what_it_would_parse() -> None:
    model = topology.Model("x")
    model.node("a", 'say "hi" <b> | #1')
    text = graph_render.to_mermaid(model)
    assert '"say #quot;hi#quot; #lt;b#gt; #124; #35;1"' in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")
@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_svg_and_png_are_drawn_by_graphviz(config_project: Callable[..., Path], fmt: str, magic: bytes) -> None:
    path = config_project(GRAPH_TEXT)
    out = path.parent / f"graph.{fmt}"
    result = opsctl("graph", "-e", "production", "--format", fmt, "-o", str(out), cwd=path.parent)
    assert result.returncode == 0, result.stderr
    assert magic in out.read_bytes()[:400]
    if fmt == "svg":
        svg = out.read_text()
        assert topology.dom_id("service:web") in svg and "hello&#45;production" in svg


def test_svg_without_graphviz_is_one_clear_error(config_project: Callable[..., Path], tmp_path: Path) -> None:
    path = config_project(GRAPH_TEXT)
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "ssh").symlink_to("/bin/true")  # a PATH with no `dot` on it
    result = opsctl("graph", "-e", "production", "--format", "svg", cwd=path.parent, path_env=str(bare))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "error: --format svg needs Graphviz's `dot`" in err and "Traceback" not in err


def test_detailed_model_puts_proxy_and_services_in_each_host(config_project: Callable[..., Path]) -> None:
    model = model_of(config_project, detailed=True)
    assert model.clusters["cluster_host:web01"] == "web01"
    ids = {n.id: n for n in model.nodes}
    assert ids["proxy@web01"].cluster == "cluster_host:web01"
    assert "svc@worker1:worker" in ids and "svc@web01:worker" not in ids
    edges = {(e.a, e.b) for e in model.edges}
    assert ("aws:target_group", "proxy@web01") in edges and ("proxy@web01", "svc@web01:web") in edges


def test_node_lights_fold_containers_and_mark_unreachable_hosts(config_project: Callable[..., Path]) -> None:
    model = model_of(config_project, detailed=True)
    hosts = {
        "web01": [{"service": "web", "role": "app", "light": lights.HEALTHY},
                  {"service": "proxy", "role": "proxy", "light": lights.HEALTHY},
                  {"service": "clock", "role": "app", "light": lights.RUNNING}],
        "web02": [{"service": "web", "role": "app", "light": lights.UNHEALTHY}],
        "worker1": [],
    }
    found = topology.node_lights(model, hosts, ["worker1"])
    assert found["svc@web01:web"] == lights.HEALTHY
    assert found["proxy@web01"] == lights.HEALTHY
    assert found["svc@web02:web"] == lights.UNHEALTHY
    assert found["proxy@web02"] == lights.STOPPED
    assert found["svc@web02:clock"] == lights.STOPPED  # the singleton runs elsewhere
    assert found["cluster_host:worker1"] == lights.UNREACHABLE
    assert found["svc@worker1:worker"] == lights.UNREACHABLE
    assert "aws:rds" not in found  # not checked, so no light claimed
    dot = graph_render.to_dot(model, found)
    assert 'fillcolor="#ffd6d6"' in dot and "✖ web x1" in dot
    mermaid = graph_render.to_mermaid(model, found)
    assert "classDef unreachable" in mermaid
