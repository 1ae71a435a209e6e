"""The failure policy after a roll: succeed, tolerate within max_failures, pause, roll back or remove."""

from __future__ import annotations

import pytest

from opsctl.deploy import policy

HOSTS = ["h1", "h2", "h3", "h4"]


@pytest.mark.parametrize(
    ("switched", "failed", "run_ok", "max_failures", "action", "previous", "expected", "touched"),
    [
        # every host switched
        (HOSTS, [], True, 0, "rollback", True, policy.SUCCEEDED, HOSTS),
        # max_failures 0: one failure rolls the touched hosts back, in plan order
        (["h1"], ["h2"], False, 0, "rollback", True, policy.ROLL_BACK, ["h1", "h2"]),
        # ...or removes the new containers when there is nothing to go back to
        (["h1"], ["h2"], False, 0, "rollback", False, policy.REMOVE, ["h1", "h2"]),
        # failure_action pause leaves the fleet as it is
        (["h1"], ["h2"], False, 0, "pause", True, policy.PAUSE, ["h1", "h2"]),
        # max_failures 1: one failed host is tolerated although Ansible's run failed
        (["h1", "h3", "h4"], ["h2"], False, 1, "rollback", True, policy.TOLERATED, HOSTS),
        # ...two are not
        (["h1", "h4"], ["h3", "h2"], False, 1, "rollback", True, policy.ROLL_BACK, HOSTS),
        (["h1", "h4"], ["h2", "h3"], False, 1, "pause", True, policy.PAUSE, HOSTS),
        # max_failures 2 with two failures and pause configured: tolerated, not paused
        (["h1", "h4"], ["h2", "h3"], False, 2, "pause", True, policy.TOLERATED, HOSTS),
        # Ansible itself stopped with no host to blame: never tolerated
        (["h1"], [], False, 3, "rollback", True, policy.ROLL_BACK, ["h1"]),
        (["h1"], [], False, 3, "pause", True, policy.PAUSE, ["h1"]),
        # Ansible stopped before any host was touched: nothing to roll back
        ([], [], False, 0, "rollback", True, policy.PAUSE, []),
    ],
)
def test_judge(switched: list[str], failed: list[str], run_ok: bool, max_failures: int, action: str,
               previous: bool, expected: str, touched: list[str]) -> None:
    verdict = policy.judge(hosts=HOSTS, switched=switched, failed=failed, run_ok=run_ok,
                           max_failures=max_failures, failure_action=action, has_previous=previous)
    assert verdict == policy.Verdict(expected, touched)


def test_lost_hosts_count_as_failed_but_are_not_touched_again() -> None:
    verdict = policy.judge(hosts=["a", "b", "c"], switched=["a", "b"], failed=["c"], run_ok=False,
                           max_failures=0, failure_action="rollback", has_previous=True, lost=["c"])
    assert verdict == policy.Verdict(policy.ROLL_BACK, ["a", "b"])


def test_a_failed_host_that_is_reachable_is_rolled_back_too() -> None:
    verdict = policy.judge(hosts=["a", "b", "c"], switched=["a"], failed=["b"], run_ok=False,
                           max_failures=0, failure_action="rollback", has_previous=True, lost=[])
    assert verdict == policy.Verdict(policy.ROLL_BACK, ["a", "b"])
