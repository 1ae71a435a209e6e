"""`opsctl build` at the command line, without Docker: validation order, exit codes, git state."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.build import check_git, git
from opsctl.errors import OpsctlError

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello"


def opsctl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # -X importtime lists every module imported, so a test can prove docker was never loaded.
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "opsctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true", **(env or {})},
        timeout=60,
        check=False,
    )


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("version", ["v1;touch /tmp/x", "$(id)", "a b", "../x", "v1\n", "", "x" * 129])
def test_hostile_version_exits_2_before_anything(version: str, tmp_path: Path) -> None:
    # tmp_path has no opsctl.yml: a config error would exit 1, so exit 2 proves VERSION was
    # checked first; and the docker SDK was never even imported.
    result = opsctl("build", version, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "invalid version" in result.stderr
    assert "docker" not in imported(result.stderr)
    assert not (tmp_path / "x").exists()


def test_bad_build_arg_exits_2(tmp_path: Path) -> None:
    result = opsctl("build", "v1", "--build-arg", "NOT VALID", cwd=tmp_path)
    assert result.returncode == 2
    assert "--build-arg" in result.stderr


def test_help_does_not_import_docker(tmp_path: Path) -> None:
    result = opsctl("build", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "--allow-dirty" in result.stdout
    assert "docker" not in imported(result.stderr)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_git_state_clean_dirty_and_scoped(tmp_path: Path) -> None:
    app = tmp_path / "app"
    other = tmp_path / "other"
    app.mkdir()
    other.mkdir()
    (app / "Dockerfile").write_text("FROM scratch\n")
    (other / "notes.txt").write_text("x\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "init")

    state = git.inspect(app, [app / "Dockerfile"])
    assert state.repo_root == tmp_path.resolve()
    assert state.revision is not None and len(state.revision) == 40
    assert state.dirty == []

    # A change outside the build context does not make this image's build dirty.
    (other / "notes.txt").write_text("changed\n")
    assert git.inspect(app, [app / "Dockerfile"]).dirty == []

    (app / "Dockerfile").write_text("FROM scratch\nLABEL a=b\n")
    (app / "new.txt").write_text("untracked files go into the image too\n")
    dirty = git.inspect(app, [app / "Dockerfile"]).dirty
    assert sorted(dirty) == ["app/Dockerfile", "app/new.txt"]

    with pytest.raises(OpsctlError, match="uncommitted changes") as caught:
        check_git(git.inspect(app), allow_dirty=False, context_name=str(app))
    assert caught.value.exit_code == 1
    assert "app/new.txt" in caught.value.message
    check_git(git.inspect(app), allow_dirty=True, context_name=str(app))  # a warning only


def test_git_state_outside_a_repository(tmp_path: Path) -> None:
    state = git.inspect(tmp_path)
    # pytest's tmp_path is not inside a git repository on any machine we run on.
    assert state.repo_root is None
    assert state.revision is None
    assert state.dirty == []
    check_git(state, allow_dirty=False, context_name=str(tmp_path))  # warns, does not refuse


def test_dirty_build_refused_by_the_cli(tmp_path: Path) -> None:
    # A copy of the example in its own repository, with an uncommitted change: exit 1 before
    # any Docker work (the docker SDK is not even imported).
    import shutil

    app = tmp_path / "hello"
    shutil.copytree(HELLO, app)
    _git(app, "init", "-q")
    _git(app, "add", ".")
    _git(app, "commit", "-q", "-m", "init")
    (app / "hello.py").write_text((app / "hello.py").read_text() + "\n# local change\n")
    result = opsctl("build", "v1", cwd=app, env={"OPSCTL_LAB_DIR": str(tmp_path / "lab")})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "uncommitted changes" in result.stderr
    assert "hello.py" in result.stderr
    assert "--allow-dirty" in result.stderr
    assert "docker" not in imported(result.stderr)
