"""Hostile text never becomes code on the machine that runs opsctl (issue 9, part 1).

Each payload is a Jinja expression that would create a marker file on this machine if Ansible
rendered it. It is sent through every way free text reaches a playbook: the deploy message, the
user name, env values, service and release commands, exec's argv, a lock holder's message, ledger
entries read back from a server, and a failing container's log tail. The marker must never appear,
and the text must arrive byte for byte where it belongs.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab.helpers import HELLO, HelloImages, hosts, opsctl, reset_fleet, ssh

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}
LEDGER = "/var/lib/opsctl/hello/lab/releases.json"


class Markers:
    """Payloads, each naming its own marker file, and a check that none of the files appeared."""

    def __init__(self) -> None:
        self.files: list[Path] = []

    def payload(self, label: str) -> str:
        path = Path(f"/tmp/opsctl-pwned-{label}-{uuid.uuid4().hex[:10]}")
        self.files.append(path)
        return "{{ lookup('pipe','touch " + str(path) + "') }} " + label

    def assert_none_ran(self) -> None:
        ran = [str(p) for p in self.files if p.exists()]
        assert ran == [], f"payloads were rendered as templates: {ran}"

    def cleanup(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)


@pytest.fixture()
def markers(images: HelloImages) -> Iterator[Markers]:
    reset_fleet()
    found = Markers()
    yield found
    found.cleanup()


def project(tmp_path: Path, change: Any) -> Path:
    """A copy of examples/hello whose opsctl.yml `change` edits; returns the copy's directory."""
    copy = tmp_path / "hello"
    shutil.copytree(HELLO, copy)
    config = yaml.safe_load((copy / "opsctl.yml").read_text())
    change(config)
    (copy / "opsctl.yml").write_text(yaml.safe_dump(config))
    return copy


def run(*args: str, cwd: Path = HELLO, env: dict[str, str] | None = None) -> Any:
    return opsctl(*args, cwd=cwd, env={**ENV, **(env or {})})


def releases(cwd: Path = HELLO) -> list[dict[str, Any]]:
    proc = run("releases", "-e", "lab", "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout)["releases"])


def containers(service: str) -> list[tuple[str, str]]:
    found = []
    for host in hosts():
        names = ssh(host, "docker", "ps", "--format", "{{.Names}}", "--filter", "label=opsctl.app=hello",
                    "--filter", f"label=opsctl.service={service}").split()
        found += [(host, name) for name in names]
    return found


def test_config_and_operator_text_stays_text(markers: Markers, tmp_path: Path) -> None:
    message, user, value = markers.payload("message"), markers.payload("user"), markers.payload("env")
    worker_arg, release_arg = markers.payload("service-command"), markers.payload("release-command")
    exec_arg, lock_message = markers.payload("exec"), markers.payload("lock")

    def change(config: dict[str, Any]) -> None:
        config["env"]["clear"]["GREETING"] = value
        config["services"]["worker"]["command"] = ["python3", "/app/hello.py", "worker", worker_arg]
        config["release"]["command"] = ["python3", "/app/hello.py", "migrate", release_arg]

    cwd = project(tmp_path, change)
    deploy = run("deploy", "v1", "-e", "lab", "-m", message, cwd=cwd, env={"OPSCTL_USER": user})
    assert deploy.returncode == 0, deploy.stderr
    markers.assert_none_ran()

    entry = releases(cwd)[0]
    assert (entry["message"], entry["who"]) == (message, user)

    printed = run("exec", "-e", "lab", "--", "python3", "-c",
                  "import os, sys; sys.stdout.write(os.environ['GREETING'])", cwd=cwd)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == value + "\n"
    # Docker's own template syntax is not valid Jinja: rendered, it was a template error.
    echoed = run("exec", "-e", "lab", "--", "echo", exec_arg, "{{.State.Status}}", cwd=cwd)
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout == exec_arg + " {{.State.Status}}\n"

    workers = containers("worker")
    assert workers
    for host, name in workers:
        args = json.loads(ssh(host, "docker", "inspect", "--format", "{{json .Args}}", name))
        assert args == ["/app/hello.py", "worker", worker_arg]

    assert run("lock", "acquire", "-e", "lab", "-m", lock_message, cwd=cwd).returncode == 0
    held = json.loads(run("lock", "status", "-e", "lab", "--json", cwd=cwd).stdout)
    assert held["holder"]["message"] == lock_message
    assert run("lock", "release", "-e", "lab", cwd=cwd).returncode == 0
    markers.assert_none_ran()


def test_ledger_text_from_a_server_stays_text(markers: Markers) -> None:
    message, note = markers.payload("ledger-message"), markers.payload("ledger-note")
    assert run("deploy", "v1", "-e", "lab").returncode == 0
    # Whoever controls the servers writes what they like into the ledger (into every copy: one
    # changed copy alone is divergent history, which opsctl refuses; see tests/lab/test_ledger.py)...
    plant = (
        "import json, sys; path, message, note = sys.argv[1:]; entries = json.load(open(path)); "
        "entries[0].update(message=message, note=note); json.dump(entries, open(path, 'w'))"
    )
    for host in hosts():
        ssh(host, "python3", "-c", plant, LEDGER, message, note)

    # ...and the next deploy and rollback read it back and write it out again, unrendered.
    deploy = run("deploy", "v2", "-e", "lab")
    assert deploy.returncode == 0, deploy.stderr
    markers.assert_none_ran()
    back = run("rollback", "-e", "lab")
    assert back.returncode == 0, back.stderr
    markers.assert_none_ran()

    first = releases()[-1]
    assert (first["number"], first["message"], first["note"]) == (1, message, note)
    for host in hosts():
        copy = json.loads(ssh(host, "cat", LEDGER))
        assert [(e["message"], e["note"]) for e in copy if e["number"] == 1] == [(message, note)]


def test_container_output_stays_text(markers: Markers, tmp_path: Path) -> None:
    said = markers.payload("log-tail")
    assert run("deploy", "v1", "-e", "lab").returncode == 0

    def change(config: dict[str, Any]) -> None:
        # A worker that prints the payload and dies: its last log lines become the ledger's note.
        config["services"]["worker"]["command"] = [
            "python3", "-c", "import sys; print(sys.argv[1], flush=True); sys.exit(1)", said,
        ]

    cwd = project(tmp_path, change)
    failed = run("deploy", "v2", "-e", "lab", cwd=cwd)
    assert failed.returncode == 1
    assert "did not stay up" in failed.stderr
    markers.assert_none_ran()
    last = releases(cwd)[0]
    assert (last["version"], last["status"]) == ("v2", "rolled back")
    assert said in last["note"]
