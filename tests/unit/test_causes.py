"""opsctl.deploy.causes: a failed step's text -> one line naming host, step and cause.

Every text below was captured on the lab (Docker 20.10 inside the lab's servers, Debian's
docker-registry 2.8) by breaking the thing named, not written by hand.
"""

from __future__ import annotations

import pytest

from opsctl.deploy.causes import DETAIL_LIMIT, cause, classify, explain, one_line
from opsctl.deploy.runner import RunResult, TaskResult

# `docker pull` / `docker login` inside a lab server, as the modules quote them.
IMAGE_MISSING = ("docker pull localhost:5050/hello:nope failed: Error response from daemon: manifest for "
                 "localhost:5050/hello:nope not found: manifest unknown: manifest unknown")
LOGIN_REFUSED = ("docker login to localhost:5050 failed: Error response from daemon: login attempt to "
                 "http://localhost:5050/v2/ failed with status: 401 Unauthorized")
# The registry container stopped: the server's forwarder accepts, then closes the connection.
REGISTRY_DOWN_PULL = ('docker pull localhost:5050/hello:v2 failed: Error response from daemon: '
                      'Get "http://localhost:5050/v2/": EOF')
REGISTRY_DOWN_LOGIN = ('docker login to localhost:5050 failed: Error response from daemon: '
                       'Get "http://localhost:5050/v2/": EOF')
ENGINE_STOPPED = ("docker pull localhost:5050/hello:v2 failed: Cannot connect to the Docker daemon at "
                  "unix:///var/run/docker.sock. Is the docker daemon running?")
PORT_TAKEN_BY_CONTAINER = (
    "docker run failed: docker: Error response from daemon: driver failed programming external "
    "connectivity on endpoint hello-lab-proxy (9ecb4e813d447a7a9e066485f1fa7ab5c7065fb4c5e6b1184a08302e1e2fa50d): "
    "Bind for 0.0.0.0:80 failed: port is already allocated.")

PORT_TAKEN_BY_PROCESS = (
    "docker run failed: docker: Error response from daemon: driver failed programming external "
    "connectivity on endpoint hello-lab-proxy (9c530fa7d3a102f45974989316ef921af8582905bf011dca7999f3df23c84792): "
    "Error starting userland proxy: listen tcp4 0.0.0.0:80: bind: address already in use.")

# The swap module's words (with the container's last log lines) for an image whose /ping never passes.
HEALTH_NEVER_PASSES = ("hello-lab-web-r2-8624cf-1 did not pass its health check /ping within 10.0s "
                       "(20 checks 0.5s apart):\n"
                       "09:34:54 web vbad: listening on :8000")


@pytest.mark.parametrize(("text", "expected"), [
    (IMAGE_MISSING, "image localhost:5050/hello:nope is not in the registry"),
    (LOGIN_REFUSED, "the registry refused the login"),
    (REGISTRY_DOWN_PULL, "the registry at localhost:5050 did not answer (EOF)"),
    (REGISTRY_DOWN_LOGIN, "the registry at localhost:5050 did not answer (EOF)"),
    (ENGINE_STOPPED, "the host's Docker engine is not running"),
    (PORT_TAKEN_BY_CONTAINER, "port 80 is already taken on the host (by another container)"),
    (PORT_TAKEN_BY_PROCESS, "port 80 is already taken on the host (by another process)"),
    (HEALTH_NEVER_PASSES, "the new container hello-lab-web-r2-8624cf-1 never passed its health check /ping within 10.0s (20 checks)"),
])
def test_each_captured_failure_has_its_cause(text: str, expected: str) -> None:
    found = classify(text)
    assert found is not None and found.startswith(expected), found


def test_unknown_text_has_no_cause_and_is_quoted_as_it_was() -> None:
    assert classify("something nobody has seen before") is None
    assert cause("failed", {"msg": "something nobody has seen before"}) == "something nobody has seen before"


def test_the_line_names_host_step_cause_and_the_hosts_words() -> None:
    line = explain("lab2", "Pull the image", "failed", {"msg": REGISTRY_DOWN_PULL})
    assert line.startswith("lab2: Pull the image: the registry at localhost:5050 did not answer (EOF) [")
    assert 'Get "http://localhost:5050/v2/": EOF]' in line
    assert "\n" not in line


def test_remote_text_is_cleaned_and_capped() -> None:
    hostile = "\x1b[31m[bold]boom[/bold]\x1b]0;title\x07\r\n" + "x" * 5000 + " no space left on device"
    line = explain("lab1", "Pull the image", "failed", {"msg": hostile})
    assert "\x1b" not in line and "\r" not in line and "\n" not in line and "\x07" not in line
    assert "the host's disk is full" in line
    assert len(line) < 2 * DETAIL_LIMIT
    assert one_line("a\n\tb  c") == "a b c"


def test_a_command_task_is_explained_by_its_stderr() -> None:
    result = {"msg": "non-zero return code", "rc": 1, "stderr": "Traceback...\nValueError: no such target group"}
    assert cause("failed", result) == "ValueError: no such target group"


def test_an_unreachable_host_says_so_and_how_to_leave_it_out() -> None:
    said = {"msg": "Failed to connect to the host via ssh: Connection timed out during banner exchange"}
    text = cause("unreachable", said)
    assert text.startswith("the host did not answer over SSH (Connection timed out during banner exchange)")
    assert "--skip-hosts" in text


def test_a_hidden_result_says_it_is_hidden() -> None:
    censored = {"censored": "the output has been hidden due to the fact that 'no_log: true' was specified"}
    assert "hidden" in cause("failed", censored)


def test_failure_summary_is_one_line_per_failed_host() -> None:
    result = RunResult(status="failed", rc=2, results=[
        TaskResult("lab1", "Pull the image", "ok", {}),
        TaskResult("lab2", "Pull the image", "failed", {"msg": IMAGE_MISSING}),
        TaskResult("lab3", "Configs and registry login", "failed", {"msg": LOGIN_REFUSED}),
    ])
    lines = result.failure_summary().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("lab2: Pull the image: image localhost:5050/hello:nope is not in the registry")
    assert lines[1].startswith("lab3: Configs and registry login: the registry refused the login")
