"""Find, read and validate opsctl.yml, reporting every problem with file, line and key path."""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from opsctl.config.aws_models import AwsConfig
from opsctl.config.models import Config
from opsctl.config.yaml_lines import LoadedYaml, Path_, dotted, load_yaml
from opsctl.errors import ConfigError

DEFAULT_NAME = "opsctl.yml"


def find(path: Path | None) -> Path:
    if path is None:
        env_path = os.environ.get("OPSCTL_CONFIG")
        path = Path(env_path) if env_path else Path.cwd() / DEFAULT_NAME
    if not path.is_file():
        raise ConfigError(
            [f"{path}: no such config file"],
            hint="run opsctl in the app's directory, or pass -c PATH (or set OPSCTL_CONFIG); "
            "'opsctl init' writes a starter opsctl.yml",
        )
    return path


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    source = find(path)
    return parse(read_text(source), source, environ)


def read_text(source: Path) -> str:
    """A config file's text; an unreadable file or a byte that is not UTF-8 is a ConfigError."""
    name = _shown(source)
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read: {exc.strerror or exc}"]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{name}:{line}: byte 0x{raw[exc.start]:02x} is not UTF-8 (save the file as UTF-8)"]
        ) from None


def _shown(source: Path) -> str:
    return source.name if source.parent == Path.cwd() else str(source)


def parse(text: str, source: Path, environ: dict[str, str] | None = None) -> Config:
    name = _shown(source)
    try:
        loaded = load_yaml(text, environ)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{name}:{line}: invalid YAML: {exc.problem}"]) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        character = chr(exc.character) if isinstance(exc.character, int) else exc.character
        raise ConfigError([f"{name}:{line}: invalid YAML: character {character!r} is not allowed"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: invalid YAML: {' '.join(str(exc).split())}"]) from None

    problems = [f"{name}:{line}: {_dotted(path)}: {msg}" for line, path, msg in loaded.problems]
    if not isinstance(loaded.data, dict):
        raise ConfigError([*problems, f"{name}:1: expected a mapping with app, image, services, ..."])

    config: Config | None = None
    try:
        config = Config.model_validate(loaded.data)
    except ValidationError as exc:
        problems += _describe(exc.errors(), loaded, name, ())
    # Merged per-environment aws settings are validated even when the rest of the config is
    # invalid, so that their mistakes are reported in the same run.
    aws_by_env, aws_problems = _merge_aws(loaded, name)
    problems += aws_problems
    if config is not None:
        config._source = source.resolve()
        config._aws_by_env = aws_by_env
        config._lines = loaded.lines
    if problems:
        raise ConfigError(_sorted(problems))
    assert config is not None
    return config


def _merge_aws(loaded: LoadedYaml, name: str) -> tuple[dict[str, AwsConfig], list[str]]:
    merged_by_env: dict[str, AwsConfig] = {}
    problems: list[str] = []
    base = loaded.data.get("aws")
    environments = loaded.data.get("environments")
    if not isinstance(environments, dict) or not isinstance(base if base is not None else {}, dict):
        return merged_by_env, problems  # already reported by the Config validation
    base = base or {}
    try:
        AwsConfig.model_validate(base)
        base_ok = True
    except ValidationError:
        base_ok = False
    for env_name, env in environments.items():
        over = env.get("aws") if isinstance(env, dict) else None
        if not isinstance(over, dict) or not over:
            continue
        merged = _deep_merge(base, over)
        try:
            merged_by_env[env_name] = AwsConfig.model_validate(merged)
        except ValidationError as exc:
            prefix: Path_ = ("environments", env_name, "aws")
            # A mistake in the top-level aws: is reported once, at its own line, not again here.
            errors = [e for e in exc.errors() if base_ok or _set_by(over, merged, e)]
            if errors:
                problems += _describe(errors, loaded, name, prefix, AwsConfig)
    return merged_by_env, problems


def _set_by(over: dict[str, Any], merged: dict[str, Any], err: ErrorDetails) -> bool:
    """Whether the value an error is about was written in the override (not inherited)."""
    loc = list(_keys_of(err, merged))
    if err["type"] == "missing":
        loc = loc[:-1]
    current: Any = over
    for part in loc:
        if isinstance(current, dict):
            if part not in current:
                return False
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            return True  # the override replaced this whole subtree
    return True


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _sorted(problems: list[str]) -> list[str]:
    def key(problem: str) -> tuple[int, str]:
        parts = problem.split(":", 2)
        return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, problem)

    return sorted(dict.fromkeys(problems), key=key)


def _describe(
    errors: list[ErrorDetails],
    loaded: LoadedYaml,
    name: str,
    prefix: Path_,
    model: type[BaseModel] = Config,
) -> list[str]:
    problems = []
    for err in errors:
        loc: Path_ = _keys_of(err, _at(loaded.data, prefix))
        path = prefix + loc
        kind = err["type"]
        if kind == "missing":
            line = loaded.line_of(path[:-1])
            message = f"required key '{loc[-1]}' is missing"
            problems.append(f"{name}:{line}: {_dotted(path[:-1]) or '(top level)'}: {message}")
            continue
        line = loaded.line_of(path)
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            message = "unknown key"
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                message += f" (did you mean '{close[0]}'?)"
            elif allowed:
                message += f" (expected one of: {', '.join(allowed)})"
        elif kind == "opsctl":
            message = err["msg"]
        else:
            message = _plain(err)
        problems.append(f"{name}:{line}: {_dotted(path) or '(top level)'}: {message}")
    return problems


def _plain(err: Any) -> str:
    msg: str = err["msg"]
    got = err.get("input")
    if msg.startswith("Input should be "):
        what = msg.removeprefix("Input should be ")
        if what.startswith("a valid dictionary or instance of "):
            what = "a valid dictionary"  # the model's class name means nothing to the user
        what = {"a valid dictionary": "a mapping", "a valid list": "a list",
                "a valid string": "a string", "a valid boolean": "true or false",
                "a valid integer": "an integer", "a valid number": "a number"}.get(what, what)
        return f"expected {what}, got {got!r}"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    return f"{msg[0].lower()}{msg[1:]}" if msg else "invalid value"


def _at(data: Any, path: Path_) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _keys_of(err: ErrorDetails, data: Any) -> Path_:
    """The error's location as keys of the user's data.

    pydantic puts the tried union member's type into locations ('list[str]', 'int', ...); a user's
    key can look the same ('web[1:3]', 'int'), so a part counts as a key only where the data has it.
    """
    parts = list(err["loc"])
    last = parts.pop() if err["type"] == "missing" and parts else None
    keys: list[str | int] = []
    current = data
    for part in parts:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            continue
        keys.append(part)
    if last is not None:
        keys.append(last)
    return tuple(keys)


def _allowed_keys(model: type[BaseModel], loc: Path_) -> list[str]:
    """The keys the model expects at `loc`, found by walking the field annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arm in get_args(annotation):
            arm = _unwrap(arm)
            if (isinstance(arm, type) and issubclass(arm, BaseModel)) or get_origin(arm) in (dict, list):
                return arm
    return annotation


def _dotted(path: Path_) -> str:
    return dotted(path)
