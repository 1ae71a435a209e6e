"""`opsctl dev`'s pure planning: which stand-ins a config needs, and how the app's env is wired."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from opsctl.config.loader import parse
from opsctl.config.models import Config
from opsctl.config.secrets import app_env
from opsctl.dev import plan as dev
from opsctl.errors import OpsctlError, UsageError
from tests.unit.config_samples import VALID, parse_ok

WITH_AWS = VALID + """\
  rds:
    db_name: shop
    master_username: shopper
    master_password_secret: SHOP_DB_PASSWORD
  queues:
    jobs: {}
    mail: {}
  ses:
    domain: mail.example.com
"""

TWO_WEB = VALID.replace("""  worker:
    command: [bin/worker, --queue, default]""", """  admin:
    command: bin/admin
    port: 9000
    ingress_port: 8081
  worker:
    command: [bin/worker, --queue, default]""")


def test_no_aws_resources_no_standins() -> None:
    p = dev.plan(parse_ok(VALID), "local", None, 8480)
    assert p.standins() == [] and p.postgres is None and not p.needs_aws
    assert p.version == "dev" and p.ports == {"web": 8480}
    assert dev.wiring(p, "172.18.0.1", None, None, None) == ({}, {})


def test_rds_queues_and_ses_need_postgres_and_the_aws_endpoint() -> None:
    p = dev.plan(parse_ok(WITH_AWS), "local", "wip", 9000)
    assert p.standins() == ["postgres", "aws"]
    assert p.postgres == dev.Postgres(user="shopper", database="shop", password_secret="SHOP_DB_PASSWORD")
    # Named as `opsctl provision` names them, so code that derives queue names finds them.
    assert p.queues == ["hello-local-jobs", "hello-local-mail"]
    assert p.ses_domain == "mail.example.com" and p.region == "eu-west-1"
    assert p.postgres_container == "hello-local-postgres" and p.postgres_volume == "hello-local-postgres-data"


def test_only_queues_need_no_database() -> None:
    p = dev.plan(parse_ok(VALID + "  queues:\n    jobs: {}\n"), "local", None, 8480)
    assert p.standins() == ["aws"]


def test_http_services_take_consecutive_ports_in_config_order() -> None:
    assert dev.plan(parse_ok(TWO_WEB), "local", None, 8480).ports == {"web": 8480, "admin": 8481}


@pytest.mark.parametrize("port", [80, 1023, 65535])
def test_ports_outside_the_unprivileged_range_are_refused(port: int) -> None:
    with pytest.raises(UsageError, match="--port"):
        dev.plan(parse_ok(TWO_WEB), "local", None, port)


def test_a_bad_version_is_refused_before_anything_runs() -> None:
    with pytest.raises(OpsctlError, match="invalid version"):
        dev.plan(parse_ok(VALID), "local", "no spaces", 8480)


def test_wiring_puts_credentials_in_secrets_and_endpoints_in_clear() -> None:
    p = dev.plan(parse_ok(WITH_AWS), "local", None, 8480)
    clear, secrets = dev.wiring(p, "172.18.0.1", 15432, 15433, "pw")
    assert clear == {"AWS_ENDPOINT_URL": "http://172.18.0.1:15433", "AWS_REGION": "eu-west-1",
                     "AWS_DEFAULT_REGION": "eu-west-1"}
    assert secrets["DATABASE_URL"] == "postgresql://shopper:pw@172.18.0.1:15432/shop"
    assert secrets["SHOP_DB_PASSWORD"] == "pw"
    assert set(secrets) == {"DATABASE_URL", "SHOP_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert not any("pw" in value for value in clear.values())


def test_database_url_quotes_what_a_url_cannot_hold() -> None:
    url = dev.database_url(dev.Postgres("a@b", "db/x", "P"), "p:w/@?#", "10.0.0.1", 5432)
    parts = urlsplit(url)
    assert parts.hostname == "10.0.0.1" and parts.port == 5432 and parts.path == "/db%2Fx"
    assert parts.username == "a%40b" and parts.password == "p%3Aw%2F%40%3F%23"


def _dev_config(tmp_path: Path) -> tuple[Config, dev.DevPlan]:
    config = parse(WITH_AWS.replace("environments:", "environments:\n  local:\n    inventory: x.ini\n"
                                    "    env: {clear: {LOCAL_ONLY: '1'}}"),
                   tmp_path / "opsctl.yml", {})
    p = dev.plan(config, "local", None, 8480)
    clear, secrets = dev.wiring(p, "172.18.0.1", 15432, 15433, "pw")
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    return dev.dev_config(config, p, clear, list(secrets), str(secrets_file), "opsctl/dev-proxy:bookworm"), p


def test_dev_config_is_this_machine_with_the_standins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SHOP_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    deployed, _ = _dev_config(tmp_path)
    env = deployed.environments["local"]
    assert deployed.registry is None and deployed.notify == []  # never pushed, pulled or announced
    assert env.load_balancer.proxy and env.load_balancer.proxy_image == "opsctl/dev-proxy:bookworm"
    assert env.load_balancer.target_group is None
    assert deployed.services["web"].ingress_port == 8480
    clear, secrets = app_env(deployed, "local")
    assert clear["LOCAL_ONLY"] == "1" and clear["LOG_LEVEL"] == "info"  # the config's own values stay
    assert clear["AWS_ENDPOINT_URL"] == "http://172.18.0.1:15433"
    assert secrets["DATABASE_URL"].startswith("postgresql://shopper:pw@172.18.0.1:15432/")
    assert deployed.source == tmp_path / "opsctl.yml"  # paths still resolve against the project


def test_app_secrets_nobody_supplies_are_generated_others_are_not() -> None:
    config = parse_ok(VALID.replace("secret: [DATABASE_URL]", "secret: [DATABASE_URL, API_KEY, TOKEN]"))
    missing = dev.missing_app_secrets(config, "local", {"DATABASE_URL"}, {"TOKEN": True})
    assert missing == ["API_KEY"]


def test_images_come_from_documented_settings() -> None:
    assert dev.Images.from_environ({}) == dev.Images(base="opsctl/base:bookworm")
    given = dev.Images.from_environ({"OPSCTL_DEV_POSTGRES_IMAGE": "postgres:16", "OPSCTL_DEV_PROXY_IMAGE": "nginx:1.27",
                                     "OPSCTL_DEV_BASE_IMAGE": "debian:bookworm"})
    assert given == dev.Images(base="debian:bookworm", postgres="postgres:16", proxy="nginx:1.27")
