"""Fixtures for the unit tests (sample texts live in config_samples.py, importable by tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.config_samples import PRODUCTION_INI, STAGING_YML, VALID


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """opsctl's per-user state (the inventory cache among it) stays out of the real ~/.opsctl.

    Set in the environment, so the opsctl processes a test starts get it too; a test that needs a
    particular OPSCTL_HOME still sets its own.
    """
    monkeypatch.setenv("OPSCTL_HOME", str(tmp_path_factory.mktemp("opsctl-home")))


@pytest.fixture
def config_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project (opsctl.yml + inventories) into tmp_path; returns the config path."""

    def write(config: str = VALID, files: dict[str, str] | None = None) -> Path:
        all_files = {
            "inventories/production.ini": PRODUCTION_INI,
            "inventories/staging.yml": STAGING_YML,
            **(files or {}),
        }
        for name, body in all_files.items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        path = tmp_path / "opsctl.yml"
        path.write_text(config, encoding="utf-8")
        return path

    return write
