"""`--skip-hosts`: validated with `--hosts`, recorded in the ledger, shown by `status` as behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.config.loader import parse
from opsctl.deploy import ledger, plan
from opsctl.errors import UsageError
from opsctl.observe.status_view import behind, converge_command
from tests.unit.test_deploy_plan import CONFIG, inventory
from tests.unit.test_ledger_schema import REPO, entry, text

# inventory(): web1, web2, web3, job1; job1 (the smallest name) holds the lock.


def test_skipped_hosts_are_left_out_of_the_targets() -> None:
    assert plan.select_hosts(inventory(), [], ["web2"]) == ["web1", "web3", "job1"]
    assert plan.select_hosts(inventory(), ["web1", "web3"], ["web2"]) == ["web1", "web3"]


@pytest.mark.parametrize(("wanted", "skipped", "expected"), [
    ([], ["web9"], r"unknown host\(s\) web9; inv.ini has: web1, web2, web3, job1"),
    ([], ["web1;reboot"], "invalid host"),
    (["web1"], ["web1"], "web1: given to both --hosts and --skip-hosts"),
    ([], ["job1"], "job1 cannot be skipped: it holds the deploy lock"),
    ([], ["web1", "web2", "web3", "job1"], "--skip-hosts names every host of inv.ini"),
    (["web2"], ["web1", "web3"], None),
])
def test_bad_skips_are_refused_with_one_clear_line(wanted: list[str], skipped: list[str], expected: str | None) -> None:
    if expected is None:
        assert plan.select_hosts(inventory(), wanted, skipped) == ["web2"]
        return
    with pytest.raises(UsageError, match=expected):
        plan.select_hosts(inventory(), wanted, skipped)


def test_the_plan_neither_reads_nor_writes_a_skipped_host() -> None:
    config = parse(CONFIG, Path("/tmp/opsctl.yml"))
    inv = inventory()
    env = config.environments["production"]
    targets = plan.select_hosts(inv, [], ["web3"])
    p = plan.plan_rollout(config, "production", env, inv, targets, list(config.services), skipped=["web3"])
    assert "web3" not in p.hosts and "web3" not in p.all_hosts  # all_hosts: where the ledger is written
    assert p.primary == "job1"


def test_the_ledger_records_skipped_hosts_and_old_ledgers_stay_valid() -> None:
    old = ledger.parse_text(text(entry(1)), REPO)
    assert old[0].skipped == []
    assert "skipped" not in old[0].to_json()  # unchanged for a reader that predates the field
    new = ledger.parse_text(text(entry(1), entry(2, skipped=["lab3"])), REPO)
    assert new[1].skipped == ["lab3"]
    assert json.loads(json.dumps(ledger.dump(new)))[1]["skipped"] == ["lab3"]
    with pytest.raises(ledger.LedgerProblem):
        ledger.parse_text(text(entry(1, skipped="lab3")), REPO)


def test_status_names_hosts_behind_and_the_command_that_converges_them() -> None:
    current = ledger.Release.from_json(entry(2, skipped=["lab3"]))
    assert behind(current, {"v2": ["lab1", "lab2"], "v1": ["lab3"]}) == {"lab3": "skipped by #2, runs v1"}
    assert behind(current, {"v2": ["lab1", "lab2"]}) == {"lab3": "skipped by #2"}  # still down
    assert behind(current, {"v2": ["lab1", "lab2", "lab3"]}) == {}  # converged since
    mixed = ledger.Release.from_json(entry(2))
    assert behind(mixed, {"v2": ["lab1"], "v3": ["lab2"]}) == {"lab2": "runs v3"}
    assert converge_command(current, "lab") == "opsctl deploy v2 -e lab"
    back = ledger.Release.from_json(entry(3, kind="rollback", target=1, version="v1", image=f"{REPO}:v1"))
    assert converge_command(back, "lab") == "opsctl rollback v1 -e lab"
