"""The shared ingress, from the deploying machine: what an app claims on it, what the swap gets to
start and switch it, and where the app's TLS material comes from. Pure except `tls_material`,
which reads the operator's files and secrets.

Every server runs one ingress proxy (`opsctl-ingress`, files under /var/lib/opsctl/_ingress),
owned by no app; see docs/ingress.md. The host side is module_utils/opsctl_ingress.py.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from opsctl.config.models import Config, Service
from opsctl.deploy.names import INGRESS_DIR, INGRESS_NAME, Names
from opsctl.errors import OpsctlError

TLS_PORT = 443


def claims(config: Config, names: Names, services: list[str]) -> list[dict[str, Any]]:
    """What each HTTP service of `services` claims on every server's ingress (its claim file)."""
    found = []
    for name in services:
        service = config.services[name]
        if not service.is_http:
            continue
        found.append({
            "app": names.app, "env": names.env, "service": name, "port": service.ingress_port,
            "hosts": list(service.hosts), "path": service.path, "tls": service.tls is not None,
        })
    return found


def ports(config: Config, services: list[str]) -> list[int]:
    """The ports the ingress must publish for these services (TLS adds 443)."""
    http = [config.services[s] for s in services if config.services[s].is_http]
    wanted = {s.ingress_port for s in http} | ({TLS_PORT} if any(s.tls for s in http) else set())
    return sorted(wanted)


def route(service: Service) -> dict[str, Any]:
    """How the swap checks a service through the ingress after switching: its first host name."""
    return {"host": service.hosts[0] if service.hosts else None, "path": service.path, "tls": service.tls is not None}


def proxy_spec(names: Names, image: str, ports: list[int], bind: str | None, nginx_conf: str) -> dict[str, Any]:
    """The swap module's `proxy` argument for the shared ingress."""
    return {
        "kind": "ingress", "name": INGRESS_NAME, "image": image, "dir": INGRESS_DIR, "ports": ports,
        "bind": bind, "legacy": names.proxy, "nginx_conf": nginx_conf, "key": names.ingress_key,
    }


def _pem(text: str, what: str) -> str:
    """A secret's PEM: base64 of the file (one line, for secrets files), or the PEM itself with
    its line breaks written as \\n."""
    candidate = text.strip()
    if not candidate.startswith("-----BEGIN"):
        try:
            candidate = base64.b64decode(candidate, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            candidate = ""
    candidate = candidate.replace("\\n", "\n").strip() + "\n"
    if not candidate.startswith("-----BEGIN"):
        raise OpsctlError(f"{what} is not PEM text (nor base64 of it)")
    return candidate


def tls_material(config: Config, env_name: str, services: list[str]) -> dict[str, dict[str, str]]:
    """service -> {"certificate", "key"}: the PEM texts, read from files or secrets. Never logged."""
    from opsctl.config.secrets import secret_value

    found: dict[str, dict[str, str]] = {}
    for name in services:
        tls = config.services[name].tls
        if tls is None:
            continue
        pair = {}
        for part in ("certificate", "key"):
            where = config.where("services", name, "tls", part)
            path, secret = getattr(tls, part), getattr(tls, f"{part}_secret")
            if path is not None:
                try:
                    text = config.path(path).read_text()
                except (OSError, UnicodeDecodeError) as exc:
                    raise OpsctlError(f"{where}: services.{name}.tls.{part}: cannot read {path}: "
                                      f"{getattr(exc, 'strerror', None) or exc}") from None
                pair[part] = _pem(text, f"{where}: services.{name}.tls.{part} ({path})")
            else:
                pair[part] = _pem(secret_value(config, env_name, secret), f"secret {secret}")
        found[name] = pair
    return found
