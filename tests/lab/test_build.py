"""`opsctl build` against the lab: the real engine, the real registry at localhost:5050, real servers.

Each test builds a copy of examples/hello in its own git repository, so the result does not
depend on what else is uncommitted in the opsctl work tree.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import opsctl

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "examples" / "hello"
REGISTRY = "localhost:5050"
IMAGE = f"{REGISTRY}/hello"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(cwd), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


def make_app(root: Path, dockerfile_edit: str | None = None) -> Path:
    """examples/hello copied into a fresh, committed git repository (optionally with an extra
    Dockerfile line before COPY)."""
    app = root / f"hello-{uuid.uuid4().hex[:6]}"
    shutil.copytree(HELLO, app, ignore=shutil.ignore_patterns(".opsctl", "__pycache__"))
    if dockerfile_edit:
        dockerfile = app / "Dockerfile"
        text = dockerfile.read_text().replace("COPY hello.py", f"{dockerfile_edit}\nCOPY hello.py", 1)
        dockerfile.write_text(text)
    git(app, "init", "-q")
    git(app, "add", ".")
    git(app, "commit", "-q", "-m", "hello")
    return app


def opsctl_build(
    app: Path, *args: str, lab_dir: Path, env: dict[str, str] | None = None, importtime: bool = False
) -> Run:
    base = {k: v for k, v in os.environ.items() if k != "OPSCTL_REGISTRY_PASSWORD"}
    full_env = {**base, "CI": "true", "OPSCTL_LAB_DIR": str(lab_dir), **(env or {})}
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    started = time.monotonic()
    result = subprocess.run(
        [*python, "-m", "opsctl", "build", *args],
        cwd=app,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Run(result.returncode, result.stdout, result.stderr, time.monotonic() - started)


def lab_password(lab: Any) -> str:
    for line in Path(lab.secrets_env_path).read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "OPSCTL_REGISTRY_PASSWORD":
            return value.strip()
    raise AssertionError("the lab's secrets.env has no OPSCTL_REGISTRY_PASSWORD")


def registry_get(lab: Any, path: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    token = base64.b64encode(f"opsctl:{lab_password(lab)}".encode()).decode()
    request = urllib.request.Request(f"http://{REGISTRY}{path}", headers={"Authorization": f"Basic {token}"})
    if accept:
        request.add_header("Accept", accept)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def docker_inspect(ref: str) -> dict[str, Any] | None:
    result = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    data: dict[str, Any] = json.loads(result.stdout)[0]
    return data


@pytest.fixture(scope="module")
def v1(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Run]]:
    """`opsctl build v1 --json` of the example, pushed to the lab registry."""
    app = make_app(tmp_path_factory.mktemp("v1"))
    run = opsctl_build(app, "v1", "--json", lab_dir=Path(lab.directory))
    assert run.returncode == 0, run.stderr[-4000:]
    yield app, run


def test_both_tags_in_registry_with_the_printed_digest(lab: Any, v1: tuple[Path, Run]) -> None:
    _app, run = v1
    result = run.json()
    assert result["image"] == IMAGE
    assert result["version"] == "v1"
    assert result["pushed"] is True
    assert result["tags"] == [f"{IMAGE}:v1", f"{IMAGE}:latest"]
    digest = result["digest"]
    assert digest.startswith("sha256:") and len(digest) == 71
    for tag in ("v1", "latest"):
        status, headers, body = registry_get(lab, f"/v2/hello/manifests/{tag}", MANIFEST_V2)
        assert status == 200, body[:500]
        assert headers.get("Docker-Content-Digest") == digest, tag
    # The registry's digest is the manifest's sha256: check it rather than trust the header.
    _status, _headers, body = registry_get(lab, "/v2/hello/manifests/v1", MANIFEST_V2)
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest


def test_labels_are_on_the_pushed_image(lab: Any, v1: tuple[Path, Run]) -> None:
    app, run = v1
    _status, _headers, body = registry_get(lab, "/v2/hello/manifests/v1", MANIFEST_V2)
    config_digest = json.loads(body)["config"]["digest"]
    status, _headers, blob = registry_get(lab, f"/v2/hello/blobs/{config_digest}")
    assert status == 200
    config = json.loads(blob)["config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == "v1"
    assert labels["org.opencontainers.image.revision"] == git(app, "rev-parse", "HEAD")
    assert labels["dev.opsctl.version"] == opsctl.__version__
    created = datetime.strptime(labels["org.opencontainers.image.created"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(datetime.now(UTC) - created.replace(tzinfo=UTC)) < timedelta(hours=2)
    assert "dev.opsctl.dirty" not in labels
    # OPSCTL_VERSION is baked in as ENV, so the app knows its version without being told.
    assert "OPSCTL_VERSION=v1" in config["Env"]
    assert run.json()["revision"] == labels["org.opencontainers.image.revision"]
    local = docker_inspect(f"{IMAGE}:v1")
    assert local is not None and local["Config"]["Labels"] == labels


def test_a_lab_server_pulls_v1(lab: Any, v1: tuple[Path, Run]) -> None:
    _app, run = v1
    host = lab.hosts[0]
    # Log in with a throwaway docker config on the server; the password goes over stdin only.
    remote = (
        'export DOCKER_CONFIG="$(mktemp -d)"; '
        f"docker login -u opsctl --password-stdin {REGISTRY} >/dev/null && "
        f"docker pull -q {IMAGE}:v1 && "
        f"docker image inspect --format '{{{{json .RepoDigests}}}}' {IMAGE}:v1; "
        'rc=$?; rm -rf "$DOCKER_CONFIG"; exit $rc'
    )
    result = subprocess.run(
        [
            "ssh",
            "-i",
            str(lab.ssh_key_path),
            "-p",
            str(host.ssh_port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "root@127.0.0.1",
            remote,
        ],
        input=lab_password(lab) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{IMAGE}@{run.json()['digest']}" in result.stdout


def test_the_image_runs_and_reports_its_version(v1: tuple[Path, Run]) -> None:
    status, body = run_web(f"{IMAGE}:v1")
    assert status == {"/ping": 200, "/version": 200}
    assert body["/version"] == "v1"


def test_fail_health_build_arg_makes_ping_fail(lab: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    version = f"badhealth-{uuid.uuid4().hex[:6]}"
    run = opsctl_build(
        app, version, "--no-push", "--build-arg", "HELLO_FAIL_HEALTH=1", lab_dir=Path(lab.directory)
    )
    assert run.returncode == 0, run.stderr[-4000:]
    try:
        status, body = run_web(f"{IMAGE}:{version}")
        assert status == {"/ping": 500, "/version": 200}
        assert body["/version"] == version
    finally:
        remove_image(f"{IMAGE}:{version}")


@pytest.mark.parametrize("version", ["v1;touch /tmp/x", "$(id)", "a b", "../x", "v1\n", "", "x" * 129])
def test_hostile_versions_run_nothing(lab: Any, tmp_path: Path, version: str) -> None:
    Path("/tmp/x").unlink(missing_ok=True)
    since = time.time()
    run = opsctl_build(HELLO, version, lab_dir=Path(lab.directory), importtime=True)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "invalid version" in run.stderr
    assert not Path("/tmp/x").exists()
    # Nothing was run: the docker SDK was never even imported, and the engine saw no image event
    # for our repository while the command ran.
    imported = {
        line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")
    }
    assert "docker" not in imported
    assert not hello_image_events(since, time.time() + 0.5)


def test_broken_dockerfile_reports_the_failing_step(lab: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path, dockerfile_edit="RUN echo before the failure && false")
    run = opsctl_build(app, "broken1", "--no-push", lab_dir=Path(lab.directory))
    assert run.returncode == 1
    assert "RUN echo before the failure && false" in run.stderr
    assert "before the failure" in run.stderr.split("RUN echo before the failure && false", 1)[1]
    assert "returned a non-zero code: 1" in run.stderr
    assert "error: build failed at Step" in run.stderr
    assert docker_inspect(f"{IMAGE}:broken1") is None


def test_no_push_does_not_push(lab: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    version = f"nopush-{uuid.uuid4().hex[:6]}"
    run = opsctl_build(app, version, "--no-push", "--json", lab_dir=Path(lab.directory))
    try:
        assert run.returncode == 0, run.stderr[-4000:]
        result = run.json()
        assert result["pushed"] is False
        assert result["digest"] is None
        assert docker_inspect(f"{IMAGE}:{version}") is not None
        status, _headers, _body = registry_get(lab, f"/v2/hello/manifests/{version}", MANIFEST_V2)
        assert status == 404
        assert "push:" not in run.stderr
    finally:
        remove_image(f"{IMAGE}:{version}")


def test_dirty_tree_refused_unless_allowed(lab: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    (app / "hello.py").write_text((app / "hello.py").read_text() + "\n# uncommitted\n")
    version = f"dirty-{uuid.uuid4().hex[:6]}"
    refused = opsctl_build(app, version, "--no-push", lab_dir=Path(lab.directory))
    assert refused.returncode == 1
    assert "uncommitted changes" in refused.stderr and "hello.py" in refused.stderr
    assert docker_inspect(f"{IMAGE}:{version}") is None

    allowed = opsctl_build(app, version, "--no-push", "--allow-dirty", lab_dir=Path(lab.directory))
    try:
        assert allowed.returncode == 0, allowed.stderr[-4000:]
        image = docker_inspect(f"{IMAGE}:{version}")
        assert image is not None
        assert image["Config"]["Labels"]["dev.opsctl.dirty"] == "true"
    finally:
        remove_image(f"{IMAGE}:{version}")


def test_login_failure_names_registry_and_source_not_secret(lab: Any, tmp_path: Path) -> None:
    app = make_app(tmp_path)
    wrong = f"wrong-{uuid.uuid4().hex}"
    from_env = opsctl_build(app, "v1", lab_dir=Path(lab.directory), env={"OPSCTL_REGISTRY_PASSWORD": wrong})
    assert from_env.returncode == 1
    assert REGISTRY in from_env.stderr
    assert "environment variable OPSCTL_REGISTRY_PASSWORD" in from_env.stderr
    assert wrong not in from_env.stderr + from_env.stdout

    # The secrets file is the other source; a lab dir of our own holds a wrong one.
    fake_lab = tmp_path / "lab"
    fake_lab.mkdir()
    secrets = fake_lab / "secrets.env"
    secrets.write_text(f"OPSCTL_REGISTRY_PASSWORD={wrong}\n")
    from_file = opsctl_build(app, "v1", lab_dir=fake_lab)
    assert from_file.returncode == 1
    assert REGISTRY in from_file.stderr
    assert f"secrets file {secrets}" in from_file.stderr
    assert wrong not in from_file.stderr + from_file.stdout


# --- helpers that use the local engine ------------------------------------------------------------


def hello_image_events(since: float, until: float) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            "docker",
            "events",
            "--since",
            f"{since:.3f}",
            "--until",
            f"{until:.3f}",
            "--filter",
            "type=image",
            "--format",
            "{{json .}}",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [e for e in events if IMAGE in json.dumps(e)]


def remove_image(ref: str) -> None:
    subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True, check=False)


def run_web(ref: str) -> tuple[dict[str, int], dict[str, str]]:
    """Run the image's default command (web) on a random 127.0.0.1 port; GET /ping and /version."""
    name = f"opsctl-buildtest-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::8000", ref],
        check=True,
        capture_output=True,
        text=True,
    )
    try:
        port = (
            subprocess.run(["docker", "port", name, "8000/tcp"], check=True, capture_output=True, text=True)
            .stdout.split(":")[-1]
            .strip()
        )
        statuses: dict[str, int] = {}
        bodies: dict[str, str] = {}
        deadline = time.monotonic() + 20
        for path in ("/version", "/ping"):
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                        statuses[path], bodies[path] = r.status, r.read().decode().strip()
                    break
                except urllib.error.HTTPError as exc:
                    statuses[path], bodies[path] = exc.code, exc.read().decode().strip()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        return statuses, bodies
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
