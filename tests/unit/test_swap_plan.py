"""The host-side swap planner, table-driven: each tests/unit/swap_cases/*.json is facts in, steps out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.module_utils import load_module_util

plan = load_module_util("opsctl_swap_plan")
CASES = Path(__file__).parent / "swap_cases"
BASE = json.loads((CASES / "_base.json").read_text())


def cases() -> list[Any]:
    return [pytest.param(json.loads(p.read_text()), id=p.stem) for p in sorted(CASES.glob("[!_]*.json"))]


@pytest.mark.parametrize("case", cases())
def test_case(case: dict[str, Any]) -> None:
    assert case["comment"]
    if "done" in case:
        assert plan.revert_steps(case["done"]) == case["revert"]
        return
    spec = {**BASE["spec"], **case.get("spec", {})}
    facts = {**BASE["facts"], **case.get("facts", {})}
    planner = {"swap": plan.plan_swap, "prestart": plan.plan_prestart, "discard": plan.plan_discard}[
        case.get("phase", "swap")]
    if "error" in case:
        with pytest.raises(plan.PlanError, match=case["error"]):
            planner(facts, spec)
        return
    steps = planner(facts, spec)
    assert steps == case["steps"]
    assert all(step["op"] in plan.OPS for step in steps)
    assert plan.changes(steps) == case.get("changed", True)


def test_every_op_is_covered_by_a_case() -> None:
    seen = {s["op"] for p in CASES.glob("[!_]*.json") for key in ("steps", "revert")
            for s in json.loads(p.read_text()).get(key, [])}
    assert seen == set(plan.OPS)


def test_fingerprint_tells_what_a_container_runs_but_not_its_release_number() -> None:
    web = {"name": "web", "command": ["python3", "app.py"], "port": 8000}
    env = {"OPSCTL_VERSION": "v1", "OPSCTL_RELEASE": "3"}
    base = plan.fingerprint(web, "sha256:aa", "d1", "net", env)
    assert plan.fingerprint(web, "sha256:aa", "d1", "net", {**env, "OPSCTL_RELEASE": "7"}) == base
    changed = [
        plan.fingerprint(web, "sha256:bb", "d1", "net", env),  # another image
        plan.fingerprint(web, "sha256:aa", "d2", "net", env),  # another env file content (a rotated secret)
        plan.fingerprint(web, "sha256:aa", None, "net", env),
        plan.fingerprint({**web, "command": ["python3", "other.py"]}, "sha256:aa", "d1", "net", env),
        plan.fingerprint({**web, "port": 8001}, "sha256:aa", "d1", "net", env),
        plan.fingerprint({**web, "name": "api"}, "sha256:aa", "d1", "net", env),
        plan.fingerprint(web, "sha256:aa", "d1", "net", {**env, "OPSCTL_VERSION": "v2"}),
    ]
    assert base not in changed and len(set(changed)) == len(changed)
