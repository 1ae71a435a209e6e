"""${VAR} interpolation in opsctl.yml values, and where its errors point."""

from __future__ import annotations

import pytest

from opsctl.config.yaml_lines import interpolate, load_yaml
from tests.unit.config_samples import VALID, line_of, parse_ok, problems_of

ENV = {"TAG": "v7", "EMPTY": "", "HOST": "db.internal"}

# (text, expected result, names reported missing)
CASES = [
    ("plain", "plain", []),
    ("${TAG}", "v7", []),
    ("release-${TAG}-x", "release-v7-x", []),
    ("${HOST}:${TAG}", "db.internal:v7", []),
    ("${MISSING:-fallback}", "fallback", []),
    ("${TAG:-fallback}", "v7", []),
    ("${EMPTY:-fallback}", "fallback", []),  # like the shell: empty counts as unset with :-
    ("${EMPTY}", "", []),
    ("${MISSING:-}", "", []),
    ("$$", "$", []),
    ("$${TAG}", "${TAG}", []),  # $$ escapes the interpolation
    ("cost: 5$", "cost: 5$", []),
    ("$TAG", "$TAG", []),  # only the braced form is interpolated
    ("${MISSING}", "", ["MISSING"]),
    ("${A}-${B}", "-", ["A", "B"]),
]


@pytest.mark.parametrize(("text", "expected", "missing"), CASES)
def test_interpolate(text: str, expected: str, missing: list[str]) -> None:
    assert interpolate(text, ENV) == (expected, missing)


def test_values_are_interpolated_before_validation() -> None:
    text = VALID.replace("port: 8080", "port: ${WEB_PORT}").replace("tag: latest", "tag: ${STAGING_TAG:-latest}")
    config = parse_ok(text, {"WEB_PORT": "9090"})
    assert config.services["web"].port == 9090
    assert config.environments["staging"].tag == "latest"
    config = parse_ok(text, {"WEB_PORT": "9090", "STAGING_TAG": "v2"})
    assert config.environments["staging"].tag == "v2"


def test_an_interpolated_value_is_still_validated() -> None:
    text = VALID.replace("tag: latest", "tag: ${STAGING_TAG}")
    (problem,) = problems_of(text, {"STAGING_TAG": "v1;touch /tmp/x"})
    assert problem.startswith(f"opsctl.yml:{line_of(text, 'STAGING_TAG')}: environments.staging.tag: expected a version")


def test_an_unset_variable_is_an_error_on_its_line() -> None:
    text = VALID.replace("username: deploy", "username: ${REGISTRY_USER}")
    problems = problems_of(text)
    line = line_of(text, "REGISTRY_USER")
    assert problems == [
        f"opsctl.yml:{line}: registry.username: ${{REGISTRY_USER}} is not set in the environment "
        "(set it, or give a default: ${REGISTRY_USER:-value})"
    ]


def test_unset_variables_in_several_places_are_all_reported() -> None:
    text = VALID.replace("username: deploy", "username: ${U}").replace("LOG_LEVEL: info", "LOG_LEVEL: ${LVL}")
    problems = problems_of(text)
    assert [p.split(": ", 2)[1] for p in problems] == ["registry.username", "env.clear.LOG_LEVEL"]


def test_keys_and_non_string_values_are_left_alone() -> None:
    loaded = load_yaml("a:\n  ${X}: 1\n  n: 5\n  s: '${Y:-d}'\n", {})
    assert loaded.data == {"a": {"${X}": 1, "n": 5, "s": "d"}}
    assert loaded.problems == []


def test_the_process_environment_is_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_INTERP", "from-env")
    assert load_yaml("k: ${OPSCTL_TEST_INTERP}\n").data == {"k": "from-env"}


def test_line_map_covers_nested_keys_and_list_items() -> None:
    loaded = load_yaml("a:\n  b:\n    - x\n    - y: 1\n", {})
    assert loaded.lines[("a",)] == 1
    assert loaded.lines[("a", "b")] == 2
    assert loaded.lines[("a", "b", 0)] == 3
    assert loaded.lines[("a", "b", 1, "y")] == 4
    assert loaded.line_of(("a", "b", 1, "nope", "deeper")) == 4
    assert loaded.line_of(("zzz",)) == 1
