"""Rollout planning: batches, placement of singletons and groups, container names, env files."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.config.inventory import Inventory
from opsctl.config.loader import parse
from opsctl.deploy import plan
from opsctl.errors import UsageError

CONFIG = """
app: shop
image: registry.example.com/shop
services:
  web:
    command: ["serve"]
    port: 8000
    replicas: 2
  worker:
    command: ["work"]
    groups: [workers]
  clock:
    command: ["tick"]
    singleton: true
environments:
  production:
    inventory: inv.ini
    rollout: {batch: "50%"}
"""


def inventory() -> Inventory:
    inv = Inventory(path=Path("inv.ini"))
    for host in ["web1", "web2", "web3", "job1"]:
        inv.hosts[host] = {}
    inv.groups = {"web": ["web1", "web2", "web3"], "workers": ["job1"]}
    return inv


@pytest.mark.parametrize(
    ("count", "batch", "sizes"),
    [(3, 1, [1, 1, 1]), (3, 2, [2, 1]), (4, "50%", [2, 2]), (3, "34%", [2, 1]), (1, "10%", [1]),
     (5, 10, [5]), (0, 1, [])],
)
def test_batch_sizes(count: int, batch: int | str, sizes: list[int]) -> None:
    assert plan.batch_sizes(count, batch) == sizes


def test_plan_places_groups_and_singletons() -> None:
    config = parse(CONFIG, Path("/tmp/opsctl.yml"))
    inv = inventory()
    env = config.environments["production"]
    p = plan.plan_rollout(config, "production", env, inv, list(inv.hosts), list(config.services))
    assert p.batches == [["web1", "web2"], ["web3", "job1"]]
    assert p.primary == "job1"  # the lock host: the smallest name, whatever the inventory order
    assert p.placement["web1"] == {"web": "http", "worker": "absent", "clock": "singleton"}
    assert p.placement["web2"]["clock"] == "absent"
    assert p.placement["job1"] == {"web": "http", "worker": "process", "clock": "absent"}


def test_select_hosts_validates_before_anything() -> None:
    inv = inventory()
    assert plan.select_hosts(inv, ["web3", "web1"]) == ["web1", "web3"]
    with pytest.raises(UsageError, match="invalid host"):
        plan.select_hosts(inv, ["web1;rm -rf /"])
    with pytest.raises(UsageError, match="unknown host"):
        plan.select_hosts(inv, ["web9"])


def test_service_specs_name_containers_and_render_upstream() -> None:
    config = parse(CONFIG, Path("/tmp/opsctl.yml"))
    inv = inventory()
    p = plan.plan_rollout(config, "production", config.environments["production"], inv, ["web1"], ["web", "clock"])
    target = plan.Target(release=7, version="v7", image="registry.example.com/shop:v7", config_hash="abc")
    seen: dict[str, object] = {}

    def render(**values: object) -> str:
        seen.update(values)
        return "conf"

    specs = plan.service_specs(config, p, "web1", target, "a1b2c3", render)
    assert [s["name"] for s in specs] == ["web", "clock"]
    assert seen["servers"] == ["shop-production-web-r7-a1b2c3-1:8000", "shop-production-web-r7-a1b2c3-2:8000"]
    assert specs[1]["names"] == ["shop-production-clock-r7-a1b2c3-1"]
    assert specs[0]["upstream_file"] == "/var/lib/opsctl/shop/production/proxy/services/web.conf"
    assert specs[1]["mode"] == "singleton" and "upstream_conf" not in specs[1]
    assert seen["listen"] == 80  # the app's own proxy: its upstream file holds the server block

    # Behind the server's shared ingress: the upstream only, in the ingress's directory.
    specs = plan.service_specs(config, p, "web1", target, "a1b2c3", render, ingress=True)
    assert specs[0]["upstream_file"] == "/var/lib/opsctl/_ingress/apps/shop.production/web.upstream.conf"
    assert seen["listen"] is None and seen["upstream"] == "shop.production.web"
    assert specs[0]["route"] == {"host": None, "path": "/", "tls": False}


def test_env_file_and_config_hash_keep_secret_values_out_of_the_hash() -> None:
    config = parse(CONFIG, Path("/tmp/opsctl.yml"))
    text = plan.render_env_file({"A": "1"}, {"TOKEN": "s3cret"})
    assert text == "A=1\nTOKEN=s3cret\n"
    h1 = plan.config_hash(config, "production", {"A": "1"}, ["TOKEN"])
    assert h1 == plan.config_hash(config, "production", {"A": "1"}, ["TOKEN"])
    assert h1 != plan.config_hash(config, "production", {"A": "2"}, ["TOKEN"])


def test_refuses_to_empty_the_target_group() -> None:
    config = parse(CONFIG.replace('rollout: {batch: "50%"}', 'rollout: {batch: "50%"}\n    load_balancer: {target_group: tg}'),
                   Path("/tmp/opsctl.yml"))
    inv = inventory()
    env = config.environments["production"]
    assert len(plan.plan_rollout(config, "production", env, inv, list(inv.hosts), ["web"]).batches) == 2
    with pytest.raises(UsageError, match="taking every one out of target group tg"):
        plan.plan_rollout(config, "production", env, inv, list(inv.hosts), ["web"], batch="100%")
