"""Ansible action plugin: wait for opsctl's decision, inside the controller's own process.

The gate (playbooks/decide.yml) waits on the controller for the file opsctl writes halfway
through a run (runner.Gate). As an action plugin it polls there directly, without shipping a module
to localhost and starting a Python for it (a few hundred milliseconds of every deploy and rollback).
library/opsctl_gate.py documents the task's options and results.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.action import ActionBase

POLL_SECONDS = 0.005


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        args = self._task.args
        path, timeout = str(args["path"]), float(args.get("timeout", 60.0))
        started = time.monotonic()
        while not os.path.exists(path):
            if time.monotonic() - started > timeout:
                return {**result, "failed": True, "msg": f"opsctl made no decision within {timeout:.0f}s",
                        "waited": round(time.monotonic() - started, 3)}
            time.sleep(POLL_SECONDS)
        with open(path) as handle:
            decision = json.load(handle)
        waited = round(time.monotonic() - started, 3)
        if not (isinstance(decision, dict) and decision.get("go") is True):
            return {**result, "failed": True, "msg": "opsctl stopped the run here (its own output says why)",
                    "waited": waited}
        return {**result, "changed": False, "waited": waited}
