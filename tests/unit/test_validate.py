"""Validators for values that end up in command lines: hostile input is refused up front."""

from __future__ import annotations

import pytest

from opsctl import validate
from opsctl.errors import UsageError

GOOD_VERSIONS = ["v1", "1.2.3", "2024-05-01_a", "latest", "a" * 128, "0", "sha-3f2a9c1"]
BAD_VERSIONS = [
    "v1;touch /tmp/x", "$(id)", "`id`", "a b", "../x", "./x", "x/../y", "v1\n", "v1\nv2", "", "a" * 129,
    "-rf", "_x", ".hidden", "v1|sh", "v1&&id", "v1>x", "tag:1", "ü1",
]


@pytest.mark.parametrize("value", GOOD_VERSIONS)
def test_good_versions(value: str) -> None:
    assert validate.version_problem(value) is None
    assert validate.check_version(value) == value


@pytest.mark.parametrize("value", BAD_VERSIONS)
def test_hostile_versions_are_refused(value: str) -> None:
    problem = validate.version_problem(value)
    assert problem is not None and "invalid version" in problem
    with pytest.raises(UsageError) as info:
        validate.check_version(value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("web01", True), ("web-1.example.com", True), ("10.0.0.1", True), ("a", True), ("host_1", True),
        ("-oProxyCommand=x", False), ("web;id", False), ("a b", False), ("", False), ("web.", False),
        ("$(id)", False), ("web\n", False), ("a" * 254, True), ("a" * 256, False),
    ],
)
def test_host_names(value: str, ok: bool) -> None:
    assert (validate.host_problem(value) is None) is ok
    if not ok:
        with pytest.raises(UsageError):
            validate.check_host(value)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("DATABASE_URL", True), ("_x", True), ("a1", True), ("1A", False), ("A-B", False), ("A B", False), ("", False)],
)
def test_env_names(value: str, ok: bool) -> None:
    assert (validate.env_name_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("plain", True), ("with spaces and $ymbols;", True), ("", True), ("a\nb", False), ("a\rb", False), ("a\0b", False)],
)
def test_env_values(value: str, ok: bool) -> None:
    assert (validate.env_value_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("hello", True), ("my-app-2", True), ("Hello", False), ("-x", False), ("x-", False), ("a_b", False),
     ("a" * 63, True), ("a" * 64, False)],
)
def test_slugs(value: str, ok: bool) -> None:
    assert (validate.slug_problem(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "parts"),
    [(None, []), ("", []), ("a", ["a"]), ("a, b,,c ", ["a", "b", "c"]), (" , ", [])],
)
def test_split_csv(value: str | None, parts: list[str]) -> None:
    assert validate.split_csv(value) == parts
