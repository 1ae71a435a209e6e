"""How the fleet turns what opsctl_state returned per host into a history, or a refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.config.inventory import Inventory
from opsctl.config.loader import parse
from opsctl.deploy.fleet import Fleet
from opsctl.errors import OpsctlError
from tests.unit.config_samples import VALID

PATH = "/var/lib/opsctl/hello/production/releases.json"


def fleet(*hosts: str) -> Fleet:
    config = parse(VALID, Path("/tmp/opsctl.yml"))
    inventory = Inventory(path=Path("inv.ini"))
    for host in hosts:
        inventory.hosts[host] = {}
    name, env = config.environment("production")
    return Fleet(config=config, env_name=name, env=env, inventory=inventory)


def entry(number: int) -> dict[str, object]:
    return {"number": number, "version": f"v{number}", "image": f"localhost:5000/hello:v{number}",
            "digest": None, "config_hash": "0123456789ab", "who": "ann", "when": "t", "status": "succeeded",
            "previous": None, "kind": "deploy", "target": None, "message": None, "hosts": [], "services": [],
            "duration": None, "note": None}


def answer(*numbers: int) -> dict[str, object]:
    return {"ledger_text": json.dumps([entry(n) for n in numbers]), "ledger_path": PATH}


def test_the_lock_host_does_not_depend_on_inventory_order() -> None:
    assert fleet("web3", "web1", "web2").primary == fleet("web1", "web2", "web3").primary == "web1"


def test_every_broken_copy_is_named_with_host_and_file() -> None:
    f = fleet("a", "b", "c")
    state = f.ledger_state({
        "a": {"ledger_text": json.dumps([entry(1)])[:30], "ledger_path": PATH},
        "b": {"ledger_text": None, "ledger_problem": "not UTF-8 text (byte 7)", "ledger_path": PATH},
        "c": answer(1),
    }, [])
    with pytest.raises(OpsctlError) as caught:
        f.history(state, writing=True)
    message = caught.value.message
    assert "opsctl changed nothing" in message
    assert f"host a: {PATH}: not valid JSON" in message
    assert f"host b: {PATH}: not UTF-8 text (byte 7)" in message


def test_a_copy_behind_is_reported_and_the_longest_history_used(capsys: pytest.CaptureFixture[str]) -> None:
    f = fleet("a", "b")
    history = f.history(f.ledger_state({"a": answer(1), "b": answer(1, 2)}, []), writing=False)
    assert [r.number for r in history] == [1, 2]
    assert "a's ledger is behind: it lacks release(s) #2" in capsys.readouterr().err


def test_divergent_copies_are_refused() -> None:
    f = fleet("a", "b")
    other = {**answer(1), "ledger_text": json.dumps([{**entry(1), "who": "bob"}])}
    with pytest.raises(OpsctlError, match="contradict each other") as caught:
        f.history(f.ledger_state({"a": answer(1), "b": other}, []), writing=True)
    assert caught.value.hint is not None and "--repair" in caught.value.hint and "--from HOST" in caught.value.hint
