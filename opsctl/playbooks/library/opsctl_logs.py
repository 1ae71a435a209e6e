#!/usr/bin/python3
"""Ansible module: the recent log lines of one service's containers on this host."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str", required=True),
            env=dict(type="str", required=True),
            service=dict(type="str", required=True),
            lines=dict(type="int", default=100),
        ),
        supports_check_mode=True,
    )
    p = module.params
    rc, out, err = module.run_command(
        ["docker", "ps", "--format", "{{.Names}}",
         "--filter", "label=opsctl.app=%s" % p["app"], "--filter", "label=opsctl.env=%s" % p["env"],
         "--filter", "label=opsctl.service=%s" % p["service"]]
    )
    if rc != 0:
        module.fail_json(msg="docker ps failed: %s" % err.strip())
    logs = {}
    for name in sorted(out.split()):
        rc, stdout, stderr = module.run_command(["docker", "logs", "--timestamps", "--tail", str(p["lines"]), name])
        logs[name] = (stdout + stderr) if rc == 0 else "(docker logs failed: %s)" % stderr.strip()
    module.exit_json(changed=False, logs=logs)


if __name__ == "__main__":
    main()
