"""The shared ingress's host-side file work, on a temporary directory: claims refused before any
write, certificates 0600, stale claims dropped, and a switch whose config test fails put back."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from opsctl.paths import playbooks_dir
from tests.unit.module_utils import load_module_util


def _load() -> ModuleType:
    # On a host Ansible provides ansible.module_utils.opsctl_*; here they are the same sources.
    for name in ("opsctl_host", "opsctl_ingress"):
        sys.modules.setdefault(f"ansible.module_utils.{name}", load_module_util(name))
    spec = importlib.util.spec_from_file_location(
        "opsctl_ingress_host", playbooks_dir() / "module_utils" / "opsctl_ingress_host.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


host = _load()
pure = load_module_util("opsctl_ingress")


def claim(app: str, hosts: list[str], tls: bool = False, service: str = "web") -> dict[str, Any]:
    return {"app": app, "env": "lab", "service": service, "port": 80, "hosts": hosts, "path": "/", "tls": tls}


PAIR = {"web": {"certificate": "-----BEGIN CERTIFICATE-----\n", "key": "-----BEGIN PRIVATE KEY-----\n"}}


def test_claims_are_written_with_the_certificate_0600_and_refused_when_taken(tmp_path: Path) -> None:
    files = pure.Files(str(tmp_path))
    assert host.claim(files, "shop.lab", [claim("shop", ["shop.example.com"], tls=True)], PAIR) is True
    app_dir = tmp_path / "apps" / "shop.lab"
    assert json.loads((app_dir / "web.claim.json").read_text())["hosts"] == ["shop.example.com"]
    assert (app_dir / "web.key").stat().st_mode & 0o777 == 0o600
    assert (app_dir / "web.crt").stat().st_mode & 0o777 == 0o600
    assert host.claim(files, "shop.lab", [claim("shop", ["shop.example.com"], tls=True)], PAIR) is False

    with pytest.raises(pure.IngressError, match=r"already served by app shop \(lab\)"):
        host.claim(files, "blog.lab", [claim("blog", ["shop.example.com"])], {})
    assert not (tmp_path / "apps" / "blog.lab").exists()  # refused before anything was written


def test_a_service_that_no_longer_claims_loses_its_claim_and_certificate(tmp_path: Path) -> None:
    files = pure.Files(str(tmp_path))
    host.claim(files, "shop.lab", [claim("shop", ["a.example.com"], tls=True),
                                   claim("shop", ["b.example.com"], service="api")], PAIR)
    host.claim(files, "shop.lab", [claim("shop", ["a.example.com"])], {})
    assert sorted(p.name for p in (tmp_path / "apps" / "shop.lab").iterdir()) == ["web.claim.json"]


class Docker:
    """Records docker argv; `nginx -t` fails while `broken` is set."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.broken = False

    def __call__(self, args: Sequence[str]) -> tuple[int, str, str]:
        self.calls.append(list(args))
        if "-t" in args and self.broken:
            return 1, "", "nginx: [emerg] host not found in upstream"
        return 0, "true", ""


def test_a_switch_whose_config_test_fails_puts_the_files_back(tmp_path: Path) -> None:
    files = pure.Files(str(tmp_path))
    host.claim(files, "shop.lab", [claim("shop", ["shop.example.com"])], {})
    upstream = tmp_path / "apps" / "shop.lab" / "web.upstream.conf"
    docker = Docker()
    ingress = host.Ingress(docker, {"name": "opsctl-ingress", "dir": str(tmp_path), "nginx_conf": "events {}\n"})
    service = {"upstream_file": str(upstream), "upstream_conf": "upstream shop.lab.web { server a:1; }\n"}
    ingress.switch([service], lambda s: None)
    assert "server_name shop.example.com;" in (tmp_path / "routes.conf").read_text()
    assert ["exec", "opsctl-ingress", "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-s", "reload"] in docker.calls

    docker.broken = True
    with pytest.raises(pure.IngressError, match="config test failed"):
        ingress.switch([{**service, "upstream_conf": "upstream shop.lab.web { server b:1; }\n"}], lambda s: None)
    assert "server a:1" in upstream.read_text()


