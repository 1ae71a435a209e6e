"""`opsctl dev down` and `opsctl dev status`: what `dev up` left on this machine, found by its
names and labels (so a half-finished `up` is cleaned up as well as a finished one)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsctl.deploy.names import LABEL_PREFIX, Names
from opsctl.dev import files, standins
from opsctl.dev.plan import LABEL
from opsctl.errors import OpsctlError


@dataclass
class Found:
    containers: list[dict[str, str]] = field(default_factory=list)  # name, status, role
    volume: str | None = None
    network: str | None = None
    moto_pid: int | None = None
    host_state: Path | None = None  # the app's state directory on this machine (/var/lib/opsctl/...)
    home: Path | None = None  # opsctl dev's own files under the state home

    @property
    def empty(self) -> bool:
        return not (self.containers or self.volume or self.network or self.moto_pid
                    or self.host_state or self.home)

    def to_json(self) -> dict[str, Any]:
        return {"containers": self.containers, "volume": self.volume, "network": self.network,
                "aws_endpoint_pid": self.moto_pid,
                "host_state": str(self.host_state) if self.host_state else None,
                "dev_files": str(self.home) if self.home else None}


def find(client: Any, app: str, env: str) -> Found:
    from docker.errors import NotFound

    names = Names(app, env)
    key = f"{app}-{env}"
    found = Found()
    app_labels = [f"{LABEL_PREFIX}.app={app}", f"{LABEL_PREFIX}.env={env}"]
    for container in client.containers.list(all=True, filters={"label": app_labels}):
        role = container.labels.get(f"{LABEL_PREFIX}.role") or container.labels.get(f"{LABEL_PREFIX}.service", "")
        found.containers.append({"name": container.name, "status": container.status, "role": role})
    for container in client.containers.list(all=True, filters={"label": f"{LABEL}={key}"}):
        found.containers.append({"name": container.name, "status": container.status, "role": "postgres"})
    for what, getter, name in (("volume", client.volumes.get, f"{key}-postgres-data"),
                               ("network", client.networks.get, names.network)):
        try:
            getter(name)
        except NotFound:
            continue
        setattr(found, what, name)
    home = files.directory(app, env)
    if home.exists():
        from opsctl.lab.aws import running_pid

        found.home = home
        found.moto_pid = running_pid(home)
    if Path(names.state_dir).exists():
        found.host_state = Path(names.state_dir)
    return found


def remove(client: Any, found: Found) -> list[str]:
    """Remove everything found; what was removed, for the report."""
    from docker.errors import NotFound

    removed: list[str] = []
    for entry in found.containers:
        try:
            client.containers.get(entry["name"]).remove(force=True, v=True)
        except NotFound:
            continue
        removed.append(f"container {entry['name']}")
    if found.volume:
        client.volumes.get(found.volume).remove(force=True)
        removed.append(f"volume {found.volume}")
    if found.network:
        client.networks.get(found.network).remove()
        removed.append(f"network {found.network}")
    if found.home:
        from opsctl.lab.aws import stop

        if stop(found.home):
            removed.append("the AWS endpoint (moto)")
    for path in (found.host_state, found.home):
        if path is None:
            continue
        try:
            shutil.rmtree(path)
        except OSError as exc:
            raise OpsctlError(f"could not remove {path}: {exc.strerror or exc}",
                              hint="remove it by hand (it may need root)") from None
        removed.append(str(path))
        try:
            path.parent.rmdir()  # /var/lib/opsctl/<app>, <state home>/dev: only when now empty
        except OSError:
            pass
    return removed


def engine() -> Any:
    return standins.engine()
