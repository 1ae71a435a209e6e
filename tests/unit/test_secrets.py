"""Secret values: lookup order, env files, and that a value never shows up in an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.loader import load
from opsctl.config.models import Config
from opsctl.config.secrets import app_env, read_env_file, secret_files, secret_source, secret_value
from opsctl.errors import OpsctlError
from tests.unit.config_samples import VALID

SECRET = "s3cr3t-do-not-print"

WITH_FILES = VALID.replace("app: hello\n", "app: hello\nsecrets_file: shared.secrets.env\n").replace(
    "    tag: latest\n", "    tag: latest\n    secrets_file: staging.secrets.env\n    env:\n      secret: [STAGING_ONLY]\n"
)


@pytest.fixture
def config(config_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Config:
    for name in ("DATABASE_URL", "STAGING_ONLY", "ONLY_SHARED"):
        monkeypatch.delenv(name, raising=False)
    return load(config_project(WITH_FILES))


def files(config: Config, staging: str | None, shared: str | None) -> None:
    for name, text in (("staging.secrets.env", staging), ("shared.secrets.env", shared)):
        if text is not None:
            (config.base_dir / name).write_text(text, encoding="utf-8")


# (process env value, staging file line, shared file line, expected value, expected source prefix)
ORDER = [
    ("from-env", "DATABASE_URL=from-staging", "DATABASE_URL=from-shared", "from-env", "environment variable"),
    (None, "DATABASE_URL=from-staging", "DATABASE_URL=from-shared", "from-staging", "secrets file"),
    (None, "OTHER=1", "DATABASE_URL=from-shared", "from-shared", "secrets file"),
    (None, None, "DATABASE_URL=from-shared", "from-shared", "secrets file"),
    ("", "DATABASE_URL=from-staging", None, "", "environment variable"),  # set-but-empty still wins
]


@pytest.mark.parametrize(("env", "staging", "shared", "value", "source"), ORDER)
def test_lookup_order(
    config: Config, monkeypatch: pytest.MonkeyPatch,
    env: str | None, staging: str | None, shared: str | None, value: str, source: str,
) -> None:
    if env is not None:
        monkeypatch.setenv("DATABASE_URL", env)
    files(config, staging, shared)
    assert secret_value(config, "staging", "DATABASE_URL") == value
    assert secret_source(config, "staging", "DATABASE_URL").startswith(source)


def test_another_environment_does_not_read_staging_file(config: Config) -> None:
    files(config, "DATABASE_URL=from-staging", None)
    with pytest.raises(OpsctlError, match="secret DATABASE_URL is not set"):
        secret_value(config, "production", "DATABASE_URL")
    assert secret_files(config, "production") == [config.base_dir / "shared.secrets.env"]
    assert secret_files(config, "staging") == [
        config.base_dir / "staging.secrets.env", config.base_dir / "shared.secrets.env"
    ]


def test_missing_secret_says_where_it_looked(config: Config) -> None:
    with pytest.raises(OpsctlError) as info:
        secret_value(config, "staging", "DATABASE_URL")
    assert info.value.hint is not None
    assert "staging.secrets.env" in info.value.hint and "shared.secrets.env" in info.value.hint
    assert secret_source(config, "staging", "DATABASE_URL") == "nowhere (not set)"


@pytest.mark.parametrize(
    ("from_env", "bad"),
    [(True, f"{SECRET}\nINJECTED=1"), (True, f"{SECRET}\r"), (False, f"{SECRET}\0")],  # env vars cannot hold NUL
)
def test_a_hostile_value_is_refused_without_showing_it(
    config: Config, monkeypatch: pytest.MonkeyPatch, from_env: bool, bad: str
) -> None:
    if from_env:
        monkeypatch.setenv("DATABASE_URL", bad)
    else:
        files(config, None, f"DATABASE_URL={bad}\n")
    with pytest.raises(OpsctlError) as info:
        secret_value(config, "staging", "DATABASE_URL")
    shown = f"{info.value.message} {info.value.hint or ''}"
    assert "DATABASE_URL" in shown and "newline or NUL" in shown
    assert SECRET not in shown


def test_a_malformed_secrets_file_line_is_reported_without_its_content(config: Config) -> None:
    files(config, None, f"# ok\n{SECRET}\n")
    with pytest.raises(OpsctlError) as info:
        secret_value(config, "staging", "DATABASE_URL")
    assert "shared.secrets.env:2: expected KEY=VALUE" in info.value.message
    assert SECRET not in info.value.message


def test_read_env_file_syntax(tmp_path: Path) -> None:
    path = tmp_path / "x.env"
    path.write_text(
        "# comment\n\nA=1\nexport B = two\nC='quoted value'\nD=\"dq\"\nE=a=b\nF=\nG='unbalanced\n",
        encoding="utf-8",
    )
    assert read_env_file(path) == {
        "A": "1", "B": "two", "C": "quoted value", "D": "dq", "E": "a=b", "F": "", "G": "'unbalanced"
    }


def test_app_env_merges_clear_values_and_collects_secrets(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://x")
    files(config, "STAGING_ONLY=yes", None)
    clear, secrets = app_env(config, "staging")
    assert clear == {"LOG_LEVEL": "info"}
    assert secrets == {"DATABASE_URL": "postgres://x", "STAGING_ONLY": "yes"}


def test_app_env_renders_clear_values_as_text(config_project: Callable[..., Path]) -> None:
    text = VALID.replace("    LOG_LEVEL: info\n", "    LOG_LEVEL: info\n    DEBUG: false\n    WORKERS: 4\n")
    text = text.replace("  secret: [DATABASE_URL]\n", "")
    clear, secrets = app_env(load(config_project(text)), "production")
    assert clear == {"LOG_LEVEL": "info", "DEBUG": "false", "WORKERS": "4"}
    assert secrets == {}
