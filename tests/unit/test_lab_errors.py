"""Every lab failure says what failed and how to fix it (no engine, not root, no debootstrap)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from opsctl.errors import OpsctlError, UsageError
from opsctl.lab import engine, fleet, images


def test_no_docker_engine_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(OpsctlError) as info:
        engine.connect()
    assert "cannot reach the Docker engine" in info.value.message
    assert info.value.hint is not None
    assert "dockerd" in info.value.hint and "tools/setup-machine.sh" in info.value.hint


def test_building_the_base_needs_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(OpsctlError) as info:
        images._require_tools()
    assert "needs root" in info.value.message
    assert info.value.hint is not None and "sudo opsctl lab up" in info.value.hint


def test_building_the_base_needs_debootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(OpsctlError) as info:
        images._require_tools()
    assert "debootstrap is not installed" in info.value.message
    assert info.value.hint is not None and "apt-get install debootstrap" in info.value.hint


@pytest.mark.parametrize("hosts", [0, -1, 21])
def test_host_count_is_checked_before_anything_runs(
    hosts: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPSCTL_LAB_DIR", str(tmp_path / "lab"))
    with pytest.raises(UsageError):
        fleet.up(hosts)
    assert not (tmp_path / "lab").exists()


def test_build_inputs_hash_changes_with_templates(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    first = images.tree_hash(tmp_path, extra="base1")
    assert first == images.tree_hash(tmp_path, extra="base1")
    assert first != images.tree_hash(tmp_path, extra="base2")
    (tmp_path / "Dockerfile").write_text("FROM y\n")
    assert first != images.tree_hash(tmp_path, extra="base1")
