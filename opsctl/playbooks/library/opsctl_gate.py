#!/usr/bin/python3
"""The documentation of the opsctl_gate task; the check itself is the action plugin
playbooks/action/opsctl_gate.py, which runs inside the controller's Ansible process (as Ansible's
own set_fact has a module file that only documents it).

opsctl decides from what the hosts reported before the gate play (the lock, every ledger copy, the
pulled digests; see opsctl/deploy/runner.py Gate) and writes the decision file. The task waits for
that file and fails unless the decision is to go on, so nothing after the gate runs.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: opsctl_gate
short_description: Wait for opsctl's decision file and go on only if it says so
description:
  - An action plugin; runs on the controller. Polls for the decision file every few milliseconds.
  - Fails when the decision is to stop, or when none came within the timeout.
options:
  path: {type: str, required: true, description: The run's decision file.}
  timeout: {type: float, default: 60, description: Seconds to wait for it.}
"""

RETURN = r"""
waited: {description: Seconds spent waiting for the decision., type: float, returned: always}
"""
