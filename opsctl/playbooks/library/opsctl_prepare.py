#!/usr/bin/python3
"""Ansible module: put an app's files on a host and log it in to the registry, in one round trip.

Creates the state directories, writes the env file (mode 0600) and the proxy's nginx.conf, and
runs `docker login --password-stdin`. The task that calls it is no_log: its arguments hold secrets.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_if_changed

DOCUMENTATION = r"""
module: opsctl_prepare
short_description: Put an app's files on a host and log it in to the registry, in one round trip
description:
  - Creates the state directories, writes the env file (0600) and the proxy's nginx.conf, and runs
    docker login --password-stdin.
  - changed is true when a directory or file was written; the registry login is refreshed on every
    run and not counted. Check mode is not supported.
options:
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  env_file: {type: str, required: true, description: Where the env file goes.}
  env_content: {type: str, required: true, description: The env file (secrets; no_log).}
  nginx_conf: {type: str, description: The proxy's nginx.conf; null without a proxy.}
  registry: {type: dict, description: "server, username, password (no_log); null without a registry."}
"""

RETURN = r"""
changed: {description: Whether a directory or file was written., type: bool, returned: always}
"""


def main() -> None:
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
    changed = False
    for sub in ("", "env", "proxy", "proxy/services"):
        path = os.path.join(p["state_dir"], sub)
        if not os.path.isdir(path):
            os.makedirs(path, mode=0o700, exist_ok=True)
            changed = True
    changed = write_if_changed(p["env_file"], p["env_content"], 0o600) or changed
    if p["nginx_conf"] is not None:
        changed = write_if_changed(os.path.join(p["state_dir"], "proxy", "nginx.conf"), p["nginx_conf"]) or changed
    if p["registry"]:
        registry = p["registry"]
        rc, out, err = module.run_command(
            ["docker", "login", "--username", registry["username"], "--password-stdin", registry["server"]],
            data=registry["password"],
        )
        if rc != 0:
            module.fail_json(msg="docker login to {} failed: {}".format(registry["server"], (err or out).strip()))
    module.exit_json(changed=changed)


if __name__ == "__main__":
    main()
