"""What the lab's containers are made from: the docker SDK `containers.create` arguments (pure,
unit-tested) and the small archives put into them before they start."""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any

from opsctl.lab import names

DIND_FLAGS: dict[str, Any] = {
    # Docker in Docker on these machines (--privileged fails: no CAP_SYS_RESOURCE here).
    "cap_add": ["ALL"],
    "cap_drop": ["SYS_RESOURCE"],
    "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
    "cgroupns": "host",
    "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
    "tmpfs": {"/var/lib/docker": "exec"},
}


def server_spec(index: int, image_id: str, pubkey: str) -> str:
    """The spec hash of server `index`: a running server with another hash is recreated."""
    from opsctl.lab.credentials import fingerprint

    return fingerprint(f"{index}|{image_id}|{pubkey}|{names.REGISTRY_CONTAINER}|{DIND_FLAGS}")


def registry_spec(image_id: str, password: str) -> str:
    from opsctl.lab.credentials import fingerprint

    return fingerprint(f"{image_id}|{fingerprint(password)}")


def server_create_args(index: int, image_id: str, spec: str) -> dict[str, Any]:
    name = names.host_name(index)
    return {
        "image": image_id,
        "name": names.container_name(name),
        "hostname": name,
        "detach": True,
        "init": True,
        "labels": {
            names.LABEL: "1",
            names.LABEL_ROLE: names.ROLE_HOST,
            names.LABEL_HOST: name,
            names.LABEL_INDEX: str(index),
            names.LABEL_SSH_PORT: str(names.ssh_port(index)),
            names.LABEL_HTTP_PORT: str(names.http_port(index)),
            names.LABEL_SPEC: spec,
        },
        "environment": {"OPSCTL_REGISTRY_HOST": names.REGISTRY_CONTAINER},
        "ports": {
            "22/tcp": (names.BIND_ADDRESS, names.ssh_port(index)),
            "80/tcp": (names.BIND_ADDRESS, names.http_port(index)),
        },
        "network": names.NETWORK,
        **DIND_FLAGS,
    }


def registry_create_args(image_id: str, spec: str) -> dict[str, Any]:
    return {
        "image": image_id,
        "name": names.REGISTRY_CONTAINER,
        "hostname": "registry",
        "command": ["docker-registry", "serve", "/etc/docker/registry/config.yml"],
        "detach": True,
        "init": True,
        "labels": {
            names.LABEL: "1",
            names.LABEL_ROLE: names.ROLE_REGISTRY,
            names.LABEL_SPEC: spec,
        },
        "ports": {"5000/tcp": (names.BIND_ADDRESS, names.REGISTRY_PORT)},
        "network": names.NETWORK,
    }


def tar_files(files: dict[str, tuple[bytes, int]], dirs: dict[str, int] | None = None) -> bytes:
    """An in-memory tar of `files` (path -> (content, mode)) and `dirs` (path -> mode), owned by
    root, for `container.put_archive`."""
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, mode in (dirs or {}).items():
            info = tarfile.TarInfo(path)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            info.mtime = now
            tar.addfile(info)
        for path, (content, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mode = mode
            info.mtime = now
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def authorized_keys_archive(pubkey: str) -> bytes:
    """/root/.ssh/authorized_keys for put_archive at `/root`."""
    return tar_files(
        {".ssh/authorized_keys": ((pubkey.strip() + "\n").encode(), 0o600)},
        dirs={".ssh": 0o700},
    )


def htpasswd_archive(line: str) -> bytes:
    """/etc/docker/registry/htpasswd for put_archive at `/etc/docker/registry`."""
    return tar_files({"htpasswd": ((line.strip() + "\n").encode(), 0o600)})
