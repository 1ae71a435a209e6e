"""docs/provision.md doubles as the schema doc of `aws:`: its example must load and name every key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_origin

import yaml
from pydantic import BaseModel

from opsctl.config.aws_models import AwsConfig

DOC = Path(__file__).parents[2] / "docs" / "provision.md"


def _example() -> dict[str, Any]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    data: dict[str, Any] = yaml.safe_load(blocks[0])
    return data


def _keys(model: type[BaseModel], data: dict[str, Any], path: str) -> list[str]:
    """Model fields missing from the example, recursing into nested models present in it."""
    missing = []
    for name, field in model.model_fields.items():
        if name not in data:
            missing.append(f"{path}{name}")
            continue
        value = data[name]
        # Only the model itself or `Model | None`: dict/list fields are handled below.
        if get_origin(field.annotation) in (dict, list):
            candidates: tuple[Any, ...] = ()
        else:
            candidates = (field.annotation, *getattr(field.annotation, "__args__", ()))
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and isinstance(value, dict):
                missing += _keys(candidate, value, f"{path}{name}.")
        if name == "queues":
            from opsctl.config.aws_models import QueueConfig

            missing += _keys(QueueConfig, next(iter(value.values())), f"{path}queues.<name>.")
        if name == "records" and value:
            from opsctl.config.aws_models import RecordConfig

            missing += _keys(RecordConfig, value[0], f"{path}records[].")
    return missing


def test_doc_example_is_valid_config() -> None:
    AwsConfig.model_validate(_example()["aws"])


def test_doc_example_names_every_key() -> None:
    assert _keys(AwsConfig, _example()["aws"], "aws.") == []
