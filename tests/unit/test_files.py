"""opsctl.files: private (0600) files replaced atomically, each write through its own temporary."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from opsctl import files
from opsctl.lab import state


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_has_the_text_and_mode_0600_and_no_temporary_is_left(tmp_path: Path) -> None:
    target = tmp_path / "secrets.env"
    files.write_private_text(target, "KEY=välue\n")
    assert target.read_bytes() == "KEY=välue\n".encode()
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.env"]


def test_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    # A umask that takes the owner's write bit would otherwise leave a file its owner cannot rewrite.
    old = os.umask(0o277)
    try:
        files.write_private_text(tmp_path / "key", "k")
    finally:
        os.umask(old)
    assert mode(tmp_path / "key") == 0o600


def test_json_is_what_json_dumps_gives(tmp_path: Path) -> None:
    value = {"hosts": ["web1", "web2"], "n": 1, "ok": True, "text": "é"}
    files.write_private_json(tmp_path / "data.json", value)
    assert (tmp_path / "data.json").read_text(encoding="utf-8") == json.dumps(value)
    assert mode(tmp_path / "data.json") == 0o600


def test_an_existing_file_is_replaced_not_rewritten_in_place(tmp_path: Path) -> None:
    target = tmp_path / "lab.json"
    target.write_text("old")
    target.chmod(0o644)
    before = target.stat().st_ino
    # A reader that opened the old file keeps reading the old content, never a half-written new one.
    with target.open() as reader:
        files.write_private_text(target, "new")
        assert reader.read() == "old"
    assert target.read_text() == "new"
    assert target.stat().st_ino != before
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["lab.json"]


def test_a_value_json_cannot_encode_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_text('{"old": 1}')
    with pytest.raises(TypeError):
        files.write_private_json(target, {"x": object()})
    assert target.read_text() == '{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


@pytest.mark.parametrize("fails", ["fsync", "replace"])
def test_a_failed_write_removes_its_temporary_and_leaves_the_old_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str) -> None:
    target = tmp_path / "id_ed25519"
    target.write_text("old key")
    seen: list[Path] = []

    def broken(*args: object) -> None:
        seen.extend(Path(p) for p in tmp_path.iterdir() if p != target)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, fails, broken)
    with pytest.raises(OSError, match="No space left"):
        files.write_private_text(target, "new key")
    assert len(seen) == 1 and seen[0].name.endswith(".tmp")  # it was there when the write failed
    assert target.read_text() == "old key"
    assert [p.name for p in tmp_path.iterdir()] == ["id_ed25519"]


def test_two_writers_of_one_file_each_write_through_their_own_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both writers finish writing before either renames: with a shared temporary, one would have
    truncated the other's content, and the second rename would find no temporary left."""
    target = tmp_path / "data.json"
    both_written = threading.Barrier(2, timeout=10)
    real_replace = os.replace
    temporaries: list[str] = []

    def replace_when_both_have_written(src: str, dst: Path) -> None:
        temporaries.append(src)
        both_written.wait()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_when_both_have_written)
    values = [{"writer": n, "payload": str(n) * 100_000} for n in range(2)]
    errors: list[BaseException] = []

    def write(value: dict[str, object]) -> None:
        try:
            files.write_private_json(target, value)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(value,)) for value in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert len(set(temporaries)) == 2
    assert json.loads(target.read_text()) in values
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_leftover_temporaries_are_those_of_that_file_only(tmp_path: Path) -> None:
    target = tmp_path / "secrets.env"
    mine = [tmp_path / ".secrets.env.abc123.tmp", tmp_path / ".secrets.env.x_y.tmp"]
    others = [tmp_path / ".secrets.env.abc123", tmp_path / ".other.env.abc.tmp", tmp_path / "secrets.env"]
    for path in mine + others:
        path.write_text("x")
    assert files.leftover_temporaries(target) == sorted(mine)
    assert files.leftover_temporaries(tmp_path / "gone" / "secrets.env") == []


def test_lab_remove_files_also_removes_the_temporaries_a_killed_write_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab_dir = tmp_path / "lab"
    state.ensure_dir(lab_dir)

    def killed(*args: object) -> None:
        raise KeyboardInterrupt

    # A kill between writing and renaming cannot be caught: stop the cleanup from running instead.
    monkeypatch.setattr(os, "unlink", lambda path: None)
    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        state.write_private(lab_dir / state.SECRETS_FILE, "REGISTRY_PASSWORD=x\n")
    monkeypatch.undo()
    (lab_dir / (state.STATE_FILE + ".tmp")).write_text("x")  # write_public's, or an older opsctl's
    assert len(list(lab_dir.iterdir())) == 2
    state.remove_files(lab_dir)
    assert not lab_dir.exists()
