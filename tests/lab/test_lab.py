"""The lab itself, on real parts: SSH with the generated key into each server, each server's own
Docker engine, one image reference that pushes here and pulls on every server, `lab status
--json` through the CLI, and an idempotent, resizable `up`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from opsctl.lab import fleet, names
from opsctl.lab.state import PASSWORD_VAR, LabState, parse_secrets

pytestmark = pytest.mark.lab

OPSCTL = str(Path(sys.executable).with_name("opsctl"))


def ssh(lab: LabState, port: int, *command: str, stdin: str | None = None) -> str:
    from opsctl.lab.probes import ssh_argv

    argv = ssh_argv(lab.ssh_key_path, port, *command, connect_timeout=10)
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(command)} on port {port}: {result.stderr}"
    return result.stdout


def password(lab: LabState) -> str:
    return parse_secrets(lab.secrets_env_path.read_text())[PASSWORD_VAR]


def registry_login(lab: LabState, port: int) -> None:
    """Log a server's engine in to the lab registry (password on stdin, never on a command line)."""
    ssh(lab, port, "docker", "login", "-u", names.REGISTRY_USER, "--password-stdin", lab.registry,
        stdin=password(lab))


def docker(*args: str, stdin: str | None = None) -> str:
    result = subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def test_files_are_written_with_private_modes(lab: LabState) -> None:
    assert lab.ssh_key_path.stat().st_mode & 0o777 == 0o600
    assert lab.secrets_env_path.stat().st_mode & 0o777 == 0o600
    assert len(password(lab)) >= 20
    assert lab.inventory_path.exists()
    assert (lab.directory / "lab.json").exists()


def test_each_server_answers_ssh_and_runs_its_own_engine(lab: LabState) -> None:
    ids = {}
    for host in lab.hosts:
        ids[host.name] = ssh(lab, host.ssh_port, "docker", "info", "--format", "{{.ID}}").strip()
        assert ssh(lab, host.ssh_port, "hostname").strip() == host.name
    assert [h.name for h in lab.hosts] == ["lab1", "lab2", "lab3"]
    assert all(ids.values()) and len(set(ids.values())) == 3, ids
    local_id = docker("info", "--format", "{{.ID}}").strip()
    assert local_id not in ids.values()


def test_an_image_pushed_here_pulls_on_every_server_by_the_same_reference(lab: LabState) -> None:
    tag = uuid.uuid4().hex[:12]
    ref = f"{lab.registry}/opsctl-lab-test/probe:{tag}"
    docker("tag", names.BASE_IMAGE, ref)
    config = Path(os.environ.get("TMPDIR", "/tmp")) / f"opsctl-lab-test-docker-{tag}"
    config.mkdir(mode=0o700)
    try:
        # A throwaway client config: the test's login does not touch ~/.docker.
        docker(
            "--config",
            str(config),
            "login",
            "-u",
            names.REGISTRY_USER,
            "--password-stdin",
            lab.registry,
            stdin=password(lab),
        )
        docker("--config", str(config), "push", ref)
        for host in lab.hosts:
            registry_login(lab, host.ssh_port)
            ssh(lab, host.ssh_port, "docker", "pull", "-q", ref)
            out = ssh(lab, host.ssh_port, "docker", "run", "--rm", ref, "python3", "-V")
            assert out.startswith("Python 3.")
            ssh(lab, host.ssh_port, "docker", "rmi", ref)
            ssh(lab, host.ssh_port, "docker", "logout", lab.registry)
    finally:
        subprocess.run(["docker", "rmi", ref], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(config)], check=False)


def test_the_registry_wants_the_password() -> None:
    from opsctl.lab import probes

    url = f"http://127.0.0.1:{names.REGISTRY_PORT}/v2/"
    assert probes.http_status(url) == 401
    assert probes.http_status(url, auth=(names.REGISTRY_USER, "wrong")) == 401


def test_the_proxy_image_is_in_the_registry(lab: LabState) -> None:
    from opsctl.lab import probes

    assert probes.registry_digest(names.PROXY_IMAGE, (names.REGISTRY_USER, password(lab)))


def test_the_aws_endpoint_answers_boto3(lab: LabState) -> None:
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=lab.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.create_queue(QueueName=f"opsctl-lab-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)


def test_status_json_through_the_cli_has_the_contract_keys(lab: LabState) -> None:
    result = subprocess.run([OPSCTL, "lab", "status", "--json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["registry"] == "localhost:5050"
    assert data["aws_endpoint"] == "http://127.0.0.1:5051"
    assert [(h["name"], h["ssh_port"], h["http_port"], h["state"]) for h in data["hosts"]] == [
        ("lab1", 2221, 8081, "running"),
        ("lab2", 2222, 8082, "running"),
        ("lab3", 2223, 8083, "running"),
    ]
    assert data["up"] is True
    assert password(lab) not in result.stdout + result.stderr


def test_every_container_carries_the_lab_labels(lab: LabState) -> None:
    out = docker("ps", "--filter", "label=opsctl.lab=1", "--format", "{{.Names}}")
    assert set(out.split()) >= {
        "opsctl-lab-lab1",
        "opsctl-lab-lab2",
        "opsctl-lab-lab3",
        "opsctl-lab-registry",
    }
    hosts = docker("ps", "--filter", "label=opsctl.lab.role=host", "--format", "{{.Names}}")
    assert sorted(hosts.split()) == ["opsctl-lab-lab1", "opsctl-lab-lab2", "opsctl-lab-lab3"]


def _container_ids() -> dict[str, str]:
    out = docker("ps", "-a", "--filter", "label=opsctl.lab=1", "--format", "{{.Names}} {{.ID}}")
    return dict(line.split() for line in out.splitlines())


def test_a_second_up_reuses_everything_and_leaves_one_lab(lab: LabState) -> None:
    before = _container_ids()
    again = fleet.up(3)
    assert _container_ids() == before
    assert again.to_json()["hosts"] == lab.to_json()["hosts"]
    assert again.up


def test_up_grows_and_shrinks_the_lab_leaving_the_others_alone(lab: LabState) -> None:
    before = _container_ids()
    try:
        grown = fleet.up(4)
        assert [h.name for h in grown.hosts] == ["lab1", "lab2", "lab3", "lab4"]
        assert ssh(lab, 2224, "docker", "info", "--format", "{{.ID}}").strip()
        assert "lab4:" in lab.inventory_path.read_text()
        after_grow = _container_ids()
        assert {k: after_grow[k] for k in before} == before
    finally:
        shrunk = fleet.up(3)
    assert [h.name for h in shrunk.hosts] == ["lab1", "lab2", "lab3"]
    assert _container_ids() == before
    assert "lab4" not in lab.inventory_path.read_text()


def test_the_proxy_image_serves_on_a_servers_http_ingress_port(lab: LabState) -> None:
    from opsctl.lab import probes

    host = lab.hosts[-1]
    registry_login(lab, host.ssh_port)
    name = f"opsctl-lab-test-{uuid.uuid4().hex[:8]}"
    try:
        ssh(lab, host.ssh_port, "docker", "run", "-d", "--name", name, "-p", "80:80", names.PROXY_IMAGE)
        deadline = time.monotonic() + 20
        while probes.http_status(f"http://127.0.0.1:{host.http_port}/") != 200:
            assert time.monotonic() < deadline, "nginx on the server never answered"
            time.sleep(0.2)
    finally:
        ssh(lab, host.ssh_port, "docker", "rm", "-f", name)
        ssh(lab, host.ssh_port, "docker", "logout", lab.registry)
