"""The digest a deploy records comes from the hosts' Docker: it is checked, never trusted."""

from __future__ import annotations

from typing import Any

import pytest

from opsctl.deploy.flows import _digest_ref
from opsctl.errors import OpsctlError

REPO = "registry.example:5000/shop"
GOOD = "sha256:" + "ab" * 32


def test_the_digest_every_host_agrees_on() -> None:
    refs = {"web1": [f"other/repo@{GOOD}", f"{REPO}@{GOOD}"], "web2": [f"{REPO}@{GOOD}"]}
    assert _digest_ref(REPO, refs) == f"{REPO}@{GOOD}"
    assert _digest_ref(REPO, {"web1": [], "web2": ["other/repo@sha256:x"]}) is None


@pytest.mark.parametrize("bad", [
    f"{REPO}@sha256:xyz",
    f"{REPO}@{GOOD}\n[red]x[/]",
    f"{REPO}@{GOOD.upper()}",
    f"{REPO}@md5:{'a' * 32}",
    f"{REPO}@",
    12345,
    {"digest": GOOD},
])
def test_a_malformed_digest_from_a_host_is_one_clear_error(bad: Any) -> None:
    with pytest.raises(OpsctlError) as caught:
        _digest_ref(REPO, {"web1": [f"{REPO}@{GOOD}"], "web2": [bad]})
    message = caught.value.message
    assert message.startswith("web2 reported a malformed image digest:")
    assert f"expected {REPO}@sha256: followed by 64 hex digits" in message


def test_hosts_that_pulled_different_images_are_named() -> None:
    other = "sha256:" + "cd" * 32
    with pytest.raises(OpsctlError, match=r"pulled different images .*\(web1\).*\(web2\)"):
        _digest_ref(REPO, {"web1": [f"{REPO}@{GOOD}"], "web2": [f"{REPO}@{other}"]})
