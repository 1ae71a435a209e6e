#!/usr/bin/python3
"""Ansible module: pull an image and report the registry digests it resolved to."""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(image=dict(type="str", required=True)))
    image = module.params["image"]
    rc, out, err = module.run_command(["docker", "pull", "--quiet", image])
    if rc != 0:
        module.fail_json(msg="docker pull %s failed: %s" % (image, (err or out).strip()))
    rc, out, err = module.run_command(["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image])
    if rc != 0:
        module.fail_json(msg="docker image inspect %s failed: %s" % (image, err.strip()))
    module.exit_json(changed=False, digests=json.loads(out or "[]"))


if __name__ == "__main__":
    main()
