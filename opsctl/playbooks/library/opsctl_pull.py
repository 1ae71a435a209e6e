#!/usr/bin/python3
"""Ansible module: pull an image and report the registry digests it resolved to."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_image import PullError, pull

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
    description: false (an image built on this machine) only checks that the image is here.
"""

RETURN = r"""
digests: {description: The image's RepoDigests (repo@sha256:...)., type: list, returned: success}
"""


def main() -> None:
    module = AnsibleModule(argument_spec=dict(image=dict(type="str", required=True),
                                              pull=dict(type="bool", default=True)))
    try:
        changed, digests = pull(module.run_command, module.params["image"], module.params["pull"])
    except PullError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=changed, digests=digests)


if __name__ == "__main__":
    main()
