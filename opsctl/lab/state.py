"""The lab's state and the files `lab up` writes to the lab dir (`opsctl.paths.lab_dir()`).

Files: `id_ed25519`/`id_ed25519.pub` (the key every server trusts), `inventory.yml` (Ansible
inventory), `secrets.env` (registry password), `lab.json` (what `lab status --json` prints), and
while the lab runs `moto.pid`/`moto.log`, plus `build.log` after an image build.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from opsctl import files, paths
from opsctl.lab import names

KEY_FILE = "id_ed25519"
PUBKEY_FILE = "id_ed25519.pub"
INVENTORY_FILE = "inventory.yml"
SECRETS_FILE = "secrets.env"
STATE_FILE = "lab.json"
MOTO_PID_FILE = "moto.pid"
MOTO_LOG_FILE = "moto.log"
BUILD_LOG_FILE = "build.log"
LOCK_FILE = ".lock"
ALL_FILES = (
    KEY_FILE,
    PUBKEY_FILE,
    INVENTORY_FILE,
    SECRETS_FILE,
    STATE_FILE,
    MOTO_PID_FILE,
    MOTO_LOG_FILE,
    BUILD_LOG_FILE,
    LOCK_FILE,
)
PASSWORD_VAR = "OPSCTL_REGISTRY_PASSWORD"
SSH_COMMON_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"


def lab_dir() -> Path:
    return paths.lab_dir()


@dataclass(frozen=True)
class HostState:
    name: str
    index: int
    ssh_port: int
    http_port: int
    state: str
    """The server container's state: running, exited, created, ... or missing."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ssh_port": self.ssh_port,
            "http_port": self.http_port,
            "state": self.state,
        }


@dataclass
class LabState:
    directory: Path
    hosts: list[HostState] = field(default_factory=list)
    registry_state: str = "missing"
    aws_state: str = "stopped"
    # Server name -> its EC2 instance id on the lab's AWS endpoint (see opsctl/lab/ec2.py).
    target_ids: dict[str, str] = field(default_factory=dict)

    registry: str = names.REGISTRY
    aws_endpoint: str = names.AWS_ENDPOINT

    @property
    def inventory_path(self) -> Path:
        return self.directory / INVENTORY_FILE

    @property
    def ssh_key_path(self) -> Path:
        return self.directory / KEY_FILE

    @property
    def secrets_env_path(self) -> Path:
        return self.directory / SECRETS_FILE

    @property
    def up(self) -> bool:
        """Every server, the registry and the AWS endpoint run."""
        return (
            bool(self.hosts)
            and all(h.state == "running" for h in self.hosts)
            and self.registry_state == "running"
            and self.aws_state == "running"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "up": self.up,
            "hosts": [h.to_json() for h in self.hosts],
            "registry": self.registry,
            "registry_user": names.REGISTRY_USER,
            "registry_state": self.registry_state,
            "aws_endpoint": self.aws_endpoint,
            "aws_region": names.AWS_REGION,
            "aws_access_key_id": names.AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": names.AWS_SECRET_ACCESS_KEY,
            "aws_state": self.aws_state,
            "lab_dir": str(self.directory),
            "inventory": str(self.inventory_path),
            "ssh_key": str(self.ssh_key_path),
            "secrets_env": str(self.secrets_env_path),
            "network": names.NETWORK,
            "images": {
                "base": names.BASE_IMAGE,
                "host": names.HOST_IMAGE,
                "proxy": names.PROXY_IMAGE,
            },
        }


def render_inventory(hosts: list[HostState], key_path: Path, target_ids: dict[str, str] | None = None) -> str:
    """The Ansible YAML inventory: lab1..labN in group `servers`."""
    host_vars: dict[str, dict[str, Any]] = {}
    for host in sorted(hosts, key=lambda h: h.index):
        host_vars[host.name] = {
            "ansible_host": names.BIND_ADDRESS,
            "ansible_port": host.ssh_port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key_path.resolve()),
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": SSH_COMMON_ARGS,
            "opsctl_http_port": host.http_port,
        }
        if target_ids and host.name in target_ids:
            host_vars[host.name]["opsctl_target_id"] = target_ids[host.name]
    doc = {"all": {"children": {"servers": {"hosts": host_vars}}}}
    header = "# Written by `opsctl lab up`; removed by `opsctl lab down`.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def render_secrets(password: str) -> str:
    return f"{PASSWORD_VAR}={password}\n"


def parse_secrets(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read (created 0600, never briefly wider)."""
    files.write_private_text(path, text)


def write_public(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_state_files(state: LabState) -> None:
    write_public(state.inventory_path, render_inventory(state.hosts, state.ssh_key_path, state.target_ids))
    write_public(state.directory / STATE_FILE, json.dumps(state.to_json(), indent=2) + "\n")


def ensure_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def remove_files(directory: Path) -> list[Path]:
    """Remove the files the lab wrote, then the dir itself if nothing else is left in it."""
    removed: list[Path] = []
    for name in ALL_FILES:
        # A write cut short (killed, disk full) leaves its temporary, which would keep the dir from
        # going: `write_public`'s fixed one, or `write_private`'s uniquely named ones.
        temporaries = files.leftover_temporaries(directory / name)
        for path in (directory / name, directory / (name + ".tmp"), *temporaries):
            if path.exists() or path.is_symlink():
                path.unlink()
                removed.append(path)
    try:
        directory.rmdir()
    except OSError:
        pass
    return removed
