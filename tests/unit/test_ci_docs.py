"""docs/ci.md's pipelines run exactly the opsctl lines of tools/ci-example.sh (which the lab tests run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "ci.md").read_text()
SCRIPT = (ROOT / "tools" / "ci-example.sh").read_text()


def opsctl_lines(text: str) -> list[str]:
    """`opsctl ...` commands, with YAML list/`run:` prefixes and trailing comments removed."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(-\s+)?(run:\s+)?", "", line)
        if line.startswith("opsctl "):
            found.append(line.split("  #", 1)[0].strip())
    return found


def block(language: str, heading: str) -> str:
    section = DOC.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert match, f"no {language} block under '## {heading}'"
    return match.group(1)


STEPS = opsctl_lines(SCRIPT)


def test_the_script_has_the_steps() -> None:
    assert STEPS and any(line.startswith("opsctl deploy") for line in STEPS)
    assert opsctl_lines(block("sh", "The steps")) == STEPS


@pytest.mark.parametrize("heading", ["GitHub Actions", "GitLab CI"])
def test_each_pipeline_runs_exactly_the_script_lines(heading: str) -> None:
    assert opsctl_lines(block("yaml", heading)) == STEPS


@pytest.mark.parametrize("heading", ["GitHub Actions", "GitLab CI"])
def test_each_pipeline_is_valid_yaml(heading: str) -> None:
    import yaml

    assert isinstance(yaml.safe_load(block("yaml", heading)), dict)
