"""`opsctl watch --install` decided in plain Python: what the in-fleet watcher is called, where its
files live, the inventory and opsctl.yml it reads, the host keys it trusts and its `docker run` line.

The watcher is one container (`APP-ENV-watch`, restart unless-stopped, host network) of an image
that holds opsctl, on one host. It runs the same `opsctl watch` as a laptop would, against an
inventory that names every host by its address inside the fleet, with a key of its own that only
it holds (0600 on that host), and host keys read over the operator's own SSH connection (pinned:
StrictHostKeyChecking=yes). Nothing here does I/O; watch_fleet.py runs it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError

if TYPE_CHECKING:
    from opsctl.config.inventory import Inventory
    from opsctl.config.models import Config

MOUNT = "/etc/opsctl-watch"  # where the watcher's files appear inside its container (read-only)
CONFIG_FILE = "opsctl.yml"
INVENTORY_FILE = "inventory.yml"
KNOWN_HOSTS_FILE = "known_hosts"
KEY_FILE = "id_ed25519"
ROLE = "watch"
# Host variables the watcher's inventory keeps; everything else (passwords, local key paths, the
# laptop's port forwards) stays behind.
KEPT_VARS = ("ansible_user", "ansible_python_interpreter", "ansible_become", "ansible_become_method",
             "ansible_become_user", "opsctl_target_id")
_HOST_KEY = re.compile(r"(ssh-ed25519) ([A-Za-z0-9+/]+={0,3})(?: .*)?")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class WatchNames:
    app: str
    env: str
    state_dir: str  # the environment's state directory on the hosts

    @property
    def container(self) -> str:
        return f"{self.app}-{self.env}-watch"

    @property
    def directory(self) -> str:
        return f"{self.state_dir}/watch"

    @property
    def marker(self) -> str:
        """The comment on the watcher's authorized_keys line: how uninstall finds it again."""
        return f"opsctl-watch:{self.app}-{self.env}"


@dataclass(frozen=True)
class HostFacts:
    address: str  # where the other hosts reach this one inside the fleet
    ssh_port: int
    host_key: str  # "ssh-ed25519 AAAA..."


def _address(host: str, host_vars: Mapping[str, Any], default_ipv4: Any) -> str:
    chosen = host_vars.get("opsctl_fleet_address")
    if not chosen:
        ansible_host = str(host_vars.get("ansible_host") or host)
        # A loopback address is a laptop's port forward (the lab's): the host's own address is
        # what the others see. Otherwise the operator's address for it is the fleet's too.
        chosen = default_ipv4 if ansible_host in _LOOPBACK else ansible_host
    if not isinstance(chosen, str) or not chosen:
        raise OpsctlError(f"host {host}: no address inside the fleet (set the host var opsctl_fleet_address)")
    try:
        return str(ipaddress.ip_address(chosen))
    except ValueError:
        if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})", chosen):
            return chosen
    raise OpsctlError(f"host {host}: {chosen!r} is not an IP address or host name")


def host_facts(host: str, host_vars: Mapping[str, Any], setup: Mapping[str, Any], key_b64: str) -> HostFacts:
    """Validate what one host reported (its default IPv4, its ed25519 host key) into HostFacts."""
    import base64
    import binascii

    facts = setup.get("ansible_facts") if isinstance(setup.get("ansible_facts"), dict) else {}
    ipv4 = facts.get("ansible_default_ipv4") if isinstance(facts, dict) else None
    default = ipv4.get("address") if isinstance(ipv4, dict) else None
    address = _address(host, host_vars, default)
    try:
        line = base64.b64decode(key_b64, validate=True).decode("ascii").strip()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        line = ""
    match = _HOST_KEY.fullmatch(line)
    if not match:
        raise OpsctlError(f"host {host}: /etc/ssh/ssh_host_ed25519_key.pub does not hold an ed25519 public key")
    raw_port = host_vars.get("opsctl_fleet_ssh_port")
    if raw_port is None:
        loopback = str(host_vars.get("ansible_host") or host) in _LOOPBACK
        raw_port = 22 if loopback else host_vars.get("ansible_port") or 22
    try:
        port = int(raw_port)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise OpsctlError(f"host {host}: SSH port {raw_port!r} is not a port number")
    return HostFacts(address, port, f"{match.group(1)} {match.group(2)}")


