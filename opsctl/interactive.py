"""`opsctl exec -i`: an interactive terminal in a new container of the current release on one host.

Ansible cannot carry a terminal, so this is plain `ssh -t` with the host's connection settings from
the inventory, running `docker run -it` there. ssh hands the remote side one command line for its
shell: every word is quoted with shlex.join, so the user's command arrives as given, never
interpreted by that shell.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any

from opsctl.errors import OpsctlError, UsageError


def docker_argv(image: str, env_file: str, labels: dict[str, str], command: list[str]) -> list[str]:
    """The container to start on the host: the release's image and env file, a terminal, removed after."""
    argv = ["docker", "run", "--rm", "-it", "--env-file", env_file]
    for key, value in labels.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, image, *command]


def ssh_argv(host: str, host_vars: dict[str, Any], remote: list[str]) -> list[str]:
    """ssh with a terminal to `host`, from its inventory variables (Ansible's names)."""
    address = str(host_vars.get("ansible_host") or host)
    if address.startswith("-"):
        raise UsageError(f"host {host}: ansible_host {address!r} cannot start with '-'")
    argv = ["ssh", "-t", "-o", "ConnectTimeout=15", "-o", "BatchMode=yes"]
    if host_vars.get("ansible_port"):
        argv += ["-p", str(int(host_vars["ansible_port"]))]
    if host_vars.get("ansible_user"):
        argv += ["-l", str(host_vars["ansible_user"])]
    if host_vars.get("ansible_ssh_private_key_file"):
        argv += ["-i", str(host_vars["ansible_ssh_private_key_file"])]
    for key in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        # The operator's own inventory, split the way Ansible splits it.
        argv += shlex.split(str(host_vars.get(key) or ""))
    return [*argv, "--", address, shlex.join(remote)]


def run(fleet: Any, host: str | None, command: list[str]) -> int:
    """Start the terminal session; return the command's exit code."""
    from opsctl.deploy.plan import select_hosts

    if not command:
        raise UsageError("which command? e.g. opsctl exec -i -- bash")
    if not sys.stdin.isatty():
        raise UsageError("exec -i needs a terminal on standard input", hint="without -i, output is collected")
    target = select_hosts(fleet.inventory, [host] if host else [fleet.primary])[0]
    current, image, env_file = fleet.current_release()
    labels = {"OPSCTL_APP": fleet.config.app, "OPSCTL_ENV": fleet.env_name,
              "OPSCTL_VERSION": current.version, "OPSCTL_RELEASE": str(current.number)}
    argv = ssh_argv(target, fleet.inventory.hosts[target], docker_argv(image, env_file, labels, command))
    try:
        return subprocess.run(argv, check=False).returncode  # noqa: S603 - an argument list, no local shell
    except FileNotFoundError as exc:
        raise OpsctlError("exec -i needs the ssh client (openssh-client) on this machine") from exc