def test_remove_takes_only_that_apps_files_and_reloads(tmp_path: Path) -> None:
    files = pure.Files(str(tmp_path))
    host.claim(files, "shop.lab", [claim("shop", ["shop.example.com"])], {})
    host.claim(files, "blog.lab", [claim("blog", [])], {})
    for key in ("shop.lab", "blog.lab"):  # both serve: their upstreams are there
        (tmp_path / "apps" / key / "web.upstream.conf").write_text("upstream x {}\n")
    docker = Docker()
    ingress = host.Ingress(docker, {"name": "opsctl-ingress", "dir": str(tmp_path)})
    assert ingress.remove_app("shop.lab") is True
    assert sorted(p.name for p in (tmp_path / "apps").iterdir()) == ["blog.lab"]
    routes = (tmp_path / "routes.conf").read_text()
    assert "blog.lab.web" in routes and "shop" not in routes
    assert ["exec", "opsctl-ingress", "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-s", "reload"] in docker.calls
    assert ingress.remove_app("shop.lab") is False


class Running(Docker):
    """An ingress another app's deploy started since the facts were read."""

    def __call__(self, args: Sequence[str]) -> tuple[int, str, str]:
        if args[0] == "inspect":
            self.calls.append(list(args))
            info = {"State": {"Running": True}, "NetworkSettings": {"Networks": {"opsctl-blog-lab": {}}},
                    "HostConfig": {"PortBindings": {"80/tcp": []}}}
            return 0, json.dumps([info]), ""
        return super().__call__(args)


def test_start_only_joins_an_ingress_that_started_meanwhile(tmp_path: Path) -> None:
    docker = Running()
    ingress = host.Ingress(docker, {"name": "opsctl-ingress", "dir": str(tmp_path), "image": "proxy"})
    ingress.start([80], ["opsctl-shop-lab"], False, None)
    assert docker.calls[1:] == [["network", "connect", "opsctl-shop-lab", "opsctl-ingress"]]

    docker.calls.clear()
    ingress.start([80, 443], ["opsctl-shop-lab"], True, "shop-lab-proxy")  # needs 443: created again
    assert ["create", "--name", "opsctl-ingress", "--network", "opsctl-shop-lab", "--restart", "unless-stopped",
            "--label", "opsctl.role=ingress", "-v", f"{tmp_path}:/etc/nginx/opsctl:ro", "-p", "80:80",
            "-p", "443:443", "proxy", "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-g", "daemon off;"] in docker.calls
    order = [c[:2] for c in docker.calls]
    assert order.index(["rm", "-f"]) < order.index(["network", "connect"]) < order.index(["start", "opsctl-ingress"])
    assert ["network", "connect", "opsctl-blog-lab", "opsctl-ingress"] in docker.calls
    stop = docker.calls.index(["stop", "-t", "5", "shop-lab-proxy"])
    assert docker.calls[stop + 1:stop + 3] == [["rm", "-f", "shop-lab-proxy"], ["start", "opsctl-ingress"]]


def test_switch_files_puts_back_old_files_and_removes_new_ones_when_the_check_fails(tmp_path: Path) -> None:
    util = load_module_util("opsctl_host")
    kept, new = tmp_path / "kept.conf", tmp_path / "new.conf"
    kept.write_text("old\n")
    reloads: list[dict[str, str]] = []

    def reload() -> None:
        reloads.append({p.name: p.read_text() for p in (kept, new) if p.exists()})

    def verify() -> None:
        raise ValueError("the proxy does not answer")

    with pytest.raises(ValueError, match="does not answer"):
        util.switch_files({str(kept): "fresh\n", str(new): "made\n"}, reload, verify, ValueError)
    assert reloads == [{"kept.conf": "fresh\n", "new.conf": "made\n"}, {"kept.conf": "old\n"}]
    assert kept.read_text() == "old\n" and not new.exists()

    reloads.clear()
    util.switch_files({str(kept): "fresh\n"}, reload, lambda: None, ValueError)
    assert reloads == [{"kept.conf": "fresh\n"}] and kept.read_text() == "fresh\n"