def known_hosts(facts: Mapping[str, HostFacts]) -> str:
    lines = []
    for _, f in sorted(facts.items()):
        where = f.address if f.ssh_port == 22 else f"[{f.address}]:{f.ssh_port}"
        lines.append(f"{where} {f.host_key}")
    return "\n".join(lines) + "\n"


def fleet_inventory(inventory: Inventory, facts: Mapping[str, HostFacts], login: str) -> dict[str, Any]:
    """A YAML inventory of every host by its fleet address, with the groups services are placed by."""
    ssh_args = (f"-o UserKnownHostsFile={MOUNT}/{KNOWN_HOSTS_FILE} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes")
    hosts: dict[str, dict[str, Any]] = {}
    for host, host_vars in inventory.hosts.items():
        kept = {k: host_vars[k] for k in KEPT_VARS if k in host_vars}
        hosts[host] = {
            **kept,
            "ansible_host": facts[host].address,
            "ansible_port": facts[host].ssh_port,
            "ansible_user": kept.get("ansible_user", login),
            "ansible_ssh_private_key_file": f"{MOUNT}/{KEY_FILE}",
            "ansible_ssh_common_args": ssh_args,
        }
    children = {
        group: {"hosts": {h: None for h in members}}
        for group, members in sorted(inventory.groups.items())
        if group not in {"all", "ungrouped"} and members
    }
    return {"all": {"hosts": hosts, **({"children": children} if children else {})}}


def _escape(node: Any) -> Any:
    """opsctl.yml interpolates ${VAR}: a literal '$' in a value read back must be written '$$'."""
    if isinstance(node, str):
        return node.replace("$", "$$")
    if isinstance(node, list):
        return [_escape(v) for v in node]
    if isinstance(node, dict):
        return {k: _escape(v) for k, v in node.items()}
    return node


def watcher_config(config: Config, env_name: str) -> dict[str, Any]:
    """The opsctl.yml the watcher reads: the app's services and notify webhooks, one environment
    whose inventory is the fleet's; no secrets, registry, build, release or AWS settings."""
    env = config.environments[env_name]
    services = {name: s.model_dump(mode="json", exclude={"command"}) for name, s in config.services.items()}
    escaped: dict[str, Any] = _escape({
        "app": config.app,
        "image": config.image,
        "services": services,
        "environments": {env_name: {
            "inventory": INVENTORY_FILE,
            "load_balancer": env.load_balancer.model_dump(mode="json", include={"proxy", "proxy_image"}),
        }},
        "notify": [hook.model_dump(mode="json", exclude_none=True) for hook in config.notify],
    })
    return escaped


def run_argv(names: WatchNames, image: str, interval: float, confirm: int) -> list[str]:
    """`docker run` of the watcher. Host network: it is a client of the hosts' own addresses and
    publishes nothing. Its files are mounted read-only; no value of them is on the command line."""
    return [
        "docker", "run", "--detach", "--name", names.container, "--restart", "unless-stopped",
        "--network", "host",
        "--label", f"opsctl.app={names.app}", "--label", f"opsctl.env={names.env}", "--label", f"opsctl.role={ROLE}",
        "--log-opt", "max-size=10m", "--log-opt", "max-file=3",
        "--volume", f"{names.directory}:{MOUNT}:ro",
        image,
        "--config", f"{MOUNT}/{CONFIG_FILE}", "watch", "--env", names.env,
        "--interval", f"{interval:g}", "--confirm", str(confirm),
    ]


def default_image(config: Config, version: str) -> str | None:
    """`REGISTRY/opsctl:VERSION` in the app's registry (the servers are logged in there by deploy)."""
    return f"{config.registry.server}/opsctl:{version}" if config.registry else None


_IMAGE_REF = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::\d{1,5})?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)


def check_image_ref(value: str, option: str) -> str:
    """An image reference from the command line; it ends up in a `docker run` argument list."""
    from opsctl.errors import UsageError

    if not _IMAGE_REF.fullmatch(value) or value.startswith("-"):
        raise UsageError(f"{option}: expected an image reference like registry.example.com/opsctl:0.1.0, got {value!r}")
    return value
