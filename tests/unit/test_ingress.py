"""The shared ingress's pure parts: claims and their conflicts, routes.conf, the planner's facts,
and what the deploying machine sends (claims, ports, TLS material)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from opsctl.config.loader import parse
from opsctl.deploy import ingress
from opsctl.deploy.names import Names
from opsctl.errors import OpsctlError
from tests.unit.module_utils import load_module_util

host = load_module_util("opsctl_ingress")


def claim(app: str = "shop", service: str = "web", hosts: list[str] | None = None, path: str = "/",
          port: int = 80, tls: bool = False, env: str = "production") -> dict[str, Any]:
    return {"app": app, "env": env, "service": service, "port": port, "hosts": hosts or [], "path": path, "tls": tls}


# --- conflicts ------------------------------------------------------------------------------


def test_distinct_hosts_and_one_default_share_a_port() -> None:
    others = [claim("blog", hosts=["blog.example.com"]), claim("legacy")]
    assert host.conflict([claim("shop", hosts=["shop.example.com"])], others) is None


def test_a_host_name_another_app_serves_is_refused_naming_that_app() -> None:
    refused = host.conflict([claim("shop", hosts=["a.example.com", "blog.example.com"])],
                            [claim("blog", hosts=["blog.example.com"])])
    assert refused is not None and "\n" not in refused
    assert "host blog.example.com path / on port 80" in refused
    assert "app blog (production)" in refused


def test_a_second_default_server_on_a_port_is_refused() -> None:
    refused = host.conflict([claim("shop")], [claim("legacy")])
    assert refused is not None and "the default server on port 80" in refused and "legacy (production)" in refused


def test_the_same_host_with_other_paths_or_ports_is_not_a_conflict() -> None:
    others = [claim("blog", hosts=["example.com"], path="/blog"), claim("api", hosts=["example.com"], port=8080)]
    assert host.conflict([claim("shop", hosts=["example.com"])], others) is None
    assert host.conflict([claim("shop", hosts=["example.com"], path="/blog")], others) is not None


def test_the_same_app_in_another_environment_is_another_owner() -> None:
    refused = host.conflict([claim("shop", env="staging")], [claim("shop", env="production")])
    assert refused is not None and "shop (production)" in refused


def test_plain_http_on_the_tls_port_clashes_with_tls() -> None:
    refused = host.conflict([claim("shop", hosts=["s.example.com"], tls=True)], [claim("odd", port=443)])
    assert refused is not None and "port 443" in refused


@pytest.mark.parametrize("bad", [
    {"hosts": ["evil.com; include /etc/passwd"]}, {"path": "/a b"}, {"app": "x}"}, {"port": "80"}, {"tls": "yes"},
])
def test_a_claim_file_that_is_not_opsctls_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(host.IngressError):
        host.check_claim({**claim(), **bad})


# --- routes.conf ----------------------------------------------------------------------------


def test_routes_for_hosts_a_default_and_no_default_elsewhere() -> None:
    text = host.render_routes([
        claim("shop", hosts=["shop.example.com", "www.shop.example.com"]),
        claim("legacy"),
        claim("api", hosts=["api.example.com"], port=8080),
    ])
    assert "server { listen 8080 default_server; return 404; }" in text  # nobody is 8080's default
    assert "listen 80 default_server;" in text and "server_name _;" in text
    assert "    server_name shop.example.com;\n    location / { proxy_pass http://shop.production.web; }" in text
    assert "server_name www.shop.example.com;" in text
    assert "location / { proxy_pass http://legacy.production.web; }" in text
    assert "ssl" not in text


def test_a_path_prefix_is_taken_off_and_the_rest_of_the_host_answers_404() -> None:
    text = host.render_routes([claim("blog", hosts=["example.com"], path="/blog")])
    assert "location /blog/ { proxy_pass http://blog.production.web/; }" in text
    assert "location = /blog { proxy_pass http://blog.production.web/; }" in text
    assert "location / { return 404; }" in text


def test_two_apps_under_one_host_share_its_server_block() -> None:
    text = host.render_routes([claim("shop", hosts=["example.com"]), claim("blog", hosts=["example.com"], path="/blog")])
    assert text.count("server_name example.com;") == 1
    assert "location /blog/ { proxy_pass http://blog.production.web/; }" in text
    assert "location / { proxy_pass http://shop.production.web; }" in text


def test_tls_redirects_http_and_serves_the_apps_certificate() -> None:
    text = host.render_routes([claim("shop", hosts=["shop.example.com"], tls=True)])
    assert "location / { return 301 https://$host$request_uri; }" in text
    assert "listen 443 ssl;" in text
    assert "ssl_certificate /etc/nginx/opsctl/apps/shop.production/web.crt;" in text
    assert "ssl_certificate_key /etc/nginx/opsctl/apps/shop.production/web.key;" in text
    assert "server { listen 443 ssl default_server; ssl_reject_handshake on; }" in text
    assert "proxy_pass http://shop.production.web;" in text.split("listen 443 ssl;")[1]


def test_routes_do_not_depend_on_the_order_claims_are_read() -> None:
    claims = [claim("b", hosts=["x.example.com"]), claim("a"), claim("c", hosts=["x.example.com"], path="/c")]
    assert host.render_routes(claims) == host.render_routes(list(reversed(claims)))


# --- facts ----------------------------------------------------------------------------------


def test_ingress_facts_from_docker_inspect() -> None:
    info = {"State": {"Running": True}, "NetworkSettings": {"Networks": {"opsctl-b-lab": {}, "opsctl-a-lab": {}}},
            "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "80"}], "443/tcp": [{"HostPort": "443"}]}}}
    assert host.ingress_facts(info, None) == {"present": True, "running": True, "legacy": False,
                                              "networks": ["opsctl-a-lab", "opsctl-b-lab"], "ports": [80, 443]}
    assert host.ingress_facts(None, {"State": {"Running": True}}) == {
        "present": False, "running": False, "legacy": True, "networks": [], "ports": []}


# --- the deploying machine's side -----------------------------------------------------------

CONFIG = """\
app: shop
image: reg.example.com/shop
services:
  web:
    port: 8000
    hosts: [shop.example.com, www.shop.example.com]
    tls: {certificate: cert.pem, key_secret: SHOP_TLS_KEY}
  admin:
    port: 8001
    hosts: [shop.example.com]
    path: /admin
  worker:
    command: run
