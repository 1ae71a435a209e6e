#!/usr/bin/python3
"""Ansible module: what an app runs on this host: containers, versions, state, health, uptime."""

from __future__ import annotations

import json
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import http_ok

DOCUMENTATION = r"""
module: opsctl_status
short_description: The app's containers on this host, with version, state, health and uptime
description:
  - Reads only; changed is always false, and check mode reads the same way.
options:
  app: {type: str, required: true, description: The app's name (label opsctl.app).}
  env: {type: str, required: true, description: The environment (label opsctl.env).}
  health: {type: dict, default: {}, description: "Per service {port, path}: its HTTP health check."}
  images: {type: list, elements: str, default: [], description: Image references to look for on this host.}
  ingress: {type: str, description: "The server's shared ingress container: reported as the app's proxy."}
"""

RETURN = r"""
containers: {description: "One entry per container: name, service, role, version, release, image, state, started_at, restarts, health.", type: list, returned: always}
images_present: {description: Those of `images` this host has., type: list, returned: always}
"""


def describe(info: dict[str, Any], health: dict[str, Any]) -> dict[str, Any]:
    """One container of `docker inspect`, as opsctl reads it."""
    labels = info["Config"]["Labels"] or {}
    service = labels.get("opsctl.service")
    entry: dict[str, Any] = {
        "name": info["Name"].lstrip("/"),
        "service": service or labels.get("opsctl.role"),
        "role": labels.get("opsctl.role", "app"),
        "version": labels.get("opsctl.version"),
        "release": labels.get("opsctl.release"),
        "image": info["Config"]["Image"],
        "state": info["State"]["Status"],
        "started_at": info["State"].get("StartedAt"),
        "restarts": info.get("RestartCount", 0),
        "health": None,
    }
    check = health.get(service or "")
    # A paused container (a standby, rollout.standby) counts as running but cannot answer.
    if check and info["State"]["Running"] and not info["State"].get("Paused"):
        networks = info["NetworkSettings"]["Networks"]
        ip = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), None)
        url = f"http://{ip}:{int(check['port'])}{check['path']}"
        entry["health"] = "healthy" if ip and http_ok(url, 2) else "unhealthy"
    return entry


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            health=dict(type="dict", default={}),
            images=dict(type="list", elements="str", default=[]),
            ingress=dict(type="str", default=None),
        ),
        supports_check_mode=True,
    )
    p = module.params
    rc, out, err = module.run_command(
        ["docker", "ps", "-a", "-q", "--filter", f"label=opsctl.app={p['app']}",
         "--filter", f"label=opsctl.env={p['env']}"]
    )
    if rc != 0:
        module.fail_json(msg=f"docker ps failed: {err.strip()}")
    ids = out.split()
    if p["ingress"]:  # the shared ingress (docs/ingress.md) is this app's proxy too
        rc, out, _ = module.run_command(["docker", "ps", "-a", "-q", "--filter", "name=^{}$".format(p["ingress"])])
        ids += out.split() if rc == 0 else []
    containers = []
    if ids:
        rc, out, err = module.run_command(["docker", "inspect", *ids])
        if rc != 0:
            module.fail_json(msg=f"docker inspect failed: {err.strip()}")
        containers = [describe(info, p["health"]) for info in json.loads(out)]
        for entry in containers:
            if entry["name"] == p["ingress"]:
                entry["service"] = entry["role"] = "proxy"
    present = []
    for image in p["images"]:
        rc, _, _ = module.run_command(["docker", "image", "inspect", "--format", "{{.Id}}", image])
        if rc == 0:
            present.append(image)
    module.exit_json(changed=False, containers=containers, images_present=present)


if __name__ == "__main__":
    main()
