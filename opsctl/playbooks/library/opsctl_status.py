#!/usr/bin/python3
"""Ansible module: what an app runs on this host: containers, versions, state, health, uptime."""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import http_ok


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            health=dict(type="dict", default={}),
            images=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    rc, out, err = module.run_command(
        ["docker", "ps", "-a", "-q", "--filter", "label=opsctl.app=%s" % p["app"],
         "--filter", "label=opsctl.env=%s" % p["env"]]
    )
    if rc != 0:
        module.fail_json(msg="docker ps failed: %s" % err.strip())
    ids = out.split()
    containers = []
    if ids:
        rc, out, err = module.run_command(["docker", "inspect", *ids])
        if rc != 0:
            module.fail_json(msg="docker inspect failed: %s" % err.strip())
        for info in json.loads(out):
            labels = info["Config"]["Labels"] or {}
            service = labels.get("opsctl.service")
            entry = {
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
            check = p["health"].get(service or "")
            if check and info["State"]["Running"]:
                networks = info["NetworkSettings"]["Networks"]
                ip = next((n["IPAddress"] for n in networks.values() if n.get("IPAddress")), None)
                url = "http://%s:%d%s" % (ip, check["port"], check["path"])
                entry["health"] = "healthy" if ip and http_ok(url, 2) else "unhealthy"
            containers.append(entry)
    present = []
    for image in p["images"]:
        rc, _, _ = module.run_command(["docker", "image", "inspect", "--format", "{{.Id}}", image])
        if rc == 0:
            present.append(image)
    module.exit_json(changed=False, containers=containers, images_present=present)


if __name__ == "__main__":
    main()
