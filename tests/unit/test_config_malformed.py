"""Issue 9 §3: malformed input is one clear `error:` line (file and line), exit 1, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.config_samples import VALID, line_of, parse_ok, problems_of


def opsctl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPSCTL_", "AWS_")) or k == "OPSCTL_HOME"}
    return subprocess.run([sys.executable, "-m", "opsctl", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)


def assert_one_error(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {starts}"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_byte_that_is_not_utf8(config_project: Callable[..., Path]) -> None:
    path = config_project()
    path.write_bytes(VALID.encode().replace(b"LOG_LEVEL: info", b"LOG_LEVEL: caf\xe9"))
    assert_one_error(opsctl("check", cwd=path.parent),
                     f"opsctl.yml:{line_of(VALID, 'LOG_LEVEL')}: byte 0xe9 is not UTF-8")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("app: &a [*a]\n", "opsctl.yml:1: invalid YAML: an alias refers to the node that contains it"),
        ("a: &a [x, *a]\n", "opsctl.yml:1: invalid YAML: an alias refers to the node that contains it"),
        ("x: \x00\n", "opsctl.yml:1: invalid YAML: character '\\x00' is not allowed"),
    ],
)
def test_bad_yaml_is_one_line(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "opsctl.yml").write_text(text)
    assert_one_error(opsctl("check", cwd=tmp_path), fragment)


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    levels = ["a: &a [" + ",".join(['"lol"'] * 9) + "]"]
    for prev, name in zip("abcdefghi", "bcdefghij", strict=False):
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    (tmp_path / "opsctl.yml").write_text("\n".join(levels) + "\n")  # ~9^10 values when expanded
    started = time.monotonic()
    result = opsctl("check", cwd=tmp_path)
    assert time.monotonic() - started < 10
    assert_one_error(result, "opsctl.yml:")
    assert "aliases expand to more than" in result.stderr


def test_many_plain_values_are_not_an_alias_bomb() -> None:
    many = "\n".join(f"    K{i}: v" for i in range(60_000))
    config = parse_ok(VALID.replace("    LOG_LEVEL: info", many))
    assert len(config.env.clear) == 60_000


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  endpoint_url: http://127.0.0.1:5000", "  endpoint_url: not a url",
         "aws.endpoint_url: expected an http(s):// URL like http://127.0.0.1:5000, got 'not a url'"),
        ("  endpoint_url: http://127.0.0.1:5000", "  endpoint_url: ftp://x",
         "aws.endpoint_url: expected an http(s):// URL"),
        ("  region: eu-west-1", "  region: mars-1",
         "aws.region: expected an AWS region like us-east-1 or eu-west-1, got 'mars-1'"),
        ("  region: eu-west-1", "  region: us-mars-1", "aws.region: expected an AWS region"),
    ],
)
def test_bad_aws_settings(old: str, new: str, expected: str) -> None:
    problems = problems_of(VALID.replace(old, new))
    line = line_of(VALID, old.strip())
    assert problems == [f"opsctl.yml:{line}: {expected}"] or (
        len(problems) == 1 and problems[0].startswith(f"opsctl.yml:{line}: {expected}")
    ), problems


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1",
                                    "cn-northwest-1", "il-central-1", "mx-central-1", "ca-west-1"])
def test_real_regions_are_accepted(region: str) -> None:
    assert parse_ok(VALID.replace("region: eu-west-1", f"region: {region}")).aws.region == region


def test_an_empty_endpoint_url_means_none() -> None:
    # The README's own `${AWS_ENDPOINT_URL:-}`, with the variable unset.
    text = VALID.replace("  endpoint_url: http://127.0.0.1:5000", "  endpoint_url: ${AWS_ENDPOINT_URL:-}")
    assert parse_ok(text, {}).aws.endpoint_url is None
    assert parse_ok(text, {"AWS_ENDPOINT_URL": "http://localhost:4566"}).aws.endpoint_url == (
        "http://localhost:4566"
    )


def test_init_where_inventories_is_a_file_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "inventories").write_text("not a directory\n")
    result = opsctl("init", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'inventories'} exists and is not a directory; "
                                    "nothing was written"), result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventories"]
