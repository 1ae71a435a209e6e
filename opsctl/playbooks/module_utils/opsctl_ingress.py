"""The shared ingress of a server: one nginx, owned by no app, in front of every app on the host.

Layout of the ingress directory (/var/lib/opsctl/_ingress, mounted read-only at CONF_ROOT):
    nginx.conf                      written by opsctl (templates/proxy/ingress.conf.j2)
    routes.conf                     rendered here from every app's claims (`render_routes`)
    apps/APP.ENV/SVC.claim.json     what an app's service claims: port, host names, path, tls
    apps/APP.ENV/SVC.upstream.conf  the service's upstream block (one deploy switches only this)
    apps/APP.ENV/SVC.crt, SVC.key   its certificate and key (0600)

The pure parts (`conflict`, `render_routes`, `ingress_facts`) are unit-tested; `Files` does the
file system work for the modules (opsctl_prepare, opsctl_swap, opsctl_remove). A claim comes from
a file on the host, so every field is checked again before it goes into nginx's configuration.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import re
from collections.abc import Iterator
from typing import Any

Claim = dict[str, Any]

CONF_ROOT = "/etc/nginx/opsctl"  # where the ingress container sees its directory
TLS_PORT = 443

_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
_PATH = re.compile(r"/|(?:/[A-Za-z0-9._~-]+)+")
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class IngressError(Exception):
    """A claim that cannot be honoured, or a claim file that is not what opsctl writes."""


def owner(claim: Claim) -> str:
    return "{} ({})".format(claim["app"], claim["env"])


def check_claim(claim: Claim) -> Claim:
    """The claim if every field is what opsctl writes; IngressError otherwise."""
    try:
        ok = (all(_NAME.fullmatch(str(claim[k])) for k in ("app", "env", "service"))
              and isinstance(claim["port"], int) and 1 <= claim["port"] <= 65535
              and all(isinstance(h, str) and _HOST.fullmatch(h) for h in claim["hosts"])
              and _PATH.fullmatch(str(claim["path"])) is not None and isinstance(claim["tls"], bool))
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise IngressError(f"an ingress claim is not what opsctl writes: {json.dumps(claim)[:300]}")
    return claim


def routes_of(claim: Claim) -> list[tuple[int, str, str]]:
    return [(claim["port"], host, claim["path"]) for host in claim["hosts"] or [""]]


def upstream_name(claim: Claim) -> str:
    return "{}.{}.{}".format(claim["app"], claim["env"], claim["service"])


def conflict(mine: list[Claim], others: list[Claim]) -> str | None:
    """One line refusing `mine` when another app already claims one of its routes, else None.

    A route is a port, a host name ('' for the default server of the port) and a path prefix.
    Plain HTTP on port 443 and TLS cannot share the port either."""
    taken = {route: other for other in others for route in routes_of(other)}
    for claim in mine:
        for route in routes_of(claim):
            other = taken.get(route)
            if other is None:
                continue
            port, host, path = route
            what = f"host {host} path {path} on port {port}" if host else f"the default server on port {port}"
            return "{} {} is already served by app {} on this server; `opsctl remove` it there or choose " \
                   "other hosts".format(claim["service"], what, owner(other))
    everyone = [*mine, *others]
    plain = [c for c in everyone if c["port"] == TLS_PORT]
    if plain and any(c["tls"] for c in everyone):
        names = sorted({owner(c) for c in plain + [c for c in everyone if c["tls"]]})
        return "port {} is wanted both for plain HTTP and for TLS by {}".format(TLS_PORT, ", ".join(names))
    return None


def _locations(path: str, body: str) -> list[str]:
    if path == "/":
        return [f"    location / {{ {body} }}"]
    return [f"    location {path}/ {{ {body} }}", f"    location = {path} {{ {body} }}"]


def _proxy(claim: Claim) -> str:
    # A prefix is taken off on the way in: /shop/up reaches the app as /up.
    return "proxy_pass http://{}{};".format(upstream_name(claim), "" if claim["path"] == "/" else "/")


def render_routes(claims: list[Claim]) -> str:
    """routes.conf: a server block per port and host name (the default server for claims without
    hosts, a 404 one when no app is the default), a location per claim. With TLS, a host's plain
    HTTP locations redirect to HTTPS and TLS_PORT serves them with the claim's certificate."""
    servers: dict[tuple[int, str, bool], list[str]] = {}
    certs: dict[str, Claim] = {}
    for claim in sorted(claims, key=lambda c: (len(c["path"]), c["app"], c["env"], c["service"])):
        for port, host, path in routes_of(claim):
            if claim["tls"]:
                servers.setdefault((port, host, False), []).extend(
                    _locations(path, "return 301 https://$host$request_uri;"))
                servers.setdefault((TLS_PORT, host, True), []).extend(_locations(path, _proxy(claim)))
                certs.setdefault(host, claim)  # a host shared by apps: the shortest path's certificate
            else:
                servers.setdefault((port, host, False), []).extend(_locations(path, _proxy(claim)))
    lines = ["# Managed by opsctl (opsctl_ingress.render_routes) from apps/*/*.claim.json: do not edit."]
    for port in sorted({p for p, _, tls in servers if not tls}):
        if (port, "", False) not in servers:
            lines += [f"server {{ listen {port} default_server; return 404; }}"]
    if certs:
        lines += [f"server {{ listen {TLS_PORT} ssl default_server; ssl_reject_handshake on; }}"]
    for (port, host, tls), locations in sorted(servers.items()):
        lines += _server(port, host, tls, locations, certs.get(host))
    return "\n".join(lines) + "\n"


