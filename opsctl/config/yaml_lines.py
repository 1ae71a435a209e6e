"""YAML loading that remembers where every key came from, so errors can name the line.

PyYAML's composer gives nodes with marks; we build plain Python values from them ourselves and keep
a map from key path to line number.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# A YAML alias makes a node appear again wherever it is referenced: a few hundred bytes of nested
# aliases expand to billions of values ("billion laughs"), and an alias inside its own anchor never
# ends. Values reached again through an alias beyond this many are refused.
MAX_VALUES = 50_000


class AliasError(yaml.MarkedYAMLError):
    """Too many values after alias expansion, or an alias that contains itself."""


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


@dataclass
class LoadedYaml:
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    problems: list[tuple[int, Path_, str]] = field(default_factory=list)

    def line_of(self, path: Path_) -> int:
        """The line of the deepest key of `path` that the file has (1 when none)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


def dotted(path: Path_) -> str:
    """A key path as the user reads it: services.web.groups[0]."""
    out = ""
    for part in path:
        if isinstance(part, str) and (not part.isprintable() or part != part.strip() or not part):
            part = repr(part)  # a key with a newline or blanks must not break the one-line message
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def interpolate(text: str, environ: dict[str, str] | os._Environ[str]) -> tuple[str, list[str]]:
    """Replace ${VAR} and ${VAR:-default}; `$$` is a literal `$`. Returns the text and missing names."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                missing.append(name)
                return ""
            return default
        return value

    return _VAR.sub(replace, text), missing


def load_yaml(text: str, environ: dict[str, str] | os._Environ[str] | None = None) -> LoadedYaml:
    """Parse YAML text; raise yaml.YAMLError on syntax errors (which carry their own mark)."""
    env = os.environ if environ is None else environ
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    result = LoadedYaml(data=None)
    if node is None:
        return result
    try:
        result.data = _build(node, (), result, loader, env, _Walk())
    except RecursionError:  # merge keys (`<<: *a`) that include themselves, or absurd nesting
        raise AliasError(problem="aliases or nesting too deep to read", problem_mark=node.start_mark) from None
    return result


@dataclass
class _Walk:
    repeated: int = 0  # values built again because an alias pointed at them
    seen: set[int] = field(default_factory=set)
    open: set[int] = field(default_factory=set)  # nodes being built: meeting one again is a cycle

    def enter(self, node: yaml.Node) -> None:
        if id(node) in self.seen:
            self.repeated += 1
        self.seen.add(id(node))
        if self.repeated > MAX_VALUES:
            raise AliasError(problem=f"aliases expand to more than {MAX_VALUES} values "
                             "(a YAML alias bomb?)", problem_mark=node.start_mark)
        if id(node) in self.open:
            raise AliasError(problem="an alias refers to the node that contains it",
                             problem_mark=node.start_mark)


def _build(
    node: yaml.Node,
    path: Path_,
    result: LoadedYaml,
    loader: yaml.SafeLoader,
    env: dict[str, str] | os._Environ[str],
    walk: _Walk,
) -> Any:
    walk.enter(node)
    result.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        walk.open.add(id(node))
        try:
            return _build_collection(node, path, result, loader, env, walk)
        finally:
            walk.open.discard(id(node))
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "$" in value:
        value, missing = interpolate(value, env)
        for name in missing:
            result.problems.append(
                (node.start_mark.line + 1, path, f"${{{name}}} is not set in the environment "
                 f"(set it, or give a default: ${{{name}:-value}})")
            )
    return value


def _build_collection(
    node: yaml.MappingNode | yaml.SequenceNode,
    path: Path_,
    result: LoadedYaml,
    loader: yaml.SafeLoader,
    env: dict[str, str] | os._Environ[str],
    walk: _Walk,
) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                result.problems.append((line, path, f"keys must be strings, got {kind}"))
                continue
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int):
                result.problems.append((line, path, f"keys must be strings, got {key!r}"))
                continue
            key = str(key)
            if key in mapping:
                result.problems.append((line, (*path, key), "duplicate key"))
            child = (*path, key)
            result.lines[child] = line
            mapping[key] = _build(value_node, child, result, loader, env, walk)
        return mapping
    items = []
    for index, item in enumerate(node.value):
        child = (*path, index)
        result.lines[child] = item.start_mark.line + 1
        items.append(_build(item, child, result, loader, env, walk))
    return items
