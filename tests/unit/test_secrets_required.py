"""Issue 9 §4: secrets are resolved before anything touches the fleet or AWS, all missing ones at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.secrets import require_secrets, secrets_needed
from opsctl.errors import ConfigError
from tests.unit.config_samples import VALID, line_of, parse_ok

SECRET_NAMES = ("DATABASE_URL", "OPSCTL_REGISTRY_PASSWORD", "DATABASE_PASSWORD", "STAGING_KEY")


def opsctl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCTL_", "AWS_"))
               and k not in SECRET_NAMES}
    environ["OPSCTL_HOME"] = str(cwd / ".opsctl-home")
    return subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=cwd, env=environ | (env or {}),
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(autouse=True)
def _no_secrets_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_what_each_command_needs() -> None:
    config = parse_ok(VALID.replace("  endpoint_url: http://127.0.0.1:5000",
                                    "  endpoint_url: http://127.0.0.1:5000\n  rds: {}"))
    assert list(secrets_needed(config, "production", "deploy")) == ["DATABASE_URL", "OPSCTL_REGISTRY_PASSWORD"]
    assert list(secrets_needed(config, "production", "provision apply")) == ["DATABASE_PASSWORD"]
    # Both reuse the env file and image a deploy left on the servers.
    assert secrets_needed(config, "production", "rollback") == {}
    assert secrets_needed(config, "production", "exec") == {}


def test_every_missing_secret_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_ok(VALID)
    with pytest.raises(ConfigError) as info:
        require_secrets(config, "production", "deploy")
    assert info.value.problems == [
        "deploy -e production: secret DATABASE_URL is not set (env.secret)",
        "deploy -e production: secret OPSCTL_REGISTRY_PASSWORD is not set (registry.password_env (localhost:5000))",
    ]
    monkeypatch.setenv("DATABASE_URL", "postgres://x")
    monkeypatch.setenv("OPSCTL_REGISTRY_PASSWORD", "line1\nline2")
    with pytest.raises(ConfigError) as info:
        require_secrets(config, "production", "deploy")
    assert info.value.problems == [
        "deploy -e production: secret OPSCTL_REGISTRY_PASSWORD (from environment variable "
        "OPSCTL_REGISTRY_PASSWORD): value contains a newline or NUL character (registry.password_env "
        "(localhost:5000))"
    ]
    assert "line1" not in str(info.value)
    monkeypatch.setenv("OPSCTL_REGISTRY_PASSWORD", "ok")
    require_secrets(config, "production", "deploy")


def test_deploy_stops_before_connecting(config_project: Callable[..., Path]) -> None:
    # Unroutable hosts: a deploy that tried to connect would hang on SSH, not fail in a second.
    path = config_project(files={"inventories/production.ini": "[web]\nweb1 ansible_host=192.0.2.1\n"
                                 "[workers]\nweb1\n"})
    started = time.monotonic()
    result = opsctl("deploy", "v1", "-e", "production", cwd=path.parent)
    assert time.monotonic() - started < 15
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: deploy -e production: secret DATABASE_URL is not set (env.secret)",
        "error: deploy -e production: secret OPSCTL_REGISTRY_PASSWORD is not set (registry.password_env "
        "(localhost:5000))",
    ], result.stderr
    assert not (path.parent / ".opsctl-home" / "runs").exists()  # no playbook ever started


def test_provision_apply_stops_before_calling_aws(config_project: Callable[..., Path]) -> None:
    text = VALID.replace("  endpoint_url: http://127.0.0.1:5000", "  endpoint_url: http://192.0.2.1:9\n  rds: {}")
    path = config_project(text)
    started = time.monotonic()
    result = opsctl("provision", "apply", "-e", "production", "--yes", cwd=path.parent)
    assert time.monotonic() - started < 15
    assert result.returncode == 1
    assert result.stderr.startswith("error: provision apply -e production: secret DATABASE_PASSWORD is not set")


def test_check_one_environment_reports_unset_secrets_and_the_dockerfile(
    config_project: Callable[..., Path]
) -> None:
    path = config_project()
    result = opsctl("check", "-e", "production", cwd=path.parent)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: opsctl.yml:1: build.dockerfile: Dockerfile does not exist ('opsctl build' needs it)",
        f"error: opsctl.yml:{line_of(VALID, 'registry:')}: secret OPSCTL_REGISTRY_PASSWORD is not set "
        "(registry.password_env (localhost:5000))",
        f"error: opsctl.yml:{line_of(VALID, 'secret: [DATABASE_URL]')}: secret DATABASE_URL is not set "
        "(env.secret)",
    ], result.stderr
    # Without -e: the config and every inventory, not one environment's secrets.
    assert opsctl("check", cwd=path.parent).returncode == 0

    (path.parent / "Dockerfile").write_text("FROM scratch\n")
    (path.parent / "app.secrets.env").write_text("DATABASE_URL=postgres://db\n")
    path.write_text(VALID.replace("app: hello\n", "app: hello\nsecrets_file: app.secrets.env\n"))
    ok = opsctl("check", "-e", "production", "--json", cwd=path.parent, env={"OPSCTL_REGISTRY_PASSWORD": "pw"})
    assert ok.returncode == 0, ok.stderr
    assert '"production"' in ok.stdout and '"staging"' not in ok.stdout
