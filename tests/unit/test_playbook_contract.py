"""The playbooks and opsctl/deploy/contract.py agree: what Python supplies is what the plays use,
and every result Python reads is a task of that playbook whose module returns the keys read."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from opsctl.deploy.contract import BASE, PLAYBOOKS, check_supplied
from opsctl.paths import playbooks_dir

_VAR = re.compile(r"\bopsctl_[a-z_]+\b")
_DATA = re.compile(r"\bopsctl_data\.([a-z_]+)")
_DECISION = re.compile(r"\bopsctl_decision\.([a-z_]+)")
# runner.run_playbook supplies these to every run
_RUNNER = {"opsctl_data", "opsctl_data_file", "opsctl_decision", "opsctl_decision_file"}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def _tasks(plays: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for play in plays:
        yield from play.get("tasks", [])


def _load(name: str) -> list[dict[str, Any]]:
    """A playbook's plays, with each `import_tasks` replaced by the tasks it imports."""
    plays: list[dict[str, Any]] = yaml.safe_load((playbooks_dir() / name).read_text())
    for play in plays:
        tasks: list[dict[str, Any]] = []
        for task in play.get("tasks", []):
            imported = task.get("ansible.builtin.import_tasks")
            tasks += yaml.safe_load((playbooks_dir() / imported).read_text()) if imported else [task]
        play["tasks"] = tasks
    return plays


def test_every_playbook_has_a_contract() -> None:
    assert {p.name for p in playbooks_dir().glob("*.yml")} == set(PLAYBOOKS)


@pytest.mark.parametrize("name", sorted(PLAYBOOKS))
def test_variables_used_are_exactly_those_declared(name: str) -> None:
    plays, contract = _load(name), PLAYBOOKS[name]
    text = list(_strings(plays))
    registered = {t["register"] for t in _tasks(plays) if "register" in t}
    used = {v for s in text for v in _VAR.findall(s)} - registered - _RUNNER
    assert used - BASE - contract.constants == set(), "used but never supplied"
    assert contract.constants - used == set(), "declared but unused"
    data = {k for s in text for k in _DATA.findall(s)}
    assert data == set(contract.data)
    decision = {k for s in text for k in _DECISION.findall(s)}
    assert decision == set(contract.decision)


@pytest.mark.parametrize(("name", "result"), [(n, r) for n, p in sorted(PLAYBOOKS.items()) for r in p.results])
def test_results_read_exist(name: str, result: str) -> None:
    wanted = PLAYBOOKS[name].results[result]
    tasks = [t for t in _tasks(_load(name)) if t.get("name") == wanted.task]
    # One task, though a tasks file imported by two plays (roll.yml's fatal and tolerant ones) shows it twice.
    assert len({json.dumps(t, sort_keys=True) for t in tasks}) == 1, f"{name} has no single task named {wanted.task!r}"
    assert wanted.module in tasks[0]
    if wanted.module.startswith("opsctl_"):
        # The code that runs: an action plugin when there is one (its module file only documents it).
        action = playbooks_dir() / "action" / f"{wanted.module}.py"
        source = (action if action.exists() else playbooks_dir() / "library" / f"{wanted.module}.py").read_text()
        for key in wanted.keys:
            assert re.search(rf"\b{key}\b\s*=|[\"']{key}[\"']", source), f"{wanted.module} never returns {key}"


def test_a_run_that_breaks_the_contract_is_refused() -> None:
    check_supplied(["exec.yml"], {"opsctl_targets", *BASE}, {"argv"})
    with pytest.raises(ValueError, match="undeclared constant opsctl_argv"):
        check_supplied(["exec.yml"], {"opsctl_targets", "opsctl_argv"}, {"argv"})
    with pytest.raises(ValueError, match="missing data key argv"):
        check_supplied(["exec.yml"], {"opsctl_targets"}, set())


def test_a_run_of_several_playbooks_needs_what_each_of_them_needs() -> None:
    names = ["state.yml", "decide.yml", "roll.yml"]
    roll = PLAYBOOKS["roll.yml"]
    constants = {*BASE, *roll.constants, "opsctl_lock"}
    check_supplied(names, constants, set(roll.data))
    with pytest.raises(ValueError, match="missing constant opsctl_lock"):
        check_supplied(names, constants - {"opsctl_lock"}, set(roll.data))
    with pytest.raises(ValueError, match="missing decision key services"):
        check_supplied(names, constants, set(roll.data), set(roll.decision) - {"services"})


@pytest.mark.parametrize("name", sorted(PLAYBOOKS))
def test_any_errors_fatal_is_never_a_template(name: str) -> None:
    # Ansible takes a templated any_errors_fatal as a non-empty string, that is as true.
    for play in _load(name):
        assert isinstance(play.get("any_errors_fatal", False), bool), play["name"]
