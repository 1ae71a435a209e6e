"""`opsctl watch --install` / `--uninstall`: put the health watch on the fleet as a singleton
container of its own, so alerts do not depend on a laptop (the decisions are in watch_plan.py).

Install is two playbook runs: watch_facts.yml reads every host's address and SSH host key;
watch_install.yml authorizes a key made for the watcher on every host, writes the watcher's files
(0700 directory, 0600 files) on its host, pulls the image and starts the container. The private key
and the opsctl.yml (which holds the webhook URLs) travel as private local files, never as
arguments, and are deleted locally when the run ends.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from opsctl import output
from opsctl.errors import OpsctlError
from opsctl.observe import watch_plan
from opsctl.observe.watch_plan import HostFacts, WatchNames

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet


@dataclass
class Installed:
    host: str
    container: str
    image: str
    hosts: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "container": self.container, "image": self.image, "hosts": self.hosts}


def names_of(fleet: Fleet) -> WatchNames:
    return WatchNames(fleet.config.app, fleet.env_name, fleet.names.state_dir)


def _constants(fleet: Fleet, names: WatchNames) -> dict[str, Any]:
    return {"opsctl_targets": ",".join(fleet.hosts), "opsctl_watch_dir": names.directory,
            "opsctl_watch_name": names.container, "opsctl_watch_marker": names.marker}


def read_facts(fleet: Fleet) -> dict[str, HostFacts]:
    result = fleet.run("watch_facts.yml", {"opsctl_targets": ",".join(fleet.hosts)}, label="watch-facts", quiet=True)
    if not result.ok:
        raise OpsctlError(f"could not read every host (the watcher must reach them all): {result.failure_summary()}")
    setups, keys = result.of("address"), result.of("host_key")
    facts = {}
    for host in fleet.hosts:
        key = keys[host].result.get("content") if host in keys else None
        if host not in setups or not isinstance(key, str):
            raise OpsctlError(f"host {host} did not report its address and SSH host key")
        facts[host] = watch_plan.host_facts(host, fleet.inventory.hosts[host], setups[host].result, key)
    return facts


def _keygen(directory: Path, comment: str) -> tuple[Path, str]:
    """A new ed25519 key for the watcher, made locally (no passphrase: the watcher runs unattended)."""
    ssh_keygen = shutil.which("ssh-keygen")
    if ssh_keygen is None:
        raise OpsctlError("ssh-keygen is not installed (the watcher gets a key of its own)",
                          hint="apt-get install openssh-client")
    key = directory / watch_plan.KEY_FILE
    done = subprocess.run(  # noqa: S603 - argument list; the comment is app/env names (slugs)
        [ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise OpsctlError(f"ssh-keygen failed: {done.stderr.strip()}")
    return key, key.with_suffix(".pub").read_text().strip()


def push_image(fleet: Fleet, local: str, ref: str) -> None:
    """Tag a local image (e.g. `opsctl:VERSION` from `make image`) as `ref` and push it with the
    app's registry credentials."""
    from opsctl.build import credentials, docker_api
    from opsctl.build.progress import make_progress
    from opsctl.build.push import login, push_tag

    repo, _, tag = ref.rpartition(":")
    if not repo or "/" in tag:
        raise OpsctlError(f"--image {ref}: expected REPOSITORY:TAG")
    api = docker_api()
    try:
        api.tag(local, repo, tag)
    except Exception as exc:  # docker.errors.ImageNotFound / APIError: say which image
        raise OpsctlError(f"cannot tag the local image {local}: {exc}",
                          hint="build it first: make image (tools/build-image.sh)") from None
    creds = credentials(fleet.config)
    if creds is not None:
        login(api, creds)
    progress = make_progress()
    try:
        push_tag(api, repo, tag, creds, progress)
    finally:
        progress.close()


def install(fleet: Fleet, host: str, image: str, interval: float, confirm: int) -> Installed:
    from opsctl.deploy.runner import secret_dir, write_secret

    if host not in fleet.hosts:
        raise OpsctlError(f"--host {host}: not a host of {fleet.env_name} ({', '.join(fleet.hosts)})")
    names = names_of(fleet)
    output.step(f"reading every host's address and SSH host key ({len(fleet.hosts)} hosts)")
    facts = read_facts(fleet)
    inventory = watch_plan.fleet_inventory(fleet.inventory, facts, getpass.getuser())
    config = watch_plan.watcher_config(fleet.config, fleet.env_name)
    with secret_dir() as private:
        key, public = _keygen(private, names.marker)
        files = [
            {"name": watch_plan.KEY_FILE, "src": str(key)},
            {"name": watch_plan.CONFIG_FILE, "src": str(write_secret(private, "config", yaml.safe_dump(config)))},
            {"name": watch_plan.INVENTORY_FILE,
             "src": str(write_secret(private, "inventory", yaml.safe_dump(inventory)))},
            {"name": watch_plan.KNOWN_HOSTS_FILE,
             "src": str(write_secret(private, "known_hosts", watch_plan.known_hosts(facts)))},
        ]
        output.step(f"starting {names.container} on {host} ({image})")
        result = fleet.run(
            "watch_install.yml", {**_constants(fleet, names), "opsctl_watch_host": host}, label="watch-install",
            data={"public_key": public, "files": files, "image": image,
                  "run_argv": watch_plan.run_argv(names, image, interval, confirm)},
            quiet=True,
        )
    if not result.ok:
        hint = None
        if "pull" in result.failure_summary():
            hint = (f"the servers could not pull {image}: push an opsctl image there first "
                    "(make image; then --push opsctl:VERSION), and deploy once so they are logged in")
        raise OpsctlError(f"installing the watcher failed: {result.failure_summary()}", hint=hint)
    return Installed(host, names.container, image, fleet.hosts)


def uninstall(fleet: Fleet) -> list[str]:
    """Remove the watcher from every host; return the hosts it (or its files) was found on."""
    names = names_of(fleet)
    result = fleet.run("watch_remove.yml", _constants(fleet, names), label="watch-remove", quiet=True)
    if not result.ok:
        raise OpsctlError(f"removing the watcher failed: {result.failure_summary()}")
    found = sorted({r.host for r in result.results if r.task == "Remove the watcher's container" and r.status == "ok"})
    return found
