"""opsctl as a user installs it: a wheel built from the checkout, installed with its `lab` extra into
a fresh virtualenv outside the checkout, run from directories outside the checkout.

The wheel must carry the playbooks, Ansible modules and templates (exec bits included), and that
opsctl must init, check, build, deploy and roll back the example app on the lab.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import opsctl
from tests.lab.helpers import HELLO, ROOT, releases, reset_fleet, versions

pytestmark = pytest.mark.lab

DATA_DIRS = ("opsctl/playbooks", "opsctl/templates")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    home: Path
    """A scratch directory outside the checkout to run commands in."""

    def run(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "opsctl"), *args], cwd=cwd or self.home, env=clean_env(env),
            capture_output=True, text=True, timeout=timeout, check=False,
        )


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without anything that would find the checkout's opsctl."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "OPSCTL_CONFIG"}}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if str(ROOT) not in p)
    return env | (extra or {})


def check(argv: list[str], cwd: Path, timeout: float = 600) -> None:
    result = subprocess.run(argv, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    assert not root.resolve().is_relative_to(ROOT)
    dist = root / "dist"
    # pip's cache serves the build backend and the dependencies; only the package registry is used.
    check([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], cwd=root)
    (wheel,) = dist.glob("opsctl-*.whl")
    venv = root / "venv"
    check([sys.executable, "-m", "venv", str(venv)], cwd=root)
    check([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel}[lab]"], cwd=root)
    home = root / "work"
    home.mkdir()
    return Installed(wheel=wheel, bin=venv / "bin", home=home)


def test_the_wheel_carries_playbooks_and_templates_with_their_modes(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        modes = {i.filename: i.external_attr >> 16 for i in wheel.infolist()}
    expected = {
        str(path.relative_to(ROOT)): path.stat().st_mode
        for data in DATA_DIRS
        for path in (ROOT / data).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected and set(expected) <= set(modes), sorted(set(expected) - set(modes))
    for name, mode in expected.items():
        assert bool(modes[name] & stat.S_IXUSR) == bool(mode & stat.S_IXUSR), name
    assert "opsctl/lab/moto_server.py" in modes


def test_installed_opsctl_runs_from_anywhere(installed: Installed) -> None:
    where = subprocess.run(
        [str(installed.bin / "python"), "-c", "import opsctl; print(opsctl.__file__)"],
        cwd=installed.home, env=clean_env(), capture_output=True, text=True, timeout=60, check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.bin.parent)

    version = installed.run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"opsctl {opsctl.__version__}"

    project = installed.home / "shop"
    project.mkdir()
    init = installed.run("init", cwd=project)
    assert init.returncode == 0, init.stderr
    checked = installed.run("check", cwd=project)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "config OK" in checked.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_lab_up_and_the_moto_launcher_work_from_the_wheel(installed: Installed, lab: Any) -> None:
    up = installed.run("lab", "up", "--json")  # the running lab, reused as it is
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["up"] is True

    port = free_port()
    server = subprocess.Popen(
        [str(installed.bin / "python"), "-m", "opsctl.lab.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=installed.home, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the packaged moto launcher exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the packaged moto launcher did not answer in 60 s"
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def hello_copy(installed: Installed, lab: Any) -> Iterator[Path]:
    copy = installed.home / "hello"
    shutil.copytree(HELLO, copy, ignore=shutil.ignore_patterns("__pycache__"))
    reset_fleet()
    yield copy
    reset_fleet()  # other lab tests want the servers as the lab made them


def test_build_deploy_and_rollback_with_the_installed_opsctl(installed: Installed, hello_copy: Path) -> None:
    env = {"HELLO_SECRET_KEY": "packaged-secret"}

    def ok(*args: str) -> None:
        result = installed.run(*args, cwd=hello_copy, env=env)
        assert result.returncode == 0, f"opsctl {' '.join(args)}:\n{result.stdout}\n{result.stderr}"

    ok("check")
    for version in ("pkg1", "pkg2"):
        ok("build", version)  # a copy outside any git repository: nothing to be dirty
    ok("deploy", "pkg1", "-e", "lab")
    ok("deploy", "pkg2", "-e", "lab")
    assert set(versions().values()) == {"pkg2"}
    ok("rollback", "-e", "lab")
    assert set(versions().values()) == {"pkg1"}
    assert [(r["kind"], r["version"], r["status"]) for r in releases()][:3] == [
        ("rollback", "pkg1", "succeeded"),
        ("deploy", "pkg2", "succeeded"),
        ("deploy", "pkg1", "succeeded"),
    ]
