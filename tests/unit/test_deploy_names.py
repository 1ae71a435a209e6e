"""opsctl's names on a host come from one place."""

from __future__ import annotations

import pytest

from opsctl.deploy.names import Names, image_ref


def test_names_of_an_app_environment() -> None:
    names = Names("shop", "production")
    assert names.state_dir == "/var/lib/opsctl/shop/production"
    assert names.env_file("abc123") == "/var/lib/opsctl/shop/production/env/abc123.env"
    assert names.network == "opsctl-shop-production"
    assert names.proxy == "shop-production-proxy"
    assert names.upstream_file("web") == "/var/lib/opsctl/shop/production/proxy/services/web.conf"
    # unique on a shared ingress: '.' is in no app, env or service name ("a-b"+"c" vs "a"+"b-c")
    assert names.upstream_name("web-api") == "shop.production.web-api"
    assert names.ingress_key == "shop.production"
    assert names.ingress_upstream_file("web") == "/var/lib/opsctl/_ingress/apps/shop.production/web.upstream.conf"
    assert Names("a-b", "c").ingress_key != Names("a", "b-c").ingress_key
    assert names.container("web", 7, "a1b2c3", 2) == "shop-production-web-r7-a1b2c3-2"
    assert names.release_container("0123456789abcdef") == "shop-production-release-01234567"
    assert names.label("service") == "opsctl.service"


def test_image_ref_prefers_the_digest() -> None:
    assert image_ref("reg/shop", "v1") == "reg/shop:v1"
    assert image_ref("reg/shop", "v1", "sha256:ab") == "reg/shop@sha256:ab"
    with pytest.raises(ValueError):
        image_ref("reg/shop")
