"""Where opsctl finds its playbooks and templates, and where it keeps per-machine state."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # Playbooks and templates are package data: a wheel, pipx and an editable install all carry them.
    candidate = _PACKAGE / name
    if not candidate.is_dir():
        from opsctl.errors import OpsctlError

        raise OpsctlError(f"opsctl's {name}/ directory is missing from the installation at {_PACKAGE}; "
                          "reinstall opsctl")
    return candidate


def playbooks_dir() -> Path:
    return _data_dir("playbooks")


def templates_dir() -> Path:
    return _data_dir("templates")


def state_home() -> Path:
    """Per-user state (lab files, ansible-runner artifacts); never inside the project."""
    return Path(os.environ.get("OPSCTL_HOME", Path.home() / ".opsctl")).expanduser()


def lab_dir() -> Path:
    return Path(os.environ.get("OPSCTL_LAB_DIR", state_home() / "lab")).expanduser()
