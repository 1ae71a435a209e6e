#!/usr/bin/python3
"""Ansible module: put an app's files on a host and log it in to the registry, in one round trip.

Creates the state directories, writes the env file (mode 0600) and the proxy's nginx.conf, and
runs `docker login --password-stdin`. The task that calls it is no_log: its arguments hold secrets.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_atomic


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="str", required=True),
            env_file=dict(type="str", required=True),
            env_content=dict(type="str", required=True, no_log=True),
            nginx_conf=dict(type="str", default=None),
            registry=dict(type="dict", default=None, no_log=True),
        ),
    )
    p = module.params
    for sub in ("", "env", "proxy", "proxy/services"):
        os.makedirs(os.path.join(p["state_dir"], sub), mode=0o700, exist_ok=True)
    write_atomic(p["env_file"], p["env_content"], 0o600)
    if p["nginx_conf"] is not None:
        write_atomic(os.path.join(p["state_dir"], "proxy", "nginx.conf"), p["nginx_conf"], 0o644)
    if p["registry"]:
        registry = p["registry"]
        rc, out, err = module.run_command(
            ["docker", "login", "--username", registry["username"], "--password-stdin", registry["server"]],
            data=registry["password"],
        )
        if rc != 0:
            module.fail_json(msg="docker login to %s failed: %s" % (registry["server"], (err or out).strip()))
    module.exit_json(changed=True)


if __name__ == "__main__":
    main()
