#!/usr/bin/python3
"""Ansible module: wait on the controller for opsctl's decision in the middle of a run.

opsctl decides from what the hosts reported before the gate play (the lock, every ledger copy, the
pulled digests; see opsctl/deploy/runner.py Gate) and writes the decision file. The module waits
for that file and fails unless the decision is to go on, so nothing after the gate runs.
"""

from __future__ import annotations

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: opsctl_gate
short_description: Wait for opsctl's decision file and go on only if it says so
description:
  - Runs on the controller (localhost). Polls for the decision file every few milliseconds.
  - Fails when the decision is to stop, or when none came within the timeout.
options:
  path: {type: str, required: true, description: The run's decision file.}
  timeout: {type: float, default: 60, description: Seconds to wait for it.}
"""

RETURN = r"""
waited: {description: Seconds spent waiting for the decision., type: float, returned: always}
"""

POLL_SECONDS = 0.005


def main() -> None:
    module = AnsibleModule(argument_spec=dict(path=dict(type="str", required=True),
                                              timeout=dict(type="float", default=60.0)))
    path, started = module.params["path"], time.monotonic()
    deadline = started + module.params["timeout"]
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            module.fail_json(msg="opsctl made no decision within {:.0f}s".format(module.params["timeout"]),
                             waited=round(time.monotonic() - started, 3))
        time.sleep(POLL_SECONDS)
    with open(path) as handle:
        decision = json.load(handle)
    waited = round(time.monotonic() - started, 3)
    if not (isinstance(decision, dict) and decision.get("go") is True):
        module.fail_json(msg="opsctl stopped the run here (its own output says why)", waited=waited)
    module.exit_json(changed=False, waited=waited)


if __name__ == "__main__":
    main()
