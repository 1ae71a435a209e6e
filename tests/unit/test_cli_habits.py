"""CLI habits: examples in every --help, words for placeholders, shell completion from opsctl.yml,
JSON error objects under --json, -e prefixes, and `lab up` without the lab extra."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opsctl.help_examples import EXAMPLES
from tests.unit.config_samples import VALID


def run(*args: str, cwd: Path, env: dict[str, str] | None = None,
        prelude: str = "") -> subprocess.CompletedProcess[str]:
    """The real entry point in a fresh interpreter (prelude: code run before main())."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("OPSCTL_", "_OPSCTL")) or k == "OPSCTL_HOME"}
    code = f"import sys\n{prelude}\nfrom opsctl.cli import main\nsys.argv = ['opsctl', *{list(args)!r}]\nmain()\n"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environ | (env or {}),
        capture_output=True, text=True, timeout=60, check=False,
    )


def command_paths() -> Iterator[tuple[str, ...]]:
    from typer.main import get_command

    from opsctl.cli import app

    def walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, (*path, name))

    yield from walk(get_command(app), ())


ALL = list(command_paths())


def help_text(path: tuple[str, ...]) -> str:
    from typer.testing import CliRunner

    from opsctl.cli import app

    result = CliRunner().invoke(app, [*path, "--help"], prog_name="opsctl", env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "opsctl")
def test_every_help_ends_with_real_examples(path: tuple[str, ...]) -> None:
    text = help_text(path)
    assert "Examples:" in text, text
    examples = [line.strip() for line in text.rsplit("Examples:", 1)[1].splitlines() if line.strip()]
    assert 1 <= len(examples) <= 3, examples
    # Each example runs this very command (after global options such as -c PATH).
    for example in examples:
        words = [w for w in example.split() if not w.startswith("-")]
        assert words[0] == "opsctl"
        if path:
            assert " ".join(path) in example, (path, example)


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "opsctl")
def test_option_placeholders_are_words(path: tuple[str, ...]) -> None:
    text = help_text(path)
    options = text.split("Options:", 1)[1].split("Commands:", 1)[0].split("Examples:", 1)[0]
    assert not re.search(r"<[a-z\[\]]+>", options), options
    # A short help is cut at the first ". ": "e.g. " would cut a line short in the group's list.
    if "Commands:" in text:
        listing = text.split("Commands:", 1)[1].split("Examples:", 1)[0]
        assert not re.search(r"\b(e\.g|i\.e)\.\s*$", listing, re.M), listing


def test_examples_name_only_real_commands() -> None:
    known = {" ".join(p) for p in ALL} | {"opsctl"}
    assert set(EXAMPLES) <= known, set(EXAMPLES) - known


@pytest.fixture
def project(config_project: Callable[..., Path]) -> Path:
    return config_project().parent


def complete(project: Path, shell: str, words: str) -> list[str]:
    env = {"_OPSCTL_COMPLETE": f"complete_{shell}"}
    if shell == "bash":
        env |= {"COMP_WORDS": words, "COMP_CWORD": str(len(words.split(" ")) - 1)}
    else:
        env |= {"_TYPER_COMPLETE_ARGS": words, "_TYPER_COMPLETE_FISH_ACTION": "get-args"}
    started = time.monotonic()
    result = run(cwd=project, env=env)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 10  # never a network call
    return result.stdout.split()


def test_completion_of_environments_and_services(project: Path) -> None:
    assert complete(project, "bash", "opsctl deploy -e ") == ["production", "staging"]
    assert complete(project, "fish", "opsctl status -e st") == ["staging"]
    services = complete(project, "bash", "opsctl logs ")
    assert services and "web" in services
    assert complete(project, "bash", "opsctl deploy --services web,") == [
        f"web,{s}" for s in services if s != "web"
    ]


def test_completion_is_quiet_without_or_with_a_broken_config(tmp_path: Path) -> None:
    assert complete(tmp_path, "bash", "opsctl deploy -e ") == []
    (tmp_path / "opsctl.yml").write_text("environments: [\n")
    assert complete(tmp_path, "bash", "opsctl deploy -e ") == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script(tmp_path: Path, shell: str) -> None:
    result = run("--show-completion", shell, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "_OPSCTL_COMPLETE" in result.stdout


def test_json_failures_print_an_error_object_too(tmp_path: Path) -> None:
    result = run("check", "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert "error:" in result.stderr and "no such config file" in result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["exit_code"] == 1 and "opsctl init" in data["hint"]
    assert "no such config file" in data["error"] and data["problems"] == [data["error"]]

    usage = run("deploy", "--json", "--bogus", cwd=tmp_path)
    assert usage.returncode == 2 and "No such option" in usage.stderr
    assert json.loads(usage.stdout)["exit_code"] == 2

    # Without --json, stdout stays empty; after `--` (exec's command) --json is not opsctl's.
    assert run("check", cwd=tmp_path).stdout == ""
    assert run("exec", "--", "x", "--json", cwd=tmp_path).stdout == ""


def test_a_command_that_printed_its_json_gets_no_second_object(tmp_path: Path) -> None:
    prelude = textwrap.dedent(
        """
        from opsctl import cli, output
        from opsctl.errors import OpsctlError
        def _half(json_: bool = cli.typer.Option(False, "--json")) -> None:
            output.emit_json({"plan": "conflict"})
            raise OpsctlError("refused")
        cli.app.command("half")(_half)
        """
    )
    result = run("half", "--json", cwd=tmp_path, prelude=prelude)
    assert result.returncode == 1 and "refused" in result.stderr
    assert json.loads(result.stdout) == {"plan": "conflict"}


def test_env_prefix_and_suggestion(project: Path) -> None:
    assert run("config", "-e", "prod", "--json", cwd=project).returncode == 0
    wrong = run("config", "-e", "prodution", cwd=project)
    assert wrong.returncode == 2 and "did you mean 'production'?" in wrong.stderr


def test_an_ambiguous_env_prefix_is_refused(config_project: Callable[..., Path]) -> None:
    from opsctl.config.loader import load
    from opsctl.errors import UsageError

    text = VALID.replace("\n  staging:\n", "\n  stage-eu:\n    inventory: inventories/staging.yml\n  staging:\n", 1)
    config = load(config_project(text))
    assert "stage-eu" in config.environments
    with pytest.raises(UsageError, match="ambiguous: it starts stage-eu, staging"):
        config.environment("stag")
    assert config.environment("stage-")[0] == "stage-eu"


def test_lab_up_without_the_lab_extra_says_what_to_install_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run("lab", "up", cwd=tmp_path, env={"OPSCTL_LAB_DIR": str(tmp_path / "lab")},
                 prelude="sys.modules['moto'] = None  # as if moto were not installed")
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pipx install --force 'opsctl[lab]'" in lines[0], result.stderr
    assert not (tmp_path / "lab").exists()  # nothing was started or written
