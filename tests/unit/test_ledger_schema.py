"""A ledger copy read back from a server is validated; anything opsctl would not write is refused.

Each case is one way a releases.json can be broken (by a crash, a full disk, or a hostile server).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opsctl.deploy import ledger

REPO = "registry.example.com:5000/hello"
DIGEST = "sha256:" + "ab" * 32


def entry(number: Any = 1, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": number, "version": f"v{number}", "image": f"{REPO}:v{number}", "digest": DIGEST,
        "config_hash": "0123456789ab", "who": "ann@laptop", "when": "2026-11-23T06:00:00Z",
        "status": "succeeded", "previous": None if number == 1 else number - 1, "kind": "deploy", "target": None,
        "message": None, "hosts": ["lab1"], "services": ["web"], "duration": 12.5, "note": None,
    }
    return {**base, **changes}


def text(*entries: dict[str, Any]) -> str:
    return json.dumps(list(entries), indent=1)


def problem(body: str) -> str:
    with pytest.raises(ledger.LedgerProblem) as caught:
        ledger.parse_text(body, REPO)
    return str(caught.value)


def test_a_valid_ledger_reads_back_as_written() -> None:
    body = text(entry(1), entry(2), entry(3, kind="rollback", target=1, version="v1", image=f"{REPO}:v1"))
    releases = ledger.parse_text(body, REPO)
    assert [r.number for r in releases] == [1, 2, 3]
    assert ledger.dump(releases) == json.loads(body)


def test_no_file_is_no_history_but_an_empty_file_is_an_error() -> None:
    assert ledger.parse_text(None, REPO) == []
    assert ledger.parse_text("[]", REPO) == []
    assert "not valid JSON" in problem("")


def test_truncated_json_is_refused_not_read_as_empty() -> None:
    body = text(entry(1), entry(2))
    message = problem(body[: len(body) // 2])
    assert "not valid JSON" in message and "truncated or corrupt" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"number": 1}', "expected a JSON list"),
        ("[1, 2]", "entry 1: expected an object"),
        ("[NaN]", "NaN is not a number"),
    ],
)
def test_not_a_list_of_entries(body: str, expected: str) -> None:
    assert expected in problem(body)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"number": "2"}, "number: Input should be a valid integer"),
        ({"number": True}, "number: Input should be a valid integer"),
        ({"previous": "1"}, "previous"),
        ({"duration": "fast"}, "duration"),
        ({"hosts": "lab1"}, "hosts: Input should be a valid list"),
        ({"status": "great"}, "status"),
        ({"kind": "hotfix"}, "kind"),
        ({"digest": None, "image": f"{REPO}:v2"}, None),  # no digest (a local image) is allowed
        ({"digest": "sha256:abc"}, "digest: String should match pattern"),
        ({"digest": "md5:" + "ab" * 32}, "digest"),
        ({"digest": "SHA256:" + "AB" * 32}, "digest"),
        ({"config_hash": "../../../../etc/cron.d/x"}, "config_hash: String should match pattern"),
        ({"config_hash": "0123456789ab/../x"}, "config_hash"),
        ({"config_hash": "0123456789AB"}, "config_hash"),
        ({"image": "evil.example.com/miner:latest"}, "is not the app's repository at this version"),
        ({"image": f"{REPO}:v9"}, "is not the app's repository"),
        ({"image": f"{REPO}@sha256:" + "cd" * 32}, "is not the app's repository"),
        ({"version": "v2; rm -rf /"}, "version"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"kind": "rollback", "target": None}, "rollback entry needs"),
        ({"target": 1}, "only a rollback entry has a target"),
        ({"previous": 2}, "previous #2 is not before #2"),
    ],
)
def test_each_wrong_field_is_named(change: dict[str, Any], expected: str | None) -> None:
    body = text(entry(1), {**entry(2), **change})
    if expected is None:
        assert len(ledger.parse_text(body, REPO)) == 2
        return
    message = problem(body)
    assert message.startswith("entry 2"), message
    assert expected in message


def test_image_may_be_the_repository_at_the_digest() -> None:
    assert ledger.parse_text(text(entry(1, image=f"{REPO}@{DIGEST}")), REPO)[0].reference(REPO) == f"{REPO}@{DIGEST}"


@pytest.mark.parametrize("numbers", [[1, 1], [2, 1], [1, 3, 2]])
def test_numbers_must_strictly_increase(numbers: list[int]) -> None:
    assert "must strictly increase" in problem(text(*(entry(n, previous=None) for n in numbers)))


def test_gaps_are_fine_after_trimming() -> None:
    assert [r.number for r in ledger.parse_text(text(entry(5, previous=None), entry(7)), REPO)] == [5, 7]


def test_no_mutation_of_a_ledger_escapes_as_anything_but_a_ledger_problem() -> None:
    import random

    body = text(entry(1), entry(2), entry(3, kind="rollback", target=1, version="v1", image=f"{REPO}:v1"))
    cases = [body[:cut] for cut in range(len(body))]
    rng = random.Random(9)
    values: list[Any] = [None, True, 0, -1, 1.5, "", "x", [], {}, [1], {"a": 1}, "9" * 400, 10**30]
    for _ in range(400):
        data = json.loads(body)
        victim = rng.choice(data)
        victim[rng.choice(list(victim))] = rng.choice(values)
        cases.append(json.dumps(data))
    for case in cases:
        try:
            ledger.parse_text(case, REPO)
        except ledger.LedgerProblem:
            pass
