"""Import opsctl's Ansible module_utils in tests as plain modules (Ansible ships them to hosts)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from opsctl.paths import playbooks_dir


def load_module_util(name: str) -> ModuleType:
    directory = str(playbooks_dir() / "module_utils")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    return importlib.import_module(name)
