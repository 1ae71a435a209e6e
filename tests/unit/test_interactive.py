"""`opsctl exec -i`: the ssh and docker command lines, built as argument lists."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.errors import UsageError
from opsctl.interactive import docker_argv, ssh_argv

HOST_VARS = {
    "ansible_host": "203.0.113.10",
    "ansible_port": 2222,
    "ansible_user": "deploy",
    "ansible_ssh_private_key_file": "/home/me/.ssh/id ed25519",
    "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o 'UserKnownHostsFile=/dev/null'",
}
HOSTILE = ["sh", "-c", "echo $HOME; touch /tmp/x", "it's `id`", "$(reboot)", "a\nb", "{{ lookup('pipe','id') }}"]


def test_the_remote_command_arrives_word_for_word() -> None:
    docker = docker_argv("reg/app@sha256:" + "0" * 64, "/var/lib/opsctl/app/prod/env/abc.env",
                         {"OPSCTL_VERSION": "v2"}, HOSTILE)
    assert docker[:4] == ["docker", "run", "--rm", "-it"]
    argv = ssh_argv("web1", HOST_VARS, docker)
    assert argv[:2] == ["ssh", "-t"]
    assert argv[argv.index("-p") + 1] == "2222" and argv[argv.index("-l") + 1] == "deploy"
    assert argv[argv.index("-i") + 1] == "/home/me/.ssh/id ed25519"
    assert "UserKnownHostsFile=/dev/null" in argv
    assert argv[-3:-1] == ["--", "203.0.113.10"]
    # ssh gives the remote shell one line: parsed by a POSIX shell it is exactly our words again.
    assert shlex.split(argv[-1]) == docker
    assert docker[-len(HOSTILE):] == HOSTILE


def test_the_remote_line_survives_a_real_shell(tmp_path: Path) -> None:
    line = shlex.join(["printf", "%s|", *HOSTILE])
    out = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert out == "".join(f"{word}|" for word in HOSTILE)


def test_defaults_and_a_hostile_address() -> None:
    assert ssh_argv("web1", {}, ["true"])[-3:] == ["--", "web1", "true"]
    with pytest.raises(UsageError, match="cannot start with '-'"):
        ssh_argv("web1", {"ansible_host": "-oProxyCommand=id"}, ["true"])


def test_exec_i_without_a_terminal_is_a_usage_error(config_project: Callable[..., Path]) -> None:
    config = config_project()
    result = subprocess.run(
        [sys.executable, "-m", "opsctl", "-c", str(config), "exec", "-i", "-e", "production", "--", "bash"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert "exec -i needs a terminal" in result.stderr
