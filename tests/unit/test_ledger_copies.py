"""Which copy of the ledger is the history when the hosts disagree (pure: copies in, verdict out)."""

from __future__ import annotations

from opsctl.deploy import ledger
from opsctl.deploy.ledger_copies import extends, judge, ranges


def rel(number: int, version: str | None = None, who: str = "ann") -> ledger.Release:
    version = version or f"v{number}"
    return ledger.Release(
        number=number, version=version, image=f"app:{version}", config_hash="0123456789ab",
        who=who, when="t", status=ledger.SUCCEEDED, previous=None,
    )


def history(*numbers: int) -> list[ledger.Release]:
    return [rel(n) for n in numbers]


def test_ranges() -> None:
    assert ranges([]) == "none"
    assert ranges([3, 1, 2, 5, 7, 8]) == "#1-#3, #5, #7-#8"


def test_agreeing_copies() -> None:
    verdict = judge({"a": history(1, 2), "b": history(1, 2)})
    assert verdict.agree and verdict.history == history(1, 2) and verdict.problems() == []
    assert verdict.writes() == {}


def test_a_host_that_was_down_is_behind_and_the_longer_copy_wins() -> None:
    # lab2 missed releases 4 and 5; the inventory order does not matter.
    for order in (["lab1", "lab2", "lab3"], ["lab2", "lab3", "lab1"]):
        copies = {"lab1": history(1, 2, 3, 4, 5), "lab2": history(1, 2, 3), "lab3": history(1, 2, 3, 4, 5)}
        verdict = judge({h: copies[h] for h in order})
        assert verdict.consistent and not verdict.agree
        assert verdict.history == history(1, 2, 3, 4, 5)
        assert verdict.behind == {"lab2": [4, 5]}
        assert verdict.problems() == ["lab2's ledger is behind: it lacks release(s) #4-#5 that lab1, lab3 have"]
        assert list(verdict.writes()) == ["lab2"]


def test_a_new_host_without_a_ledger_is_behind() -> None:
    verdict = judge({"lab1": history(1, 2), "new": []})
    assert verdict.behind == {"new": [1, 2]} and verdict.source == "lab1"


def test_copies_trimmed_at_different_points_still_agree() -> None:
    old = history(1, 2, 3)
    trimmed = history(2, 3, 4)
    assert extends(trimmed, old)
    verdict = judge({"a": old, "b": trimmed})
    assert verdict.history == trimmed and verdict.behind == {"a": [4]}


def test_divergent_copies_are_never_merged() -> None:
    # Two deploys each numbered #3 on a different lock host (two inventory orders, old opsctl).
    a = [*history(1, 2), rel(3, "v3", who="ann")]
    b = [*history(1, 2), rel(3, "v4", who="bob"), rel(4, "v5", who="bob")]
    verdict = judge({"lab1": a, "lab2": b})
    assert not verdict.consistent and verdict.history is None and verdict.writes() == {}
    problems = verdict.problems()
    assert "contradict each other" in problems[0]
    assert "lab1 has #1-#3; lab2 has #1-#4" in problems[0]
    assert "release #3 differs between hosts (lab1: deploy v3 by ann at t; lab2: deploy v4 by bob at t)" in problems[1]


def test_the_operator_may_choose_a_copy() -> None:
    a = [*history(1, 2), rel(3, "v3", who="ann")]
    b = [*history(1, 2), rel(3, "v4", who="bob")]
    verdict = judge({"lab1": a, "lab2": b, "lab3": history(1)}, prefer="lab2")
    assert verdict.history == b and set(verdict.writes()) == {"lab1", "lab3"}


def test_unreachable_hosts_are_listed_not_judged() -> None:
    verdict = judge({"lab1": history(1)}, unreachable=["lab3"])
    assert verdict.agree and verdict.unreachable == ["lab3"]
