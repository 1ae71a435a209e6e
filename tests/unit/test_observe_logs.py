"""Merged logs: parsing Docker's timestamps, time order, escapes, --since/--grep checks, the ssh command."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from opsctl.errors import UsageError
from opsctl.observe import follow
from opsctl.observe.logs import Reorder, check_grep, check_since, merge, parse, strip_escapes


def test_docker_trims_trailing_zeros_so_order_is_by_parsed_time() -> None:
    a = parse("lab1", "web-1", "web", "2026-11-23T06:00:01.5Z first")
    b = parse("lab2", "web-2", "web", "2026-11-23T06:00:01.123456789Z earlier")
    c = parse("lab3", "worker-1", "worker", "2026-11-23T06:00:00.999999999Z earliest")
    assert [x.message for x in merge([a, b, c])] == ["earliest", "earlier", "first"]
    assert a.time == "2026-11-23T06:00:01.5Z" and a.key[1] == 500_000_000


def test_a_line_without_timestamp_keeps_its_text() -> None:
    line = parse("lab1", "web-1", "web", "no stamp here\n")
    assert line.message == "no stamp here" and line.time == ""


def test_terminal_escapes_and_controls_are_stripped() -> None:
    raw = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x1b[2J\x08\tend\r"
    assert strip_escapes(raw) == "red ok\tend"
    line = parse("h", "c", "s", "2026-11-23T06:00:00Z [bold]markup[/] \x1b[1A")
    assert line.message == "[bold]markup[/] "  # kept as text; the printer never treats it as markup


@pytest.mark.parametrize("value", ["10m", "1h30m", "45s", "1.5h", "2026-11-23T06:00:00Z", "2026-11-23", "1763877600"])
def test_since_accepts_durations_and_times(value: str) -> None:
    assert check_since(value) == value


@pytest.mark.parametrize("value", ["ten minutes", "10 m", "-5m", "{{ x }}", "10m; rm -rf /"])
def test_since_refuses_anything_else(value: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        check_since(value)


def test_grep_must_compile() -> None:
    assert check_grep("GET /ping") is not None
    with pytest.raises(UsageError, match="not a valid regular expression"):
        check_grep("(unclosed")


def test_reorder_releases_in_time_order_after_the_window() -> None:
    reorder = Reorder(window=0.5)
    late = parse("lab2", "w", "web", "2026-11-23T06:00:02Z second")
    early = parse("lab1", "w", "web", "2026-11-23T06:00:01Z first")
    reorder.add(late, arrived=10.0)
    reorder.add(early, arrived=10.3)  # arrived later from a slower host, but is older
    assert reorder.ready(now=10.4) == []
    assert [x.message for x in reorder.ready(now=10.9)] == ["first", "second"]
    reorder.add(late, arrived=11.0)
    assert reorder.ready(now=11.0, flush=True) == [late]


def test_ssh_argv_uses_the_inventory_connection_and_quotes_the_remote_command() -> None:
    host_vars = {"ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "deploy",
                 "ansible_ssh_private_key_file": "~/.ssh/k", "ansible_ssh_common_args": "-o ProxyJump=bastion"}
    remote = follow.remote_command(host_vars, "hello", "prod", "web", "2026-11-23T06:00:00.000000001Z")
    argv = follow.ssh_argv("web1", host_vars, remote)
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("-i") + 1] == str(Path("~/.ssh/k").expanduser())
    assert "ProxyJump=bastion" in argv
    assert argv[-3:-1] == ["deploy@10.0.0.5", "--"]
    assert shlex.split(argv[-1]) == remote  # the remote shell gets back exactly the argument list
    assert remote[:2] == ["python3", "-c"] and "docker" in remote[2]


def test_ssh_argv_refuses_templated_connection_vars() -> None:
    from opsctl.errors import OpsctlError

    with pytest.raises(OpsctlError, match="ansible_host is a template"):
        follow.ssh_argv("web1", {"ansible_host": "{{ lookup('env', 'X') }}"}, ["true"])
