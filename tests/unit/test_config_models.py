"""The opsctl.yml contract: what is accepted, and how each mistake is reported (file:line: path: ...)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.loader import load
from tests.unit.config_samples import VALID, dedent, line_of, parse_ok, problems_of


def test_valid_config_parses_with_defaults() -> None:
    config = parse_ok(VALID)
    assert config.app == "hello"
    assert list(config.services) == ["web", "worker", "clock"]
    web = config.services["web"]
    assert web.command == ["bin/web", "--port", "8080"]
    assert web.is_http and web.port == 8080
    assert web.replicas == 1 and web.healthcheck.retries == 30
    assert config.services["worker"].command == ["bin/worker", "--queue", "default"]
    assert not config.services["worker"].is_http
    assert config.services["clock"].singleton
    assert config.release is not None and config.release.command == ["bin/migrate"]
    assert config.environments["production"].rollout.batch == "25%"
    assert config.environments["production"].rollout.failure_action == "rollback"
    assert config.environments["staging"].tag == "latest"
    assert config.registry is not None and config.registry.password_env == "OPSCTL_REGISTRY_PASSWORD"
    assert list(config.http_services()) == ["web"]


# (what, text to replace in VALID, replacement, key path reported, fragment of the message); the
# problem is expected on the line of the replacement's last line, or of the key that holds it.
MISTAKES = [
    ("port not a number", "port: 8080", "port: 80a", "services.web.port", "expected an integer 1-65535, got '80a'"),
    ("port out of range", "port: 8080", "port: 70000", "services.web.port", "expected an integer 1-65535, got 70000"),
    ("port is a bool", "port: 8080", "port: true", "services.web.port", "expected an integer 1-65535, got True"),
    ("replicas zero", "    port: 8080\n", "    port: 8080\n    replicas: 0\n", "services.web.replicas",
     "expected an integer 1-50, got 0"),
    ("healthcheck path", "path: /up", "path: up", "services.web.healthcheck.path", "a URL path starting with '/'"),
    ("interval negative", "path: /up", "path: /up\n      interval: -1", "services.web.healthcheck.interval",
     "expected a number of seconds 0-60, got -1"),
    ("unbalanced quote in command", "command: bin/clock", "command: \"bin/clock 'x\"", "services.clock.command",
     "expected a command"),
    ("empty command", "command: bin/clock", "command: ''", "services.clock.command", "a non-empty command"),
    ("app not a slug", "app: hello", "app: Hello_World", "app", "a name of lowercase letters"),
    ("image with tag", "image: localhost:5000/hello", "image: localhost:5000/hello:1", "image",
     "an image repository without a tag"),
    ("bad batch", "batch: 25%", "batch: 250%", "environments.production.rollout.batch",
     "a host count >= 1 or a percentage"),
    ("zero batch", "batch: 25%", "batch: 0", "environments.production.rollout.batch", "a host count >= 1"),
    ("failure action", "batch: 25%", "batch: 2\n      failure_action: explode",
     "environments.production.rollout.failure_action", "'pause' or 'rollback'"),
    ("hostile tag", "tag: latest", "tag: '$(id)'", "environments.staging.tag", "a version tag"),
    ("float tag", "tag: latest", "tag: 1.10", "environments.staging.tag", "got 1.1"),
    ("secret name", "secret: [DATABASE_URL]", "secret: [DATABASE-URL]", "env.secret[0]", "a variable name"),
    ("service not a mapping", "  clock:\n    command: bin/clock\n    singleton: true", "  clock: bin/clock",
     "services.clock", "expected a mapping, got 'bin/clock'"),
    ("webhook url", "aws:\n", "notify:\n  - events: [deploy]\n    url: ftp://x\naws:\n", "notify[0].url",
     "an http(s):// URL"),
    ("singleton replicas", "singleton: true", "singleton: true\n    replicas: 2", "services.clock",
     "a singleton service runs exactly one instance"),
    ("aws storage", "  region: eu-west-1", "  region: eu-west-1\n  rds:\n    allocated_storage: 5",
     "aws.rds.allocated_storage", "greater than or equal to 20"),
]


@pytest.mark.parametrize(("old", "new", "path", "message"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_reported_with_line_path_and_expectation(old: str, new: str, path: str, message: str) -> None:
    assert old in VALID
    text = VALID.replace(old, new, 1)
    problems = problems_of(text)
    assert len(problems) == 1, problems
    last = path.rsplit(".", 1)[-1].split("[")[0]
    marker = next((ln for ln in new.splitlines() if ln.strip().startswith(f"{last}:")), None)
    expected_line = line_of(text, marker or f" {last}:")
    assert problems[0].startswith(f"opsctl.yml:{expected_line}: {path}: "), problems[0]
    assert message in problems[0]


# (misspelled key, where it sits, the suggestion)
TYPOS = [
    ("comand", "    command: bin/web --port 8080", "command"),
    ("replcas", "    command: bin/web --port 8080", "replicas"),
    ("healtcheck", "    command: bin/web --port 8080", "healthcheck"),
    ("enviroments", None, "environments"),
    ("inventroy", "    inventory: inventories/staging.yml", "inventory"),
    ("rolout", "    inventory: inventories/staging.yml", "rollout"),
    ("regoin", "  region: eu-west-1", "region"),
]


@pytest.mark.parametrize(("typo", "after", "suggestion"), TYPOS)
def test_misspelled_key_is_an_error_with_a_suggestion(typo: str, after: str | None, suggestion: str) -> None:
    if after is None:
        text = VALID + f"{typo}: {{}}\n"
    else:
        indent = after[: len(after) - len(after.lstrip())]
        text = VALID.replace(after, f"{after}\n{indent}{typo}: 1", 1)
    problems = problems_of(text)
    assert [p for p in problems if f"{typo}: unknown key (did you mean '{suggestion}'?)" in p], problems
    assert any(p.startswith(f"opsctl.yml:{line_of(text, typo)}:") for p in problems)


def test_unknown_key_without_close_match_lists_the_allowed_keys() -> None:
    text = VALID.replace("      path: /up", "      path: /up\n      zzzz: 1")
    (problem,) = problems_of(text)
    assert "healthcheck.zzzz: unknown key (expected one of: path, interval, timeout, retries)" in problem


# (key removed, path reported, line of the enclosing key)
REQUIRED = [
    ("app: hello\n", "(top level)", "app", 1),
    ("    inventory: inventories/staging.yml\n", "environments.staging", "inventory", None),
    ("  server: localhost:5000\n", "registry", "server", None),
]


@pytest.mark.parametrize(("removed", "path", "key", "line"), REQUIRED)
def test_missing_required_key_names_the_enclosing_key(removed: str, path: str, key: str, line: int | None) -> None:
    text = VALID.replace(removed, "", 1)
    (problem,) = problems_of(text)
    enclosing = path.rsplit(".", 1)[-1]
    expected_line = line if line is not None else line_of(text, f"{enclosing}:")
    assert problem == f"opsctl.yml:{expected_line}: {path}: required key '{key}' is missing"


THREE_MISTAKES = dedent(
    """
    app: hello
    image: localhost:5000/hello
    services:
      web:
        port: 80a
        comand: bin/web
    environments:
      production:
        tag: v1
    """
)


def test_three_different_mistakes_are_all_reported_in_line_order() -> None:
    problems = problems_of(THREE_MISTAKES)
    assert problems == [
        "opsctl.yml:5: services.web.port: expected an integer 1-65535, got '80a'",
        "opsctl.yml:6: services.web.comand: unknown key (did you mean 'command'?)",
        "opsctl.yml:8: environments.production: required key 'inventory' is missing",
    ]


def test_opsctl_check_reports_three_mistakes_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "opsctl.yml").write_text(THREE_MISTAKES, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "opsctl", "check"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1, result.stderr
    for line, fragment in [(5, "services.web.port"), (6, "services.web.comand"), (8, "environments.production")]:
        assert f"opsctl.yml:{line}: {fragment}" in result.stderr
    assert result.stdout == ""


def test_opsctl_check_passes_a_valid_project(config_project: Callable[..., Path]) -> None:
    path = config_project()
    result = subprocess.run(
        [sys.executable, "-m", "opsctl", "-c", str(path), "check", "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"ok": true' in result.stdout
    assert '"web01"' in result.stdout and '"staging1"' in result.stdout


def test_duplicate_keys_are_errors_at_the_second_occurrence() -> None:
    text = VALID.replace("    port: 8080\n", "    port: 8080\n    port: 9090\n", 1)
    (problem,) = problems_of(text)
    assert problem == f"opsctl.yml:{line_of(text, 'port: 9090')}: services.web.port: duplicate key"


def test_invalid_yaml_reports_its_line() -> None:
    text = VALID.replace("  web:\n", "  web:\n   bad: [unclosed\n", 1)
    (problem,) = problems_of(text)
    assert problem.startswith("opsctl.yml:") and "invalid YAML" in problem


@pytest.mark.parametrize("text", ["", "just a string\n", "- a\n- b\n"])
def test_a_document_that_is_not_a_mapping_is_refused(text: str) -> None:
    (problem,) = problems_of(text)
    assert "expected a mapping" in problem


def test_two_http_services_on_one_ingress_port_are_refused() -> None:
    text = VALID.replace("    command: bin/clock\n", "    command: bin/clock\n    port: 9000\n    singleton: false\n")
    text = text.replace("    singleton: true\n", "")
    problems = problems_of(text)
    assert any("services web and clock both take ingress_port 80" in p for p in problems), problems


@pytest.mark.parametrize(("batch", "parsed"), [("1", 1), ("3", 3), ("'50%'", "50%"), ("'100%'", "100%"), ("'7'", 7)])
def test_batch_accepts_counts_and_percentages(batch: str, parsed: int | str) -> None:
    config = parse_ok(VALID.replace("batch: 25%", f"batch: {batch}"))
    assert config.environments["production"].rollout.batch == parsed


def test_load_finds_opsctl_yml_from_opsctl_config(
    config_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = config_project()
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("OPSCTL_CONFIG", str(path))
    config = load()
    assert config.source == path.resolve()
    assert config.path("inventories/production.ini") == path.resolve().parent / "inventories/production.ini"


def test_load_without_a_config_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSCTL_CONFIG", raising=False)
    from opsctl.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load()
    assert "no such config file" in info.value.problems[0]
    assert info.value.hint is not None and "opsctl init" in info.value.hint


def test_environment_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.errors import UsageError

    config = parse_ok(VALID)
    monkeypatch.delenv("OPSCTL_ENV", raising=False)
    assert config.environment("staging")[0] == "staging"
    with pytest.raises(UsageError, match="which environment"):
        config.environment(None)
    assert config.environment("prod")[0] == "production"  # a unique prefix
    with pytest.raises(UsageError, match="unknown environment 'stagign' \\(did you mean 'staging'\\?\\)"):
        config.environment("stagign")
    monkeypatch.setenv("OPSCTL_ENV", "production")
    assert config.environment(None)[0] == "production"
