"""Which lab servers need an EC2 instance on the lab's moto, and which instances are left over."""

from __future__ import annotations

from opsctl.lab.ec2 import plan


def test_new_servers_get_instances_and_gone_ones_lose_them() -> None:
    have = {"lab1": "i-1", "lab4": "i-4", "lab5": "i-5"}
    assert plan(["lab1", "lab2", "lab3"], have) == (["lab2", "lab3"], ["i-4", "i-5"])
    assert plan(["lab1"], {"lab1": "i-1"}) == ([], [])
    assert plan(["lab1", "lab2"], {}) == (["lab1", "lab2"], [])
