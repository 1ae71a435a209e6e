#!/usr/bin/python3
"""Ansible module: recent log lines of an app's containers on this host (one service, or all).

Returns `lines` as [container, service, line] with Docker's timestamps, and `now`, this host's
clock when reading began, so that a follow started afterwards can begin where this read ended.
"""

from __future__ import annotations

import re
import time

from ansible.module_utils.basic import AnsibleModule

# With a filter, more of the log is read so that the last `lines` matches can be found (bounded).
GREP_SCAN = 100000


def containers(module, p):
    filters = ["--filter", "label=opsctl.app=%s" % p["app"], "--filter", "label=opsctl.env=%s" % p["env"]]
    if p["service"] == "proxy":
        filters += ["--filter", "label=opsctl.role=proxy"]
    elif p["service"]:
        filters += ["--filter", "label=opsctl.service=%s" % p["service"]]
    rc, out, err = module.run_command(
        ["docker", "ps", "--format", '{{.Names}}\t{{.Label "opsctl.service"}}\t{{.Label "opsctl.role"}}', *filters]
    )
    if rc != 0:
        module.fail_json(msg="docker ps failed: %s" % err.strip())
    found = []
    for row in out.splitlines():
        name, service, role = (row.split("\t") + ["", ""])[:3]
        found.append((name, service or role or "-"))
    return sorted(found)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            service=dict(type="str", default=""),
            lines=dict(type="int", default=100),
            since=dict(type="str", default=""),
            # Hex of the UTF-8 pattern: Ansible templates extra vars, and a regex may hold "{{".
            grep_hex=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    p = module.params
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%09dZ" % (time.time_ns() % 1000000000)
    pattern = re.compile(bytes.fromhex(p["grep_hex"]).decode("utf-8")) if p["grep_hex"] else None
    lines = []
    errors = []
    for name, service in containers(module, p):
        argv = ["docker", "logs", "--timestamps", "--tail", str(GREP_SCAN if pattern else p["lines"])]
        if p["since"]:
            argv += ["--since", p["since"]]
        rc, stdout, stderr = module.run_command(argv + [name])
        if rc != 0:
            errors.append("%s: docker logs failed: %s" % (name, stderr.strip()))
            continue
        # Docker writes the container's stdout and stderr to ours separately; merge them back.
        found = [line for line in (stdout + stderr).splitlines() if line]
        if pattern:
            found = [line for line in found if pattern.search(line.partition(" ")[2])]
        lines += [[name, service, line] for line in found[-p["lines"]:]]
    module.exit_json(changed=False, lines=lines, now=now, errors=errors)


if __name__ == "__main__":
    main()
