"""Random YAML shapes thrown at the config and inventory loaders: only opsctl's own errors come out.

The inventory half runs Ansible's reading in-process (the same code the child process runs, see
opsctl.config.ansible_inventory) so that a few hundred examples take seconds, not minutes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsctl.config.loader import parse
from opsctl.errors import ConfigError
from tests.unit.config_samples import VALID

KEYS = [
    "app", "image", "services", "environments", "inventory", "aws", "region", "endpoint_url", "env",
    "clear", "secret", "port", "groups", "rollout", "batch", "hosts", "children", "vars", "all", "web",
    "ansible_host", "ansible_port", "web[1:3]", "h1:22", "registry", "release", "command", "notify",
]
scalars = (
    st.none() | st.booleans() | st.integers(-10, 70000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12) | st.sampled_from(KEYS)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(min_size=1, max_size=6), inner, max_size=4),
    max_leaves=25,
)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    data[path[0]] = _replace(data[path[0]], path[1:], value)
    return data


def _parse_only_config_errors(text: str) -> None:
    try:
        parse(text, Path("opsctl.yml"), {})
    except ConfigError as exc:
        assert exc.problems and all(p and "\n" not in p for p in exc.problems), exc.problems


@SETTINGS
@given(values)
def test_random_documents(data: Any) -> None:
    _parse_only_config_errors(yaml.safe_dump(data))


@SETTINGS
@given(st.data(), values)
def test_a_valid_config_with_one_part_replaced(data: st.DataObject, value: Any) -> None:
    config = yaml.safe_load(VALID)
    paths = _paths(config)
    path = data.draw(st.sampled_from(paths))
    _parse_only_config_errors(yaml.safe_dump(_replace(config, path, value)))


@SETTINGS
@given(st.text(alphabet=st.sampled_from([*"ab:-[]{}&*!|>'\"#\n ,%@`\\$", "\t", "\x00", "\ufeff"]),
               max_size=60))
def test_random_text(text: str) -> None:
    _parse_only_config_errors(text)


def _read_inventory(path: Path) -> None:
    from opsctl.config import ansible_inventory
    from opsctl.config.inventory import _build

    data = json.loads(json.dumps(ansible_inventory.main([str(path)])))  # as it crosses the pipe
    try:
        _build([path], data)
    except ConfigError as exc:
        assert len(exc.problems) >= 1 and all("\n" not in p for p in exc.problems), exc.problems


groups = st.recursive(
    st.none() | st.dictionaries(st.sampled_from(["hosts", "vars", "children", "hots"]), values, max_size=3),
    lambda inner: st.dictionaries(
        st.sampled_from(["hosts", "vars", "children"]),
        st.dictionaries(st.sampled_from(["web", "db", "h1", "h1:22", "web[1:2]", "a b"]), inner, max_size=3),
        max_size=3,
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.one_of(st.dictionaries(st.sampled_from(["all", "web", "db"]), groups, max_size=3), values))
def test_random_yaml_inventories(tmp_path: Path, inventory: Any) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    _read_inventory(path)
