"""Which hosts a roll takes in which batch, and when it starts replicas ahead: a roll of a subset
of the fleet (a recovery, a roll back of the hosts a deploy reached) keeps the plan's batches but
leaves out the hosts it does not touch."""

from __future__ import annotations

import pytest

from opsctl.deploy.rollout import _batch_sizes_for, _starts_ahead

BATCHES = [["a"], ["b", "c"], ["d"]]


@pytest.mark.parametrize(("hosts", "sizes", "ahead"), [
    (["a", "b", "c", "d"], [1, 2, 1], True),
    (["b", "c"], [2], False),        # one batch left: nothing to start ahead
    (["a", "d"], [1, 1], True),
    (["c"], [1], False),
    ([], [1], False),
])
def test_batch_sizes_and_starting_ahead_follow_the_hosts_rolled(hosts: list[str], sizes: list[int],
                                                                ahead: bool) -> None:
    assert _batch_sizes_for(BATCHES, hosts) == sizes
    assert _starts_ahead(BATCHES, hosts) is ahead
