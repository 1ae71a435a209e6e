#!/usr/bin/python3
"""Ansible module: pull an image and report the registry digests it resolved to."""

from __future__ import annotations

import json

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: opsctl_pull
short_description: Pull an image and report the registry digests it resolved to
description:
  - changed is true when the pull fetched a new image (its id changed). Check mode is not supported.
options:
  image: {type: str, required: true, description: The image reference to pull.}
  pull:
    type: bool
    default: true
    description: false (opsctl dev up, whose image is built on this machine) only checks that the image is here.
"""

RETURN = r"""
digests: {description: The image's RepoDigests (repo@sha256:...)., type: list, returned: success}
rc: {description: Docker's exit status., type: int, returned: failure}
"""

# Docker's answer is quoted up to this length (its end says why).
SAID = 1500


def _image_id(module: AnsibleModule, image: str) -> str:
    rc, out, _ = module.run_command(["docker", "image", "inspect", "--format", "{{.Id}}", image])
    return out.strip() if rc == 0 else ""


def _said(rc: int, out: str, err: str) -> str:
    return (err or out).strip()[-SAID:] or f"exit status {rc}"


def main() -> None:
    module = AnsibleModule(argument_spec=dict(image=dict(type="str", required=True),
                                              pull=dict(type="bool", default=True)))
    image = module.params["image"]
    before = _image_id(module, image)
    if not module.params["pull"]:
        if not before:
            module.fail_json(msg=f"image {image} is not on this Docker engine (it is built here, never pulled)")
    else:
        rc, out, err = module.run_command(["docker", "pull", "--quiet", image])
        if rc != 0:
            # Docker's own words, whose end says why (registry, tag, disk); opsctl names the cause.
            module.fail_json(msg=f"docker pull {image} failed: {_said(rc, out, err)}", rc=rc)
    rc, out, err = module.run_command(["docker", "image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", image])
    if rc != 0:
        module.fail_json(msg=f"docker image inspect {image} failed: {_said(rc, out, err)}", rc=rc)
    after, _, digests = out.strip().partition(" ")
    module.exit_json(changed=after != before, digests=json.loads(digests or "[]"))


if __name__ == "__main__":
    main()
