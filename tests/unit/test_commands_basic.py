"""opsctl init, config and graph, run through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from opsctl.commands.init import app_name_from
from opsctl.observe.graph_render import q as _q
from tests.unit.config_samples import VALID

SECRET_VALUE = "hunter2-must-not-show"


def opsctl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_") or k == "OPSCTL_HOME"} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "opsctl", *args],
        cwd=cwd, env=environ, capture_output=True, text=True, timeout=60, check=False,
    )


# ---- init -------------------------------------------------------------------------------------


def test_init_writes_a_config_that_passes_check(tmp_path: Path) -> None:
    project = tmp_path / "shop-api"
    project.mkdir()
    result = opsctl("init", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "inventories" / "production.ini").is_file()
    config = yaml.safe_load((project / "opsctl.yml").read_text())
    assert config["app"] == "shop-api"
    check = opsctl("check", "--json", cwd=project)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["app"] == "shop-api"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "opsctl.yml").write_text("mine\n")
    result = opsctl("init", "shop", cwd=tmp_path)
    assert result.returncode == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (tmp_path / "opsctl.yml").read_text() == "mine\n"


def test_init_force_overwrites_config_but_keeps_an_existing_inventory(tmp_path: Path) -> None:
    (tmp_path / "opsctl.yml").write_text("mine\n")
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "production.ini").write_text("[web]\nreal1\n")
    result = opsctl("init", "shop", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((tmp_path / "opsctl.yml").read_text())["app"] == "shop"
    assert (tmp_path / "inventories" / "production.ini").read_text() == "[web]\nreal1\n"
    assert "kept existing" in result.stderr
    check = opsctl("check", "--json", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["environments"] == {"production": ["real1"]}


@pytest.mark.parametrize("name", ["Shop", "shop_api", "shop-", "a" * 64, "shop;id"])
def test_init_refuses_a_bad_app_name(tmp_path: Path, name: str) -> None:
    result = opsctl("init", name, cwd=tmp_path)
    assert result.returncode == 2
    assert "app name" in result.stderr
    assert not (tmp_path / "opsctl.yml").exists()


def test_init_honours_the_global_config_path(tmp_path: Path) -> None:
    result = opsctl("-c", "deploy/opsctl.yml", "init", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "deploy" / "opsctl.yml").is_file()
    assert (tmp_path / "deploy" / "inventories" / "production.ini").is_file()


@pytest.mark.parametrize(
    ("directory", "name"),
    [("shop", "shop"), ("My_App 2", "my-app-2"), ("--x--", "x"), ("___", "app"), ("a" * 80, "a" * 63)],
)
def test_app_name_from_directory(directory: str, name: str) -> None:
    assert app_name_from(Path("/src") / directory) == name


# ---- config -----------------------------------------------------------------------------------

CONFIG_TEXT = (
    VALID.replace("app: hello\n", "app: hello\nsecrets_file: app.secrets.env\n")
    .replace(
        "    tag: latest\n",
        "    tag: latest\n"
        "    env:\n      clear:\n        LOG_LEVEL: debug\n        REGION: eu\n      secret: [STAGING_KEY]\n"
        "    aws:\n      region: us-west-2\n",
    )
    .replace("aws:\n  region", "notify:\n  - url: https://hooks.example.com/services/T0/B0/tok3n?x=1\naws:\n  region")
)


@pytest.fixture
def config_dir(config_project: Callable[..., Path]) -> Path:
    path = config_project(CONFIG_TEXT, {"app.secrets.env": f"DATABASE_URL={SECRET_VALUE}\n"})
    return path.parent


def test_config_json_shows_the_merged_environment(config_dir: Path) -> None:
    result = opsctl("config", "-e", "staging", "--json", cwd=config_dir, env={"STAGING_KEY": SECRET_VALUE})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["environment"] == "staging"
    assert data["env"] == {"LOG_LEVEL": "debug", "REGION": "eu", "DATABASE_URL": "*** (set)",
                           "STAGING_KEY": "*** (set)"}
    assert data["secrets"]["names"] == ["DATABASE_URL", "STAGING_KEY"]
    assert data["secrets"]["unset"] == []
    assert data["aws"]["region"] == "us-west-2"
    assert data["aws"]["endpoint_url"] == "http://127.0.0.1:5000"
    assert data["services"]["web"]["hosts"] == ["staging1"]
    assert data["services"]["worker"]["hosts"] == ["staging1"]
    assert data["tag"] == "latest"
    assert data["notify"][0]["url"] == "https://hooks.example.com/***"


def test_config_per_environment_hosts_and_aws(config_dir: Path) -> None:
    result = opsctl("config", "-e", "production", "--json", cwd=config_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["env"] == {"LOG_LEVEL": "info", "DATABASE_URL": "*** (set)"}
    assert data["aws"]["region"] == "eu-west-1"
    assert data["hosts"] == ["web01", "web02", "worker1"]
    assert data["services"]["web"]["hosts"] == ["web01", "web02", "worker1"]
    assert data["services"]["worker"]["hosts"] == ["worker1"]
    assert data["load_balancer"]["target_group"] == "hello-production"
    assert data["rollout"]["batch"] == "25%"


@pytest.mark.parametrize("as_json", [True, False])
def test_config_never_prints_secret_values(config_dir: Path, as_json: bool) -> None:
    args = ["config", "-e", "staging", *(["--json"] if as_json else [])]
    result = opsctl(*args, cwd=config_dir, env={"STAGING_KEY": SECRET_VALUE, "DATABASE_URL": SECRET_VALUE})
    assert result.returncode == 0, result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert "tok3n" not in result.stdout


def test_config_human_output_is_yaml(config_dir: Path) -> None:
    result = opsctl("config", "-e", "production", cwd=config_dir)
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load(result.stdout)
    assert data["app"] == "hello" and data["env"]["DATABASE_URL"] == "*** (set)"


def test_config_tells_set_from_unset_secrets(config_dir: Path) -> None:
    result = opsctl("config", "-e", "staging", "--json", cwd=config_dir)  # STAGING_KEY not exported
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["env"]["STAGING_KEY"] == "(unset)" and data["env"]["DATABASE_URL"] == "*** (set)"
    assert data["secrets"]["unset"] == ["STAGING_KEY"]


def test_config_needs_an_environment_when_there_are_several(config_dir: Path) -> None:
    result = opsctl("config", cwd=config_dir)
    assert result.returncode == 2
    assert "which environment" in result.stderr
    result = opsctl("config", "-e", "nope", cwd=config_dir)
    assert result.returncode == 2 and "unknown environment 'nope'" in result.stderr


def test_config_reports_a_broken_config(tmp_path: Path) -> None:
    (tmp_path / "opsctl.yml").write_text("app: x\nimage: x\n")
    result = opsctl("config", cwd=tmp_path)
    assert result.returncode == 1
    assert "required key 'services' is missing" in result.stderr


# ---- graph ------------------------------------------------------------------------------------

GRAPH_TEXT = VALID.replace(
    "  endpoint_url: http://127.0.0.1:5000\n",
    "  endpoint_url: http://127.0.0.1:5000\n"
    "  load_balancer:\n    name: hello-lb\n"
    "  dns:\n    zone: example.com\n"
    "  rds: {}\n"
    "  queues:\n    jobs: {}\n",
)


def edges(dot: str) -> set[tuple[str, str]]:
    found = set()
    for line in dot.splitlines():
        if " -> " in line:
            a, b = line.strip().rstrip(";").split(" -> ")
            found.add((a.strip('"'), b.split(" [")[0].strip('"')))
    return found


def test_graph_links_services_hosts_proxy_and_aws(config_project: Callable[..., Path]) -> None:
    path = config_project(GRAPH_TEXT)
    result = opsctl("graph", "-e", "production", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    dot = result.stdout
    assert dot.startswith('digraph "hello-production" {') and dot.rstrip().endswith("}")
    found = edges(dot)
    assert {("service:web", "host:web01"), ("service:web", "host:worker1")} <= found
    assert ("service:worker", "host:worker1") in found
    assert ("service:worker", "host:web01") not in found
    assert ("proxy", "service:web") in found
    assert ("proxy", "service:worker") not in found  # not an HTTP service
    # The environment names its target group; the load balancer and DNS come from aws:.
    assert 'label="target group\\nhello-production"' in dot
    assert {("aws:target_group", "host:web01"), ("aws:load_balancer", "aws:target_group")} <= found
    assert ("aws:dns", "aws:load_balancer") in found
    assert "hello-lb" in dot and "hello.example.com" in dot
    assert "hello-production-jobs" in dot and "hello-production-jobs-dlq" in dot
    assert 'subgraph "cluster_aws"' in dot and "AWS eu-west-1" in dot


def test_graph_without_aws_has_no_aws_nodes(config_project: Callable[..., Path]) -> None:
    text = VALID.replace("    load_balancer:\n      target_group: hello-production\n", "")
    path = config_project(text)
    result = opsctl("graph", "-e", "staging", cwd=path.parent)
    assert result.returncode == 0, result.stderr
    assert "aws:" not in result.stdout
    assert ("service:web", "host:staging1") in edges(result.stdout)


def test_graph_output_is_valid_dot_when_graphviz_is_installed(config_project: Callable[..., Path]) -> None:
    import shutil

    dot_bin = shutil.which("dot")
    if dot_bin is None:
        pytest.skip("graphviz is not installed")
    path = config_project(GRAPH_TEXT)
    result = opsctl("graph", "-e", "production", cwd=path.parent)
    rendered = subprocess.run(
        [dot_bin, "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("web", '"web"'), ('a"b', '"a\\"b"'), ("a\\b", '"a\\\\b"'), ("a\nb", '"a\\nb"')],
)
def test_dot_ids_are_quoted_safely(text: str, quoted: str) -> None:
    assert _q(text) == quoted