def _server(port: int, host: str, tls: bool, locations: list[str], cert: Claim | None) -> list[str]:
    listen = "{}{}{}".format(port, " ssl" if tls else "", "" if host else " default_server")
    block = ["server {", f"    listen {listen};", "    server_name {};".format(host or "_")]
    if tls and cert is not None:
        base = "{}/apps/{}.{}/{}".format(CONF_ROOT, cert["app"], cert["env"], cert["service"])
        block += [f"    ssl_certificate {base}.crt;", f"    ssl_certificate_key {base}.key;"]
    block += locations
    if not any(line.startswith("    location / ") for line in locations):
        block.append("    location / { return 404; }")
    return [*block, "}"]


def ingress_facts(info: dict[str, Any] | None, legacy: dict[str, Any] | None) -> dict[str, Any]:
    """The planner's view of the ingress container (`docker inspect`) and of an app's own proxy
    from before the shared ingress."""
    facts: dict[str, Any] = {"present": info is not None, "running": bool(info and info["State"]["Running"]),
                             "networks": [], "ports": [], "legacy": legacy is not None}
    if info:
        facts["networks"] = sorted((info.get("NetworkSettings") or {}).get("Networks") or {})
        bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
        facts["ports"] = sorted({int(key.split("/")[0]) for key in bindings})
    return facts


class Files:
    """The ingress directory on this host."""

    def __init__(self, directory: str):
        self.dir = directory

    def app_dir(self, key: str) -> str:
        return os.path.join(self.dir, "apps", key)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialises apps that change the shared files at once (two deploys on one host)."""
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        fd = os.open(os.path.join(self.dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def claims(self, served_only: bool = False) -> list[Claim]:
        """Every app's claims on this host; `served_only`: those whose upstream file exists."""
        found = []
        for path in sorted(glob.glob(os.path.join(self.dir, "apps", "*", "*.claim.json"))):
            try:
                with open(path) as handle:
                    claim = check_claim(json.load(handle))
            except (OSError, ValueError) as exc:
                raise IngressError(f"cannot read the ingress claim {path}: {exc}") from None
            if not served_only or os.path.exists(path[: -len(".claim.json")] + ".upstream.conf"):
                found.append(claim)
        return found

    def routes(self) -> str | None:
        try:
            with open(os.path.join(self.dir, "routes.conf")) as handle:
                return handle.read()
        except FileNotFoundError:
            return None
