"""Validators for values that end up in command lines or file names.

Every version, host name and env value is checked here before any command line is built, so that
hostile input is refused up front instead of being escaped (or not) later.
"""

from __future__ import annotations

import re

from opsctl.errors import UsageError

# Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; we also refuse a leading '_' to keep
# versions readable and sortable.
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# RFC 1123 host names / Ansible inventory names (labels of letters, digits, '-', '_' and '.').
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def version_problem(value: str) -> str | None:
    if not _VERSION.fullmatch(value):
        return (
            f"invalid version {value!r}: use letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, at most 128 characters"
        )
    return None


def check_version(value: str) -> str:
    problem = version_problem(value)
    if problem:
        raise UsageError(problem)
    return value


def host_problem(value: str) -> str | None:
    if not _HOST.fullmatch(value):
        return f"invalid host name {value!r}: use letters, digits, '.', '-' and '_'"
    return None


def check_host(value: str) -> str:
    problem = host_problem(value)
    if problem:
        raise UsageError(problem)
    return value


def env_name_problem(value: str) -> str | None:
    if not _ENV_NAME.fullmatch(value):
        return f"invalid variable name {value!r}: use letters, digits and '_', not starting with a digit"
    return None


def env_value_problem(value: str) -> str | None:
    # Env files are line based: a newline or NUL would smuggle in another variable.
    if "\n" in value or "\r" in value or "\0" in value:
        return "value contains a newline or NUL character"
    return None


def slug_problem(value: str) -> str | None:
    if not _SLUG.fullmatch(value):
        return (
            f"invalid name {value!r}: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def split_csv(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]