environments:
  production:
    inventory: inv.yml
"""


def test_claims_ports_and_routes_from_the_config(tmp_path: Path) -> None:
    config = parse(CONFIG, tmp_path / "opsctl.yml", environ={})
    names = Names("shop", "production")
    assert ingress.claims(config, names, ["web", "admin", "worker"]) == [
        {"app": "shop", "env": "production", "service": "web", "port": 80,
         "hosts": ["shop.example.com", "www.shop.example.com"], "path": "/", "tls": True},
        {"app": "shop", "env": "production", "service": "admin", "port": 80, "hosts": ["shop.example.com"],
         "path": "/admin", "tls": False},
    ]
    assert ingress.ports(config, ["web", "admin"]) == [80, 443]
    assert ingress.ports(config, ["admin"]) == [80]
    assert ingress.route(config.services["admin"]) == {"host": "shop.example.com", "path": "/admin", "tls": False}


def test_tls_material_from_a_file_and_a_base64_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse(CONFIG, tmp_path / "opsctl.yml", environ={})
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n")
    key = "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n"
    monkeypatch.setenv("SHOP_TLS_KEY", base64.b64encode(key.encode()).decode())
    material = ingress.tls_material(config, "production", ["web", "admin"])
    assert material == {"web": {"certificate": (tmp_path / "cert.pem").read_text(), "key": key}}


def test_tls_material_that_is_not_pem_names_where_it_came_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse(CONFIG, tmp_path / "opsctl.yml", environ={})
    (tmp_path / "cert.pem").write_text("not a certificate")
    monkeypatch.setenv("SHOP_TLS_KEY", "-----BEGIN PRIVATE KEY-----\\nBBB\\n-----END PRIVATE KEY-----")
    with pytest.raises(OpsctlError, match=r"opsctl.yml:\d+: services.web.tls.certificate \(cert.pem\) is not PEM"):
        ingress.tls_material(config, "production", ["web"])
    (tmp_path / "cert.pem").unlink()
    with pytest.raises(OpsctlError, match=r"cannot read cert\.pem"):
        ingress.tls_material(config, "production", ["web"])


# --- opsctl.yml -----------------------------------------------------------------------------


def problems(text: str, tmp_path: Path) -> list[str]:
    from opsctl.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path / "opsctl.yml", environ={})
    return list(caught.value.problems)


@pytest.mark.parametrize("bad", ["Shop.example.com", "shop..example.com", "-shop.example.com", "shop.example.com:80",
                                 "shop example", "{{ lookup('pipe','id') }}", "*.example.com"])
def test_a_host_name_that_is_not_one_is_refused_with_file_line_and_key(tmp_path: Path, bad: str) -> None:
    text = CONFIG.replace("hosts: [shop.example.com]\n", f"hosts: [{bad!r}]\n")
    (problem,) = problems(text, tmp_path)
    assert "opsctl.yml:10: services.admin.hosts[0]: expected a host name" in problem


def test_tls_without_hosts_and_hosts_without_a_port_are_refused(tmp_path: Path) -> None:
    text = CONFIG.replace("    hosts: [shop.example.com, www.shop.example.com]\n", "")
    assert any("tls needs the host names" in p for p in problems(text, tmp_path))
    text = CONFIG.replace("    command: run\n", "    command: run\n    hosts: [w.example.com]\n")
    assert any("need an HTTP service" in p for p in problems(text, tmp_path))


def test_two_services_of_one_app_on_the_same_route_are_refused(tmp_path: Path) -> None:
    text = CONFIG.replace("    path: /admin\n", "")
    (problem,) = problems(text, tmp_path)
    assert "services web and admin both take host shop.example.com path /" in problem
    assert parse(CONFIG, tmp_path / "opsctl.yml", environ={}).services["admin"].path == "/admin"


def test_tls_takes_one_source_for_each_part(tmp_path: Path) -> None:
    text = CONFIG.replace("key_secret: SHOP_TLS_KEY", "key: k.pem, key_secret: SHOP_TLS_KEY")
    assert any("exactly one of key (a file) and key_secret" in p for p in problems(text, tmp_path))
