"""Start-up: the CLI surface is complete, and --help/check stay clear of the heavy libraries."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

import opsctl

COMMANDS = [
    "init", "check", "config", "build", "deploy", "rollback", "releases", "status",
    "logs", "exec", "lock", "provision", "bootstrap", "lab", "graph", "dashboard", "watch", "dev", "remove",
]
HEAVY = ["boto3", "botocore", "docker", "ansible_runner", "ansible"]


def run_in_process(argv: list[str], cwd: Path | None = None, prelude: str = "") -> dict[str, object]:
    """Run opsctl's main() in a fresh interpreter; return its exit code, output and imported modules."""
    code = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        sys.argv = ["opsctl", *{argv!r}]
        from opsctl import cli
        {prelude}
        out = io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        print(json.dumps({{"code": code, "stdout": out.getvalue(), "modules": sorted(sys.modules)}}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout, result.stderr
    report: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    report["stderr"] = result.stderr
    return report


def heavy_modules(report: dict[str, object]) -> list[str]:
    modules = report["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    report = run_in_process(["--help"])
    assert report["code"] == 0
    commands = str(report["stdout"]).split("Commands:", 1)[1].split("Examples:", 1)[0]
    listed = [line.split()[0] for line in commands.splitlines() if line.strip()]
    assert sorted(listed) == sorted(COMMANDS)
    assert heavy_modules(report) == []


def test_check_on_a_valid_config_imports_nothing_heavy(config_project: Callable[..., Path]) -> None:
    path = config_project()
    report = run_in_process(["check"], cwd=path.parent)
    assert report["code"] == 0, report["stderr"]
    assert "config OK" in str(report["stdout"])
    assert heavy_modules(report) == []


@pytest.mark.parametrize("argv", [["config", "-e", "production", "--json"], ["graph", "-e", "production"]])
def test_config_and_graph_import_nothing_heavy(config_project: Callable[..., Path], argv: list[str]) -> None:
    path = config_project()
    report = run_in_process(argv, cwd=path.parent)
    assert report["code"] == 0, report["stderr"]
    assert report["stdout"]
    assert heavy_modules(report) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_text(command: str) -> None:
    from typer.testing import CliRunner

    from opsctl.cli import app

    result = CliRunner().invoke(app, [command, "--help"], prog_name="opsctl")
    assert result.exit_code == 0, result.output
    assert f"opsctl {command}" in result.output
    # The paragraph after the usage line is the command's own description.
    body = result.output.split("\n\n", 2)
    assert len(body) >= 2 and body[1].strip(), result.output


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "opsctl", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"opsctl {opsctl.__version__}"


def test_a_not_implemented_command_exits_2_and_says_so() -> None:
    # A command added on the fly, so the contract is checked even after every real command is built.
    prelude = (
        "from opsctl.errors import NotImplementedYet\n"
        "        def _stub() -> None:\n"
        "            raise NotImplementedYet('frobnicate')\n"
        "        cli.app.command('frobnicate')(_stub)"
    )
    report = run_in_process(["frobnicate"], prelude=prelude)
    assert report["code"] == 2
    assert "'opsctl frobnicate' is not implemented yet" in str(report["stderr"])
    assert report["stdout"] == ""


STUB_ARGS = {"logs": ["web"], "exec": ["true"]}


def _stub_commands() -> list[str]:
    """Top-level commands whose body is still only `raise NotImplementedYet(...)`."""
    from opsctl import cli

    stubs = []
    for info in cli.app.registered_commands:
        if info.callback is None or not info.name:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(info.callback)))
        body = tree.body[0].body if isinstance(tree.body[0], ast.FunctionDef) else []
        statements = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(statements) == 1 and "NotImplementedYet" in ast.unparse(statements[0]):
            stubs.append(info.name)
    return stubs


@pytest.mark.parametrize("command", _stub_commands() or ["(none left)"])
def test_stub_commands_do_not_pretend_to_succeed(command: str, tmp_path: Path) -> None:
    if command == "(none left)":
        pytest.skip("every top-level command is implemented")
    result = subprocess.run(
        [sys.executable, "-m", "opsctl", command, *STUB_ARGS.get(command, [])],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "not implemented" in result.stderr


def test_help_starts_within_the_budget() -> None:
    """`opsctl --help` (shell completion on) in at most 0.2 s: the best of 7 runs, so a busy
    machine's slow run does not count, but an import that costs real time does."""
    import time

    code = "import sys; sys.argv = ['opsctl', '--help']; from opsctl.cli import main; main()"
    times = []
    for _ in range(7):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=True)
        times.append(time.perf_counter() - started)
    assert min(times) <= 0.2, sorted(times)
