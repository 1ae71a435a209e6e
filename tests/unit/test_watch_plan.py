"""`watch --install` planned in plain Python: fleet addresses and host keys validated from what the
hosts report, the watcher's inventory, opsctl.yml, known_hosts and `docker run` line."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from opsctl.config.inventory import Inventory
from opsctl.config.loader import parse
from opsctl.errors import OpsctlError, UsageError
from opsctl.observe import lights, watch_plan
from opsctl.observe.watch_plan import HostFacts, WatchNames
from tests.unit.config_samples import VALID

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc1m7bq3mfdJ1bTqkGmBGQ2cVY0hW0Yv1v8r2f0Jx7q"
NAMES = WatchNames("hello", "lab", "/var/lib/opsctl/hello/lab")


def setup(address: str | None) -> dict[str, object]:
    return {"ansible_facts": {"ansible_default_ipv4": {"address": address} if address else {}}}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_port_forwarded_host_is_reached_at_its_own_address_inside_the_fleet() -> None:
    lab = {"ansible_host": "127.0.0.1", "ansible_port": 2221}
    facts = watch_plan.host_facts("lab1", lab, setup("172.18.0.3"), b64(KEY + " root@lab1\n"))
    assert facts == HostFacts("172.18.0.3", 22, KEY)  # the comment is dropped: only type and key are kept


def test_a_real_address_and_port_are_kept_and_host_vars_override() -> None:
    web = {"ansible_host": "10.0.0.5", "ansible_port": 2200}
    assert watch_plan.host_facts("web1", web, setup("10.0.0.5"), b64(KEY)).ssh_port == 2200
    chosen = {**web, "opsctl_fleet_address": "10.1.0.5", "opsctl_fleet_ssh_port": 22}
    assert watch_plan.host_facts("web1", chosen, setup("10.0.0.5"), b64(KEY)) == HostFacts("10.1.0.5", 22, KEY)


@pytest.mark.parametrize(("host_vars", "facts", "key", "words"), [
    ({"ansible_host": "127.0.0.1"}, setup(None), KEY, "no address inside the fleet"),
    ({"ansible_host": "127.0.0.1"}, setup("10.0.0.1; rm -rf /"), KEY, "not an IP address"),
    ({"ansible_host": "10.0.0.1"}, setup("10.0.0.1"), "ssh-rsa AAAA", "does not hold an ed25519"),
    ({"ansible_host": "10.0.0.1"}, setup("10.0.0.1"), KEY + "\n" + KEY + " x\nssh-ed25519 AA", "ed25519"),
    ({"ansible_host": "10.0.0.1", "opsctl_fleet_ssh_port": "22; x"}, setup("10.0.0.1"), KEY, "not a port"),
])
def test_what_a_host_reports_is_validated(host_vars: dict[str, object], facts: dict[str, object], key: str,
                                          words: str) -> None:
    with pytest.raises(OpsctlError, match=words):
        watch_plan.host_facts("h", host_vars, facts, b64(key))


def test_known_hosts_pins_each_address_and_port() -> None:
    text = watch_plan.known_hosts({"b": HostFacts("10.0.0.2", 2200, KEY), "a": HostFacts("10.0.0.1", 22, KEY)})
    assert text == f"10.0.0.1 {KEY}\n[10.0.0.2]:2200 {KEY}\n"


def test_the_watchers_inventory_keeps_groups_and_no_secret_or_local_path() -> None:
    inventory = Inventory(
        path=Path("inv.yml"),
        hosts={"web1": {"ansible_host": "127.0.0.1", "ansible_port": 2221, "ansible_password": "hunter2",
                        "ansible_ssh_private_key_file": "/home/me/.ssh/id", "opsctl_http_port": 8081,
                        "ansible_python_interpreter": "/usr/bin/python3"},
               "work1": {"ansible_user": "deploy"}},
        groups={"all": ["web1", "work1"], "web": ["web1"], "workers": ["work1"], "ungrouped": []},
    )
    facts = {"web1": HostFacts("10.0.0.1", 22, KEY), "work1": HostFacts("10.0.0.2", 22, KEY)}
    result = watch_plan.fleet_inventory(inventory, facts, login="me")
    web1 = result["all"]["hosts"]["web1"]
    assert web1["ansible_host"] == "10.0.0.1" and web1["ansible_port"] == 22 and web1["ansible_user"] == "me"
    assert web1["ansible_ssh_private_key_file"] == "/etc/opsctl-watch/id_ed25519"
    assert "StrictHostKeyChecking=yes" in web1["ansible_ssh_common_args"]
    assert web1["ansible_python_interpreter"] == "/usr/bin/python3"
    text = yaml.safe_dump(result)
    assert "hunter2" not in text and "/home/me" not in text and "8081" not in text
    assert result["all"]["hosts"]["work1"]["ansible_user"] == "deploy"
    assert result["all"]["children"] == {"web": {"hosts": {"web1": None}}, "workers": {"hosts": {"work1": None}}}


def test_the_watchers_config_loads_and_holds_no_secret_settings(tmp_path: Path) -> None:
    source = VALID + "notify:\n  - url: https://hooks.example.com/a$$b\n    events: [failure]\n"
    config = parse(source, tmp_path / "opsctl.yml", environ={})
    written = watch_plan.watcher_config(config, "production")
    text = yaml.safe_dump(written)
    for absent in ("registry", "secret", "release", "DATABASE_URL", "bin/migrate", "aws"):
        assert absent not in text
    again = parse(text, tmp_path / "opsctl.yml", environ={})  # it is a valid opsctl.yml
    assert again.notify[0].url == "https://hooks.example.com/a$b"  # '$' survives interpolation
    assert list(again.environments) == ["production"]
    assert again.environments["production"].inventory == ["inventory.yml"]
    assert again.services["worker"].groups == ["workers"] and again.services["clock"].singleton


def test_docker_run_line() -> None:
    argv = watch_plan.run_argv(NAMES, "localhost:5050/opsctl:0.1.0", 1.0, 2)
    assert argv[:4] == ["docker", "run", "--detach", "--name"] and "hello-lab-watch" in argv
    assert argv[argv.index("--restart") + 1] == "unless-stopped"
    assert argv[argv.index("--network") + 1] == "host"
    assert "opsctl.role=watch" in argv
    assert "/var/lib/opsctl/hello/lab/watch:/etc/opsctl-watch:ro" in argv
    assert argv[argv.index("localhost:5050/opsctl:0.1.0") + 1:] == [
        "--config", "/etc/opsctl-watch/opsctl.yml", "watch", "--env", "lab", "--interval", "1", "--confirm", "2"]


@pytest.mark.parametrize("bad", ["--privileged", "a b", "x;y", "Registry/Opsctl:1", ""])
def test_image_references_from_the_command_line_are_checked(bad: str) -> None:
    with pytest.raises(UsageError):
        watch_plan.check_image_ref(bad, "--image")
    assert watch_plan.check_image_ref("localhost:5050/opsctl:0.1.0", "--image")


def test_the_summary_says_where_the_watcher_runs() -> None:
    watch = {"name": "hello-lab-watch", "service": "watch", "role": "watch", "state": "running"}
    assert lights.watcher_part({"lab1": [watch], "lab2": []}) == ("watch on lab1", True)
    assert lights.watcher_part({"lab1": []}) == ("", True)
    assert lights.watcher_part({"lab1": [{**watch, "state": "exited"}]}) == ("watch stopped on lab1", False)
    assert lights.watcher_part({"lab1": [watch], "lab2": [watch]})[1] is False
