"""Hooks in .opsctl/hooks/: real executables run as argument lists, with a minimal environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.loader import load
from opsctl.errors import OpsctlError
from opsctl.hooks import HookContext, HookFailed, Hooks
from tests.unit.config_samples import VALID

DUMP_ENV = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["OPSCTL_HOOK"] + ".env.json", "w") as f:
    json.dump(dict(os.environ), f)
print("hello from", os.environ["OPSCTL_HOOK"], "[bold]not markup[/bold]")
"""


def hook(project: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = project / ".opsctl" / "hooks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    path.chmod(mode)
    return path


def context() -> HookContext:
    return HookContext(command="deploy", app="hello", env="production", version="v2", hosts=["web01", "web02"],
                       user="me@laptop", message="fix $(whoami) `id` ; rm -rf /")


@pytest.fixture
def project(config_project: Callable[..., Path]) -> Path:
    return config_project().parent


def hooks_of(project: Path, **kwargs: object) -> Hooks:
    return Hooks.for_config(load(project / "opsctl.yml"), **kwargs)  # type: ignore[arg-type]


def test_a_hook_gets_the_facts_and_no_secret(project: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://secret")  # a secret opsctl.yml names
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("OPSCTL_REGISTRY_PASSWORD", "registry-secret")
    hook(project, "pre-deploy", DUMP_ENV)
    hooks_of(project).pre("pre-deploy", context())
    env = json.loads((project / "pre-deploy.env.json").read_text())  # ran in opsctl.yml's directory
    assert env["OPSCTL_APP"] == "hello" and env["OPSCTL_ENV"] == "production"
    assert env["OPSCTL_VERSION"] == "v2" and env["OPSCTL_HOSTS"] == "web01,web02"
    assert env["OPSCTL_USER"] == "me@laptop" and env["OPSCTL_MESSAGE"] == "fix $(whoami) `id` ; rm -rf /"
    assert env["OPSCTL_RELEASE"] == "" and env["OPSCTL_PREVIOUS_VERSION"] == ""
    assert float(env["OPSCTL_RUNTIME"]) >= 0 and "OPSCTL_ERROR" not in env
    assert "PATH" in env
    for name in ("DATABASE_URL", "AWS_SECRET_ACCESS_KEY", "OPSCTL_REGISTRY_PASSWORD"):
        assert name not in env
    assert "secret" not in json.dumps(env)
    assert "pre-deploy: hello from pre-deploy [bold]not markup[/bold]" in capsys.readouterr().err


def test_a_failing_pre_hook_stops_with_its_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook(project, "pre-deploy", "#!/bin/sh\necho 'tests are red [/bold]' >&2\nexit 3\n")
    with pytest.raises(HookFailed) as failure:
        hooks_of(project).pre("pre-deploy", context())
    assert failure.value.message == "hook pre-deploy failed (exit 3); deploy did not start (its output is above)"
    assert "pre-deploy: tests are red [/bold]" in capsys.readouterr().err
    assert "--skip-hooks" in (failure.value.hint or "")


def test_post_and_on_failure_hooks_only_warn(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook(project, "post-deploy", "#!/bin/sh\nexit 1\n")
    hook(project, "on-failure", DUMP_ENV)
    hooks = hooks_of(project)
    assert hooks.post("post-deploy", context()) is False
    hooks.failed(context(), "lab2: Swap containers: unhealthy")
    assert "warning: hook post-deploy failed (exit 1)" in capsys.readouterr().err
    env = json.loads((project / "on-failure.env.json").read_text())
    assert env["OPSCTL_ERROR"] == "lab2: Swap containers: unhealthy"


def test_a_hook_that_runs_too_long_is_stopped_with_everything_it_started(
        project: Path, config_project: Callable[..., Path]) -> None:
    config_project(VALID + "hooks:\n  timeout: 0.5\n")
    pidfile = project / "child.pid"
    hook(project, "pre-build", f"#!/bin/sh\nsleep 30 &\necho $! > {pidfile}\nwait\n")
    started = time.monotonic()
    with pytest.raises(HookFailed, match=r"timed out after 0\.5s"):
        hooks_of(project).pre("pre-build", HookContext(command="build", app="hello"))
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


def test_a_hook_that_is_not_executable_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook(project, "pre-deploy", "#!/bin/sh\nexit 0\n", mode=0o644)
    hook(project, "post-deploy", "#!/bin/sh\nexit 0\n", mode=0o644)
    hooks = hooks_of(project)
    with pytest.raises(OpsctlError, match="is not an executable file; nothing was run"):
        hooks.pre("pre-deploy", context())
    assert hooks.post("post-deploy", context()) is False
    assert "post-deploy is not an executable file" in capsys.readouterr().err


def test_misnamed_hooks_are_named_once_and_samples_are_ignored(project: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    hook(project, "predeploy", "#!/bin/sh\nexit 1\n")
    hook(project, "pre-deploy.sample", "#!/bin/sh\nexit 1\n")
    hooks = hooks_of(project)
    hooks.pre("pre-deploy", context())
    hooks.post("post-deploy", context())
    err = capsys.readouterr().err
    assert err.count("predeploy is not a hook opsctl runs") == 1 and "sample" not in err


def test_skip_hooks_runs_nothing(project: Path) -> None:
    hook(project, "pre-deploy", "#!/bin/sh\nexit 1\n")
    hooks_of(project, skip=True).pre("pre-deploy", context())


def test_a_hook_whose_interpreter_is_missing_fails_cleanly(project: Path) -> None:
    hook(project, "pre-deploy", "#!/nonexistent/interpreter\n")
    with pytest.raises(HookFailed, match="exit 127"):
        hooks_of(project).pre("pre-deploy", context())


def _opsctl(*args: str, cwd: Path, secrets: bool = False) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_") or k == "OPSCTL_HOME"}
    if secrets:  # what the config names, so the check that runs before any hook passes
        environ |= {"DATABASE_URL": "postgres://x", "OPSCTL_REGISTRY_PASSWORD": "x"}
    return subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)


def test_deploy_stops_at_a_failing_pre_deploy_hook_before_touching_the_fleet(project: Path) -> None:
    # The inventory's hosts do not exist: had opsctl gone on, Ansible would have tried to reach them.
    hook(project, "pre-deploy", "#!/bin/sh\necho \"no deploys of $OPSCTL_VERSION today [/]\"\nexit 1\n")
    result = _opsctl("deploy", "v2", "-e", "production", cwd=project, secrets=True)
    assert result.returncode == 1
    assert "error: hook pre-deploy failed (exit 1); deploy did not start" in result.stderr
    assert "pre-deploy: no deploys of v2 today [/]" in result.stderr and "Traceback" not in result.stderr
    assert "lock" not in result.stderr.lower().replace("--skip-hooks", "")
    for command in (["rollback", "-e", "production"], ["provision", "apply", "-e", "production", "--yes"]):
        name = command[0]
        hook(project, f"pre-{name}", "#!/bin/sh\nexit 4\n")
        refused = _opsctl(*command, cwd=project, secrets=True)
        assert refused.returncode == 1 and f"hook pre-{name} failed (exit 4)" in refused.stderr, refused.stderr


def test_a_missing_secret_stops_a_deploy_before_its_pre_deploy_hook(project: Path) -> None:
    hook(project, "pre-deploy", "#!/bin/sh\ntouch ran\n")
    result = _opsctl("deploy", "v2", "-e", "production", cwd=project)
    assert result.returncode == 1 and "secret DATABASE_URL is not set" in result.stderr, result.stderr
    assert not (project / "ran").exists()


def test_init_writes_samples_that_do_not_run(tmp_path: Path) -> None:
    result = _opsctl("init", "shop", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    samples = sorted((tmp_path / ".opsctl" / "hooks").iterdir())
    assert [p.name for p in samples] == ["on-failure.sample", "post-deploy.sample", "pre-deploy.sample"]
    assert all(not os.access(p, os.X_OK) for p in samples)
    assert "OPSCTL_PREVIOUS_VERSION" in (tmp_path / ".opsctl" / "hooks" / "pre-deploy.sample").read_text()
