"""opsctl_state's host-side guards: raw ledger text, never replacing a longer copy, holder records
that are not what opsctl wrote. (The module runs on hosts; here it is imported as a plain module.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from opsctl.paths import playbooks_dir
from tests.unit.module_utils import load_module_util


@pytest.fixture(scope="module")
def state() -> ModuleType:
    # On a host Ansible provides ansible.module_utils.opsctl_host; here it is the same source.
    sys.modules.setdefault("ansible.module_utils.opsctl_host", load_module_util("opsctl_host"))
    spec = importlib.util.spec_from_file_location("opsctl_state", playbooks_dir() / "library" / "opsctl_state.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def entries(*numbers: int) -> list[dict[str, int]]:
    return [{"number": n} for n in numbers]


def test_read_text(state: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "releases.json"
    assert state.read_text(str(path)) == (None, None)
    path.write_bytes(b"[1, \xff]")
    assert state.read_text(str(path)) == (None, "not UTF-8 text (byte 4)")
    path.write_text("[{\"number\": 1}")  # truncated: returned as it is, judged by opsctl
    assert state.read_text(str(path)) == ("[{\"number\": 1}", None)


def test_a_copy_that_knows_a_later_release_is_never_replaced(state: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "releases.json"
    assert state.check_replace(str(path), entries(1)) is None  # no copy yet
    path.write_text(json.dumps(entries(1, 2, 3)))
    assert state.check_replace(str(path), entries(1, 2, 3, 4)) is None
    refusal = state.check_replace(str(path), entries(1, 2))
    assert refusal == f"refusing to replace {path}: it knows release #3, the new ledger ends at #2"
    path.write_text('{"not": "a ledger"}')
    assert "it is not a ledger opsctl wrote" in state.check_replace(str(path), entries(1))


@pytest.mark.parametrize("content", ['["x"]', '"text"', "not json", '{"who": "ann", "token": "t0k"}'])
def test_holder_records_never_leak_a_token_or_crash(state: ModuleType, tmp_path: Path, content: str) -> None:
    path = tmp_path / "info.json"
    path.write_text(content)
    holder = state.read_holder(str(path), {"note": "missing"})
    assert isinstance(holder, dict) and "token" not in holder
    released = state.read_holder_value(state.read_json(str(path), None))
    assert released is None or (isinstance(released, dict) and "token" not in released)
