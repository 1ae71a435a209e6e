"""The shared ingress, acted on: start it, connect it to an app's network, switch an app's upstream
with a tested, graceful reload, verify a route through it, and take an app off it.

What to do is decided elsewhere (opsctl_swap_plan, opsctl_ingress); this only runs docker (argument
lists, no shell) and writes files. Every change to the shared files happens under the ingress
directory's lock, so two apps deploying on one host at once cannot lose each other's routes.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

from ansible.module_utils.opsctl_host import switch_files, write_atomic, write_if_changed
from ansible.module_utils.opsctl_ingress import (
    CONF_ROOT,
    TLS_PORT,
    Files,
    IngressError,
    ingress_facts,
    render_routes,
)

Run = Callable[[Sequence[str]], tuple[int, str, str]]  # docker argv (without "docker") -> rc, out, err
CONF = CONF_ROOT + "/nginx.conf"


class Ingress:
    def __init__(self, run: Run, spec: dict[str, Any]):
        self.run, self.spec = run, spec
        self.files = Files(spec["dir"])

    def _docker(self, *args: str) -> str:
        rc, out, err = self.run(args)
        if rc != 0:
            raise IngressError(f"docker {args[0]} failed: {(err or out).strip()[-1500:]}")
        return out

    def write_base(self) -> None:
        """nginx.conf (this opsctl's) and routes.conf rendered from the claims of served apps."""
        if self.spec.get("nginx_conf"):
            write_if_changed(os.path.join(self.files.dir, "nginx.conf"), self.spec["nginx_conf"])
        write_if_changed(os.path.join(self.files.dir, "routes.conf"), render_routes(self.files.claims(True)))

    def start(self, ports: list[int], networks: list[str], replace: bool, legacy: str | None) -> None:
        """(Re)create the ingress on `ports`, joined to `networks`, with the routes as they are.

        Under the directory's lock the container is looked at again: another app's deploy may have
        started it since the facts were read (then it is only joined). An app's own proxy from
        before the shared ingress holds its ports: it goes right before the ingress starts (the gap
        is nginx's start, well under a second)."""
        name, bind = self.spec["name"], "{}:".format(self.spec["bind"]) if self.spec.get("bind") else ""
        with self.files.locked():
            rc, out, _ = self.run(["inspect", name])
            now = ingress_facts(json.loads(out)[0] if rc == 0 else None, None)
            if now["running"] and set(ports) <= set(now["ports"]):
                if networks[0] not in now["networks"]:
                    self.connect(networks[0])
                return
            ports = sorted({*ports, *now["ports"]})
            networks = [networks[0], *sorted({*networks[1:], *now["networks"]} - {networks[0]})]
            self.write_base()
            if replace or now["present"]:
                self.run(["rm", "-f", name])
            args = ["create", "--name", name, "--network", networks[0], "--restart", "unless-stopped",
                    "--label", "opsctl.role=ingress", "-v", f"{self.files.dir}:{CONF_ROOT}:ro"]
            for port in ports:
                args += ["-p", f"{bind}{int(port)}:{int(port)}"]
            self._docker(*args, self.spec["image"], "nginx", "-c", CONF, "-g", "daemon off;")
            for network in networks[1:]:
                self._docker("network", "connect", network, name)
            if legacy:  # its nginx quits gracefully (the image's STOPSIGNAL): requests in flight finish
                self.run(["stop", "-t", "5", legacy])
                self.run(["rm", "-f", legacy])
            rc, out, err = self.run(["start", name])
            if rc != 0:
                raise IngressError(f"the ingress {name} did not start: {(err or out).strip()[-1500:]} (does an "
                                   "app's own proxy from an older opsctl hold the port? deploy that app first)")
            self._await_running(name)

    def _await_running(self, name: str) -> None:
        for _ in range(40):
            rc, _, _ = self.run(["exec", name, "nginx", "-t", "-q", "-c", CONF])
            if rc == 0:
                return
            time.sleep(0.1)
        _, logs, err = self.run(["logs", "--tail", "10", name])
        raise IngressError(f"the ingress {name} did not start: {(logs + err).strip()[-1500:]}")

    def connect(self, network: str) -> None:
        self._docker("network", "connect", network, self.spec["name"])

    def reload(self) -> None:
        """Render routes, test the whole configuration, reload gracefully; the routes as they were
        if the test fails."""
        with self.files.locked():
            before = self.files.routes()
            self.write_base()
            rc, out, err = self.run(["exec", self.spec["name"], "nginx", "-t", "-q", "-c", CONF])
            if rc != 0:
                if before is not None:
                    write_atomic(os.path.join(self.files.dir, "routes.conf"), before)
                raise IngressError(f"ingress config test failed: {(err or out).strip()[-1500:]}")
            self._docker("exec", self.spec["name"], "nginx", "-c", CONF, "-s", "reload")

    def switch(self, services: list[dict[str, Any]], verify: Callable[[dict[str, Any]], None]) -> None:
        """Write the services' upstream files, reload, verify each route; on failure put the files
        back as they were and reload again."""
        def verify_all() -> None:
            for s in services:
                verify(s)

        switch_files({s["upstream_file"]: s["upstream_conf"] for s in services}, self.reload, verify_all, IngressError)

    def remove_app(self, key: str) -> bool:
        """Take an app's files off the ingress and reload it (gracefully: requests in flight to the
        app finish); True if anything was there. The ingress stays, serving the other apps."""
        app_dir = self.files.app_dir(key)
        found = os.path.isdir(app_dir)
        if found:
            shutil.rmtree(app_dir)
            if self.running():
                self.reload()
        return found

    def running(self) -> bool:
        rc, out, _ = self.run(["inspect", "--format", "{{.State.Running}}", self.spec["name"]])
        return rc == 0 and out.strip() == "true"

    def leave(self, network: str) -> None:
        """Disconnect the ingress (running or not) from an app's network, if it is on it."""
        self.run(["network", "disconnect", "-f", network, self.spec["name"]])


def verify_route(service: dict[str, Any], default_port: int, attempts: int = 20) -> None:
    """GET the service's health path through the ingress the way a client would: its first host
    name (SNI and Host), over HTTPS when it has TLS (the certificate is the operator's to check)."""
    route = service.get("route") or {}
    host, tls = route.get("host"), bool(route.get("tls"))
    prefix = "" if route.get("path", "/") == "/" else route["path"]
    path = prefix + service["health"]["path"]
    port = TLS_PORT if tls else default_port
    for _ in range(attempts):
        if _get_ok(port, path, host, tls):
            return
        time.sleep(0.1)
    where = "{}://{}:{}{}".format("https" if tls else "http", host or "127.0.0.1", port, path)
    raise IngressError(f"the ingress does not answer {where} after the switch")


def _get_ok(port: int, path: str, host: str | None, tls: bool) -> bool:
    conn: http.client.HTTPConnection
    try:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            conn = _SniConnection("127.0.0.1", port, timeout=2, context=context, sni=host)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        headers = {"Host": host} if host else {}
        conn.request("GET", path, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return 200 <= status < 300
    except (OSError, http.client.HTTPException):
        return False


class _SniConnection(http.client.HTTPSConnection):
    def __init__(self, address: str, port: int, *, timeout: float, context: ssl.SSLContext, sni: str | None):
        super().__init__(address, port, timeout=timeout, context=context)
        self._sni, self._ctx = sni, context

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ctx.wrap_socket(sock, server_hostname=self._sni)


def claim(files: Files, key: str, claims: list[dict[str, Any]], tls: dict[str, dict[str, str]]) -> bool:
    """Record an app's claims (and write its certificates, 0600) unless another app on this host
    already claims one of its routes: IngressError naming that app, before anything is written.
    True if a file changed."""
    from ansible.module_utils.opsctl_ingress import check_claim, conflict

    mine = [check_claim(c) for c in claims]
    changed = False
    with files.locked():
        others = [c for c in files.claims() if "{}.{}".format(c["app"], c["env"]) != key]
        refused = conflict(mine, others)
        if refused:
            raise IngressError(refused)
        app_dir = files.app_dir(key)
        os.makedirs(app_dir, mode=0o755, exist_ok=True)
        wanted = {f"{c['service']}.claim.json" for c in mine}
        for c in mine:
            text = json.dumps(c, sort_keys=True) + "\n"
            changed = write_if_changed(os.path.join(app_dir, "{}.claim.json".format(c["service"])), text) or changed
            pair = tls.get(c["service"]) if c["tls"] else None
            for part, suffix in (("certificate", "crt"), ("key", "key")):
                path = os.path.join(app_dir, "{}.{}".format(c["service"], suffix))
                if pair:
                    changed = write_if_changed(path, pair[part], 0o600) or changed
                elif os.path.exists(path):
                    os.unlink(path)
                    changed = True
        for stale in glob.glob(os.path.join(app_dir, "*.claim.json")):
            if os.path.basename(stale) not in wanted:  # a service that no longer takes traffic here
                os.unlink(stale)
                changed = True
    return changed
