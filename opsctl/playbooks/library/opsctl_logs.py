#!/usr/bin/python3
"""Ansible module: recent log lines of an app's containers on this host (one service, or all).

Returns `lines` as [container, service, line] with Docker's timestamps, and `now`, this host's
clock when reading began, so that a follow started afterwards can begin where this read ended.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: opsctl_logs
short_description: Recent log lines of an app's containers on this host
description:
  - Reads only; changed is always false, and check mode reads the same way.
options:
  app: {type: str, required: true, description: The app's name (label opsctl.app).}
  env: {type: str, required: true, description: The environment (label opsctl.env).}
  service: {type: str, default: "", description: "One service, 'proxy', or empty for every container."}
  lines: {type: int, default: 100, description: Lines per container (the last matching ones with grep_hex).}
  since: {type: str, default: "", description: Only lines newer than this (docker logs --since).}
  grep_hex: {type: str, default: "", description: Hex of a UTF-8 regular expression the line text must match.}
"""

RETURN = r"""
lines: {description: "[container, service, line] with Docker's timestamp at the start of each line.", type: list, returned: always}
now: {description: This host's clock (UTC) when reading began., type: str, returned: always}
errors: {description: Containers whose logs could not be read, and why., type: list, returned: always}
"""

# With a filter, more of the log is read so that the last `lines` matches can be found (bounded).
GREP_SCAN = 100000


def containers(module: AnsibleModule, p: dict[str, Any]) -> list[tuple[str, str]]:
    filters = ["--filter", f"label=opsctl.app={p['app']}", "--filter", f"label=opsctl.env={p['env']}"]
    if p["service"] == "proxy":
        filters += ["--filter", "label=opsctl.role=proxy"]
    elif p["service"]:
        filters += ["--filter", f"label=opsctl.service={p['service']}"]
    rc, out, err = module.run_command(
        ["docker", "ps", "--format",
         '{{.Names}}\t{{.Label "opsctl.service"}}\t{{.Label "opsctl.role"}}\t{{.State}}', *filters]
    )
    if rc != 0:
        module.fail_json(msg=f"docker ps failed: {err.strip()}")
    found = []
    for row in out.splitlines():
        name, service, role, state = [*row.split("\t"), "", "", ""][:4]
        if state != "paused":  # a standby of an earlier release (rollout.standby), not what runs
            found.append((name, service or role or "-"))
    return sorted(found)


def read(module: AnsibleModule, name: str, p: dict[str, Any], pattern: re.Pattern[str] | None) -> list[str]:
    """The container's last lines (matching `pattern`); raises RuntimeError when docker cannot read them."""
    argv = ["docker", "logs", "--timestamps", "--tail", str(GREP_SCAN if pattern else p["lines"])]
    if p["since"]:
        argv += ["--since", p["since"]]
    rc, stdout, stderr = module.run_command([*argv, name])
    if rc != 0:
        raise RuntimeError(f"{name}: docker logs failed: {stderr.strip()}")
    # Docker writes the container's stdout and stderr to ours separately; merge them back.
    found = [line for line in (stdout + stderr).splitlines() if line]
    if pattern:
        found = [line for line in found if pattern.search(line.partition(" ")[2])]
    return found[-p["lines"]:]


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            service=dict(type="str", default=""),
            lines=dict(type="int", default=100),
            since=dict(type="str", default=""),
            # Hex of the UTF-8 pattern, so that no quoting of any layer can change it on the way.
            grep_hex=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    p = module.params
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{time.time_ns() % 1000000000:09d}Z"
    pattern = re.compile(bytes.fromhex(p["grep_hex"]).decode("utf-8")) if p["grep_hex"] else None
    lines: list[list[str]] = []
    errors: list[str] = []
    for name, service in containers(module, p):
        try:
            lines += [[name, service, line] for line in read(module, name, p, pattern)]
        except RuntimeError as exc:
            errors.append(str(exc))
    module.exit_json(changed=False, lines=lines, now=now, errors=errors)


if __name__ == "__main__":
    main()
