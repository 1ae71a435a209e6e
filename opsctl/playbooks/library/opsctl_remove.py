#!/usr/bin/python3
"""Ansible module: take an app's environment off a host, leaving every other app and the shared
ingress running.

Takes the app's upstreams, claims and certificates off the shared ingress and reloads it gracefully,
stops and removes the app's containers (by label), disconnects the ingress from the app's network and
removes the network, then removes the app's state directory (its env files; its ledger too unless
keep_ledger). On the lock host the deploy lock this removal holds is released last.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_ingress import IngressError
from ansible.module_utils.opsctl_ingress_host import Ingress

DOCUMENTATION = r"""
module: opsctl_remove
short_description: Take an app's environment off a host
description:
  - Removes the app's files on the shared ingress first (which is reloaded, not restarted), then its
    containers (labels app and env), its network, and its state directory. Other apps are not touched.
  - Idempotent; check mode is not supported.
options:
  app: {type: str, required: true, description: The app (container label).}
  env: {type: str, required: true, description: The environment (container label).}
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  network: {type: str, required: true, description: The app's Docker network.}
  label_prefix: {type: str, description: Prefix of opsctl's container labels.}
  ingress: {type: dict, required: true, description: "The shared ingress: name, dir, key (APP.ENV)."}
  keep_ledger: {type: bool, description: Keep releases.json (the app's history).}
  lock_token: {type: str, description: "This removal's lock token: on the lock host the lock is released last."}
  stop_timeout: {type: float, description: Seconds each container gets to stop after SIGTERM.}
"""

RETURN = r"""
removed: {description: What was removed, one line each., type: list, returned: always}
"""


def main() -> None:
    module = AnsibleModule(argument_spec=dict(
        app=dict(type="str", required=True),
        env=dict(type="str", required=True),
        state_dir=dict(type="str", required=True),
        network=dict(type="str", required=True),
        label_prefix=dict(type="str", default="opsctl"),
        ingress=dict(type="dict", required=True),
        keep_ledger=dict(type="bool", default=False),
        lock_token=dict(type="str", default=""),
        stop_timeout=dict(type="float", default=10.0),
    ))
    p = module.params

    def docker(args: Any) -> tuple[int, str, str]:
        rc, out, err = module.run_command(["docker", *args])
        return rc, out.strip(), err.strip()

    removed: list[str] = []
    try:
        # Routes first, so no new request reaches the app while its containers stop.
        ingress = Ingress(docker, p["ingress"])
        if ingress.remove_app(p["ingress"]["key"]):
            removed.append("its routes on the shared ingress")
        removed += _containers(docker, p)
        ingress.leave(p["network"])
        if docker(["network", "rm", p["network"]])[0] == 0:
            removed.append("network " + p["network"])
        removed += _files(p)
    except (IngressError, OSError) as exc:
        module.fail_json(msg=str(exc), removed=removed)
    refusal = _release_lock(p)
    if refusal:
        module.fail_json(msg=refusal, removed=removed)
    module.exit_json(changed=bool(removed), removed=removed)


def _containers(docker: Any, p: dict[str, Any]) -> list[str]:
    prefix = p["label_prefix"]
    rc, out, err = docker(["ps", "-a", "--format", "{{.Names}}", "--filter", "label={}.app={}".format(prefix, p["app"]),
                           "--filter", "label={}.env={}".format(prefix, p["env"])])
    if rc != 0:
        raise IngressError("docker ps failed: " + (err or out)[-1500:])
    names = sorted(n for n in out.split() if n)
    if names:
        # stop first: each gets SIGTERM and its time to finish; rm -f alone would SIGKILL.
        docker(["stop", "-t", str(int(p["stop_timeout"])), *names])
        rc, out, err = docker(["rm", "-f", *names])
        if rc != 0:
            raise IngressError("docker rm failed: " + (err or out)[-1500:])
    return ["container " + n for n in names]


def _files(p: dict[str, Any]) -> list[str]:
    """Everything in the state directory but the lock (released last) and, if kept, the ledger."""
    state_dir, keep = p["state_dir"], {"lock"} | ({"releases.json"} if p["keep_ledger"] else set())
    if not os.path.isdir(state_dir):
        return []
    gone = []
    for entry in sorted(os.listdir(state_dir)):
        if entry in keep:
            continue
        path = os.path.join(state_dir, entry)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        gone.append(entry)
    return ["{} ({})".format(state_dir, ", ".join(gone))] if gone else []


def _release_lock(p: dict[str, Any]) -> str | None:
    """Release this removal's lock (only if it holds it), then remove what is left unless the
    ledger is kept: the state directory and the app's directory if empty."""
    lock_dir = os.path.join(p["state_dir"], "lock")
    if os.path.isdir(lock_dir):
        try:
            with open(os.path.join(lock_dir, "info.json")) as handle:
                token = json.load(handle).get("token")
        except (OSError, ValueError, AttributeError):
            token = None
        if not p["lock_token"] or token != p["lock_token"]:
            return "the deploy lock on this host is not this removal's: left in place"
        shutil.rmtree(lock_dir)
    if not p["keep_ledger"]:
        for path in (p["state_dir"], os.path.dirname(p["state_dir"])):
            try:
                os.rmdir(path)
            except OSError:
                break  # not empty (another environment of the app), or gone already
    return None


if __name__ == "__main__":
    main()
