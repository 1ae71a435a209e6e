"""The files the lab writes: inventory, secrets, state; credentials; container arguments."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
import yaml

from opsctl.lab import containers, credentials, names, state
from opsctl.lab.state import HostState, LabState


def three_hosts(status: str = "running") -> list[HostState]:
    return [
        HostState(names.host_name(i), i, names.ssh_port(i), names.http_port(i), status) for i in (1, 2, 3)
    ]


def test_inventory_has_the_contract_hostvars(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    doc = yaml.safe_load(state.render_inventory(list(reversed(three_hosts())), key))
    hosts = doc["all"]["children"]["servers"]["hosts"]
    assert list(hosts) == ["lab1", "lab2", "lab3"]
    assert hosts["lab2"] == {
        "ansible_host": "127.0.0.1",
        "ansible_port": 2222,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key.resolve()),
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "opsctl_http_port": 8082,
    }


def test_inventory_parses_with_ansible(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(state.render_inventory(three_hosts(), tmp_path / "k"))
    tool = Path(sys.executable).with_name("ansible-inventory")
    if not tool.exists():
        pytest.skip("ansible-inventory is not installed next to this python")
    out = subprocess.run(
        [str(tool), "-i", str(inventory), "--list"], capture_output=True, text=True, check=True
    ).stdout
    data = yaml.safe_load(out)
    assert data["servers"]["hosts"] == ["lab1", "lab2", "lab3"]
    assert data["_meta"]["hostvars"]["lab3"]["ansible_port"] == 2223


def test_state_json_has_the_contract_keys(tmp_path: Path) -> None:
    lab = LabState(tmp_path, three_hosts(), registry_state="running", aws_state="running")
    data = lab.to_json()
    assert data["hosts"][0] == {"name": "lab1", "ssh_port": 2221, "http_port": 8081, "state": "running"}
    assert data["registry"] == "localhost:5050"
    assert data["aws_endpoint"] == "http://127.0.0.1:5051"
    assert data["inventory"] == str(tmp_path / "inventory.yml")
    assert data["up"] is True
    assert LabState(tmp_path, three_hosts("exited"), "running", "running").up is False
    assert LabState(tmp_path).up is False


def test_secrets_round_trip_and_are_private(tmp_path: Path) -> None:
    first = credentials.ensure_password(tmp_path)
    path = tmp_path / state.SECRETS_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == f"OPSCTL_REGISTRY_PASSWORD={first}\n"
    assert credentials.ensure_password(tmp_path) == first


@pytest.mark.parametrize("use_ssh_keygen", [True, False])
def test_key_pair_is_made_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_ssh_keygen: bool) -> None:
    if use_ssh_keygen and shutil.which("ssh-keygen") is None:
        pytest.skip("no ssh-keygen")
    if not use_ssh_keygen:
        pytest.importorskip("cryptography")
        monkeypatch.setattr(shutil, "which", lambda _name: None)
    pub = credentials.ensure_key(tmp_path)
    assert pub.startswith("ssh-ed25519 ")
    assert (tmp_path / state.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert credentials.ensure_key(tmp_path) == pub
    if shutil.which("ssh-keygen"):
        derived = subprocess.run(
            ["ssh-keygen", "-y", "-f", str(tmp_path / state.KEY_FILE)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert derived.split()[:2] == pub.split()[:2]


def test_htpasswd_line_is_bcrypt_and_verifies(tmp_path: Path) -> None:
    line = credentials.htpasswd_line("opsctl", "pa55word")
    user, hashed = line.split(":", 1)
    assert user == "opsctl" and hashed.startswith("$2")
    if shutil.which("htpasswd"):
        file = tmp_path / "htpasswd"
        file.write_text(line + "\n")
        ok = subprocess.run(["htpasswd", "-vb", str(file), "opsctl", "pa55word"], capture_output=True)
        bad = subprocess.run(["htpasswd", "-vb", str(file), "opsctl", "nope"], capture_output=True)
        assert ok.returncode == 0 and bad.returncode != 0


def test_remove_files_removes_only_the_labs_files(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    state.ensure_dir(lab_dir)
    for name in state.ALL_FILES:
        (lab_dir / name).write_text("x")
    state.remove_files(lab_dir)
    assert not lab_dir.exists()
    state.ensure_dir(lab_dir)
    (lab_dir / "inventory.yml").write_text("x")
    (lab_dir / "mine.txt").write_text("keep")
    state.remove_files(lab_dir)
    assert [p.name for p in lab_dir.iterdir()] == ["mine.txt"]


def test_server_containers_get_the_dind_flags_labels_and_local_ports() -> None:
    args = containers.server_create_args(2, "sha256:abc", "spec")
    assert args["name"] == "opsctl-lab-lab2" and args["hostname"] == "lab2"
    assert args["ports"] == {"22/tcp": ("127.0.0.1", 2222), "80/tcp": ("127.0.0.1", 8082)}
    assert args["labels"]["opsctl.lab"] == "1"
    assert args["labels"]["opsctl.lab.role"] == "host"
    assert args["cap_add"] == ["ALL"] and args["cap_drop"] == ["SYS_RESOURCE"]
    assert set(args["security_opt"]) == {"seccomp=unconfined", "apparmor=unconfined"}
    assert args["cgroupns"] == "host"
    assert args["tmpfs"] == {"/var/lib/docker": "exec"}
    assert "privileged" not in args
    assert args["network"] == "opsctl-lab"
    registry = containers.registry_create_args("sha256:abc", "spec")
    assert registry["ports"] == {"5000/tcp": ("127.0.0.1", 5050)}
    assert registry["labels"]["opsctl.lab"] == "1"
    assert "opsctl.lab.role" in registry["labels"] and registry["labels"]["opsctl.lab.role"] != "host"


def test_specs_change_with_what_the_container_is_made_from() -> None:
    base = containers.server_spec(1, "img", "key")
    assert base == containers.server_spec(1, "img", "key")
    assert base != containers.server_spec(1, "img2", "key")
    assert base != containers.server_spec(1, "img", "key2")
    assert containers.registry_spec("img", "a") != containers.registry_spec("img", "b")


def test_authorized_keys_archive_is_private() -> None:
    data = containers.authorized_keys_archive("ssh-ed25519 AAAA lab")
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members[".ssh"].isdir() and members[".ssh"].mode == 0o700
        key = members[".ssh/authorized_keys"]
        assert key.mode == 0o600 and key.uid == 0
        handle = tar.extractfile(key)
        assert handle is not None and handle.read() == b"ssh-ed25519 AAAA lab\n"
