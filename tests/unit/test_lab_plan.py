"""The lab's pure planning: which servers `lab up --hosts N` keeps, replaces, creates, removes;
and which fixed ports a lab of N servers publishes."""

from __future__ import annotations

import socket

import pytest

from opsctl.errors import OpsctlError
from opsctl.lab import names, ports
from opsctl.lab.plan import Existing, plan_resize


def specs(n: int, spec: str = "s") -> dict[str, str]:
    return {names.host_name(i): spec for i in range(1, n + 1)}


def running(*hosts: str, spec: str = "s") -> dict[str, Existing]:
    return {h: Existing(h, True, spec) for h in hosts}


@pytest.mark.parametrize(
    ("wanted", "existing", "keep", "create", "replace", "remove"),
    [
        (3, {}, [], ["lab1", "lab2", "lab3"], [], []),
        (3, running("lab1", "lab2", "lab3"), ["lab1", "lab2", "lab3"], [], [], []),
        (5, running("lab1", "lab2", "lab3"), ["lab1", "lab2", "lab3"], ["lab4", "lab5"], [], []),
        (2, running("lab1", "lab2", "lab3", "lab10"), ["lab1", "lab2"], [], [], ["lab3", "lab10"]),
        (
            2,
            {"lab1": Existing("lab1", False, "s"), "lab2": Existing("lab2", True, "old")},
            [],
            ["lab1", "lab2"],
            ["lab1", "lab2"],
            [],
        ),
        (1, {**running("lab1"), "weird": Existing("weird", True, "s")}, ["lab1"], [], [], ["weird"]),
    ],
    ids=["fresh", "same", "grow", "shrink", "stale-or-changed", "stray-name"],
)
def test_plan_resize(
    wanted: int,
    existing: dict[str, Existing],
    keep: list[str],
    create: list[str],
    replace: list[str],
    remove: list[str],
) -> None:
    plan = plan_resize(wanted, existing, specs(wanted))
    assert (plan.keep, plan.create, plan.replace, plan.remove) == (keep, create, replace, remove)


def test_a_plan_with_nothing_to_do_has_no_changes() -> None:
    assert not plan_resize(2, running("lab1", "lab2"), specs(2)).changes
    assert plan_resize(1, running("lab1", "lab2"), specs(1)).changes


def test_port_plan_is_fixed() -> None:
    plan = ports.port_plan(3)
    assert [(u.port, u.purpose) for u in plan] == [
        (2221, "lab1 SSH"),
        (8081, "lab1 HTTP ingress"),
        (2222, "lab2 SSH"),
        (8082, "lab2 HTTP ingress"),
        (2223, "lab3 SSH"),
        (8083, "lab3 HTTP ingress"),
        (5050, "registry"),
        (5051, "AWS endpoint (moto)"),
    ]


def test_port_ranges_never_overlap_up_to_the_maximum() -> None:
    used = [u.port for u in ports.port_plan(names.MAX_HOSTS)]
    assert len(used) == len(set(used))


PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:13BA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1
   1: 0100007F:13BA 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 4343 1
   2: 00000000:08AD 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1
"""


def test_listening_inodes_reads_only_listeners_on_the_port() -> None:
    assert ports.listening_inodes(PROC_NET_TCP, 5050) == {"4242"}
    assert ports.listening_inodes(PROC_NET_TCP, 2221) == {"4444"}
    assert ports.listening_inodes(PROC_NET_TCP, 5051) == set()


def _listener() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, int(sock.getsockname()[1])


def test_a_taken_port_is_named_with_its_holder() -> None:
    sock, port = _listener()
    with sock:
        assert not ports.is_free(port)
        with pytest.raises(OpsctlError) as info:
            ports.check_free([ports.PortUse(port, "lab1 SSH")])
        assert f"127.0.0.1:{port} (lab1 SSH) is taken by process" in info.value.message
        assert "python" in info.value.message
        # ports the lab itself holds are not in the way
        ports.check_free([ports.PortUse(port, "lab1 SSH")], ours=[port])


def test_a_port_taken_by_a_container_names_it_and_how_to_free_it() -> None:
    sock, port = _listener()
    with sock, pytest.raises(OpsctlError) as info:
        ports.check_free([ports.PortUse(port, "registry")], docker_holders={port: "web"})
    assert "taken by Docker container 'web'" in info.value.message
    assert info.value.hint is not None and "docker rm -f web" in info.value.hint


def test_a_free_port_is_free() -> None:
    sock, port = _listener()
    sock.close()
    assert ports.is_free(port)
