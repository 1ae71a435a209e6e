#!/usr/bin/python3
"""Ansible module: put an app's files on a host, log it in to the registry and pull the release's
image, in one round trip.

Creates the state directories, writes the env file (mode 0600) and the proxy's nginx.conf, runs
`docker login --password-stdin` and pulls the image. The task that calls it is no_log: its
arguments hold secrets; the playbook's next tasks report its error and the image's digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_atomic, write_if_changed
from ansible.module_utils.opsctl_image import PullError, pull
from ansible.module_utils.opsctl_ingress import Files, IngressError
from ansible.module_utils.opsctl_ingress_host import claim

DOCUMENTATION = r"""
module: opsctl_prepare
short_description: Put an app's files on a host, log in to the registry and pull, in one round trip
description:
  - Creates the state directories, writes the env file (0600) and the proxy's nginx.conf, runs
    docker login --password-stdin, and pulls the image (when one is given).
  - changed is true when a directory or file was written; the registry login is not counted.
  - The login is skipped when this host already logged in to the same registry with the same
    credentials (a sha256 of them is kept in the state directory, 0600) and Docker still holds
    an entry for that registry. Check mode is not supported.
options:
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  env_file: {type: str, required: true, description: Where the env file goes.}
  env_content: {type: str, required: true, description: The env file (secrets; no_log).}
  nginx_conf: {type: str, description: The app's own proxy's nginx.conf (opsctl dev); null otherwise.}
  ingress: {type: dict, description: "The shared ingress: dir, key (APP.ENV), claims (this host's); null
    without it. A claim another app on the host holds fails the module before anything is written."}
  ingress_tls: {type: raw, description: "JSON: service -> certificate and key PEM (secrets; no_log)."}
  registry: {type: dict, description: "server, username, password (no_log); null without a registry."}
  image: {type: str, description: The image to pull after the login; none pulls nothing.}
  pull: {type: bool, default: true, description: false (an image built on this machine) only checks that it is here.}
"""

RETURN = r"""
changed: {description: Whether a directory or file was written., type: bool, returned: always}
logged_in: {description: Whether docker login ran (false when the same login was already done)., type: bool, returned: always}
digests: {description: The pulled image's RepoDigests (repo@sha256:...)., type: list, returned: success}
timings: {description: Seconds the registry login and the pull took., type: dict, returned: always}
error: {description: "What failed, in words without secrets: the file it could not write, the
  registry login or the pull, and Docker's answer. The task is no_log (its whole result is hidden),
  so the playbook's next tasks report this.", type: str, returned: failure}
error_step: {description: "Where it failed: claim (the ingress routes), files, login or pull.", type: str, returned: failure}
"""

# Docker's answer is quoted up to this length (its end says why).
SAID = 1500


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="str", required=True),
            env_file=dict(type="str", required=True),
            env_content=dict(type="str", required=True, no_log=True),
            nginx_conf=dict(type="str", default=None),
            ingress=dict(type="dict", default=None),
            ingress_tls=dict(type="raw", default=None, no_log=True),
            # Only the password is secret: Ansible masks a no_log value wherever it appears in the
            # result, and the registry's address must stay readable in an error.
            registry=dict(type="dict", default=None, options=dict(
                server=dict(type="str", required=True),
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                password_file=dict(type="str"),  # where the play read the password from; unused here
            )),
            image=dict(type="str", default=None),
            pull=dict(type="bool", default=True),
        ),
    )
    p = module.params
    try:
        # First: an app's routes that another app on this host holds refuse the deploy here.
        changed = _claim(p)
        changed = _write_files(p) or changed
    except IngressError as exc:
        _fail(module, str(exc), "claim")
    except OSError as exc:
        # A full disk or a read-only file system: say which file, never its (secret) content.
        _fail(module, f"could not write {exc.filename or p['state_dir']}: {exc.strerror or exc}", "files")
    began, logged_in = time.monotonic(), False
    if p["registry"]:
        logged_in = login(module, p["registry"], p["state_dir"])
    timings = {"login": round(time.monotonic() - began, 3)}
    digests: list[str] = []
    if p["image"]:
        began = time.monotonic()
        try:
            pulled, digests = pull(module.run_command, p["image"], p["pull"])
        except PullError as exc:
            _fail(module, str(exc), "pull")
        changed, timings["pull"] = changed or pulled, round(time.monotonic() - began, 3)
    module.exit_json(changed=changed, logged_in=logged_in, digests=digests, timings=timings)


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
    """docker login unless this host already did the same login (a sha256 of the credentials is
    kept 0600 in the state directory) and Docker still holds it; True if it ran."""
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
        said = (err or out).strip()[-SAID:] or f"exit status {rc}"
        _fail(module, "docker login to {} failed: {}".format(registry["server"], said), "login")
    write_atomic(stamp_path, stamp, 0o600)
    return True


def _claim(p: dict[str, Any]) -> bool:
    ingress = p["ingress"]
    if not ingress:
        return False
    tls = p["ingress_tls"] or {}
    if isinstance(tls, str):
        tls = json.loads(tls)
    return bool(claim(Files(ingress["dir"]), ingress["key"], ingress["claims"], tls))


def _write_files(p: dict[str, Any]) -> bool:
    changed = False
    for sub in ("", "env", "proxy", "proxy/services"):
        path = os.path.join(p["state_dir"], sub)
        if not os.path.isdir(path):
            os.makedirs(path, mode=0o700, exist_ok=True)
            changed = True
    changed = write_if_changed(p["env_file"], p["env_content"], 0o600) or changed
    if p["nginx_conf"] is not None:
        changed = write_if_changed(os.path.join(p["state_dir"], "proxy", "nginx.conf"), p["nginx_conf"]) or changed
    return changed


def _fail(module: AnsibleModule, error: str, step: str) -> NoReturn:
    # `error` survives into the registered result, which the playbook reads; AnsibleModule also
    # masks any no_log value (the password, the env file) that might appear in it.
    module.fail_json(msg=error, error=error, error_step=step)


if __name__ == "__main__":
    main()
