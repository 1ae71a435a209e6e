#!/usr/bin/python3
"""Ansible module: put an app's files on a host and log it in to the registry, in one round trip.

Creates the state directories, writes the env file (mode 0600) and the proxy's nginx.conf, and
runs `docker login --password-stdin`. The task that calls it is no_log: its arguments hold secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_atomic, write_if_changed

DOCUMENTATION = r"""
module: opsctl_prepare
short_description: Put an app's files on a host and log it in to the registry, in one round trip
description:
  - Creates the state directories, writes the env file (0600) and the proxy's nginx.conf, and runs
    docker login --password-stdin.
  - changed is true when a directory or file was written; the registry login is not counted.
  - The login is skipped when this host already logged in to the same registry with the same
    credentials (a sha256 of them is kept in the state directory, 0600) and Docker still holds
    an entry for that registry. Check mode is not supported.
options:
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  env_file: {type: str, required: true, description: Where the env file goes.}
  env_content: {type: str, required: true, description: The env file (secrets; no_log).}
  nginx_conf: {type: str, description: The proxy's nginx.conf; null without a proxy.}
  registry: {type: dict, description: "server, username, password (no_log); null without a registry."}
"""

RETURN = r"""
changed: {description: Whether a directory or file was written., type: bool, returned: always}
logged_in: {description: Whether docker login ran (false when the same login was already done)., type: bool, returned: always}
timings: {description: Seconds the registry login took., type: dict, returned: always}
"""


def _credential_stamp(registry: dict[str, str]) -> str:
    text = "\0".join((registry["server"], registry["username"], registry["password"]))
    return hashlib.sha256(text.encode()).hexdigest()


def _docker_knows(server: str) -> bool:
    """Docker's client config still has an entry for the registry (a logout removes it)."""
    path = os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"), "config.json")
    try:
        with open(path) as handle:
            auths = json.load(handle).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(auths, dict) and server in auths


def login(module: AnsibleModule, registry: dict[str, str], state_dir: str) -> bool:
    """docker login unless the same login was done before; True if it ran."""
    stamp_path = os.path.join(state_dir, "registry-login")
    stamp = _credential_stamp(registry)
    try:
        with open(stamp_path) as handle:
            same = handle.read() == stamp
    except OSError:
        same = False
    if same and _docker_knows(registry["server"]):
        return False
    rc, out, err = module.run_command(
        ["docker", "login", "--username", registry["username"], "--password-stdin", registry["server"]],
        data=registry["password"],
    )
    if rc != 0:
        module.fail_json(msg="docker login to {} failed: {}".format(registry["server"], (err or out).strip()))
    write_atomic(stamp_path, stamp, 0o600)
    return True


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
    began, logged_in = time.monotonic(), False
    if p["registry"]:
        logged_in = login(module, p["registry"], p["state_dir"])
    module.exit_json(changed=changed, logged_in=logged_in, timings={"login": round(time.monotonic() - began, 3)})


if __name__ == "__main__":
    main()
