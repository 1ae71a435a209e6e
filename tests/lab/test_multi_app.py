"""Several apps on the same three lab servers behind each server's shared ingress: a host that
still runs the app's own proxy moves over, two apps roll at once under traffic to both with 0
failed requests, a claim another app holds is refused before anything changes, and `opsctl
remove` takes one app off while the other keeps serving, untouched."""

from __future__ import annotations

import base64
import datetime
import http.client
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from opsctl.paths import state_home
from tests.lab.helpers import (
    HELLO,
    HelloImages,
    Load,
    get,
    hosts,
    http_ports,
    opsctl,
    remove_ingress,
    reset_fleet,
    ssh,
)

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}", "CI": "true"}
TWO, THREE = "hello-two", "hello-three"
TWO_HOST = "two.lab.test"
PROXY_IMAGE = "localhost:5050/opsctl/proxy:bookworm"


def clean() -> None:
    for app in ("hello", TWO, THREE):
        reset_fleet(app)
    remove_ingress()


@pytest.fixture(scope="module")
def images(hello_images: HelloImages) -> Iterator[None]:
    hello_images.need("v1", "v2")  # the session's builds: a rebuild here would make later modules build again
    clean()
    yield
    # Leave the servers as the lab made them: other lab tests want their port 80 free.
    clean()


def project(where: Path, app: str, hosts_: list[str], greeting: str) -> Path:
    """The example app under another name, its web service routed by `hosts_` (none: the default)."""
    config = yaml.safe_load((HELLO / "opsctl.yml").read_text())
    config["app"] = app
    config["build"]["context"] = str(HELLO)
    config["services"]["web"]["hosts"] = hosts_
    config["env"]["clear"]["GREETING"] = greeting
    where.mkdir(parents=True, exist_ok=True)
    (where / "opsctl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return where


def run(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return opsctl(*args, cwd=where, env=ENV)


def on_every_host(*command: str) -> dict[str, str]:
    return {host: ssh(host, *command, check=False).strip() for host in hosts()}


def containers(app: str) -> dict[str, list[str]]:
    found = on_every_host("docker", "ps", "--format", "{{.Names}}", "--filter", f"label=opsctl.app={app}")
    return {host: sorted(names.split()) for host, names in found.items()}


def greet(port: int, host_name: str | None = None) -> str:
    status, body = get(f"http://127.0.0.1:{port}/", headers={"Host": host_name} if host_name else None)
    return body.split(" from ")[0] if status == 200 else f"HTTP {status}"


def test_two_apps_share_the_servers(images: None, tmp_path: Path) -> None:
    one = project(tmp_path / "one", "hello", [], "one")
    two = project(tmp_path / "two", TWO, [TWO_HOST], "two")
    ports = http_ports()

    assert run(one, "deploy", "v1", "-e", "lab").returncode == 0
    # Servers from before the shared ingress: the app's own proxy serves port 80. The next deploy
    # moves the app over to the shared ingress, under traffic.
    for host in hosts():
        own_proxy(host)
    versions = [f"http://127.0.0.1:{p}/version" for p in ports.values()]
    deadline = time.monotonic() + 10
    while not all(get(url) == (200, "v1\n") for url in versions):
        assert time.monotonic() < deadline, "the old proxies do not serve"
        time.sleep(0.2)
    with Load(versions) as migration:
        time.sleep(0.5)
        moved = run(one, "deploy", "v1", "-e", "lab")
        time.sleep(0.5)
    assert moved.returncode == 0, moved.stderr
    assert set(on_every_host("docker", "ps", "-aq", "--filter", "name=^hello-lab-proxy$").values()) == {""}
    # The one gap: while the old proxy stops and the ingress starts on its port, connections are
    # refused (status 0); never a wrong answer. docs/ingress.md quotes these numbers.
    print(f"migration: {migration.ok} ok, {migration.failed} failed", migration.errors[:3])
    assert migration.ok > 50 and migration.failed < migration.ok / 10, (migration.ok, migration.errors[:10])
    assert all(": 0 " in error for error in migration.errors), migration.errors[:10]
    assert run(two, "deploy", "v1", "-e", "lab").returncode == 0
    for port in ports.values():
        assert greet(port) == "one"  # the default server: the app that names no hosts
        assert greet(port, TWO_HOST) == "two"

    # Both apps roll at once, under traffic to both on every server.
    urls: dict[str, dict[str, str]] = {f"http://127.0.0.1:{p}/version": {} for p in ports.values()}
    urls |= {f"http://127.0.0.1:{p}/": {"Host": TWO_HOST} for p in ports.values()}
    with Load(list(urls), headers={u: h for u, h in urls.items() if h}) as traffic:
        time.sleep(0.5)
        with ThreadPoolExecutor(2) as pool:
            rolls = list(pool.map(lambda where: run(where, "deploy", "v2", "-e", "lab"), [one, two]))
        time.sleep(0.5)
    assert [r.returncode for r in rolls] == [0, 0], [r.stderr for r in rolls]
    assert traffic.failed == 0, traffic.errors[:10]
    assert traffic.ok > 100
    assert all(any("v2" in body for body in seen) for seen in traffic.seen.values()), traffic.seen

    # A third app claiming the second's host name is refused, naming it, before anything changes.
    three = project(tmp_path / "three", THREE, [TWO_HOST], "three")
    refused = run(three, "deploy", "v1", "-e", "lab")
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())  # as one line, however the terminal wrapped it
    assert f"host {TWO_HOST} path / on port 80 is already served by app {TWO} (lab)" in said, refused.stderr
    assert set(on_every_host("docker", "ps", "-aq", "--filter", f"label=opsctl.app={THREE}").values()) == {""}
    # ... and so is a second default server.
    default = run(project(tmp_path / "four", THREE, [], "three"), "deploy", "v1", "-e", "lab")
    assert default.returncode == 1
    assert "the default server on port 80 is already served by app hello (lab)" in " ".join(default.stderr.split())
    assert run(three, "lock", "status", "-e", "lab").stdout.strip() == "unlocked"

    tls_for_the_second_app(two, ports)

    # remove takes the second app off; the first keeps serving, its containers and the ingress untouched.
    before = containers("hello")
    ingress = on_every_host("docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", "opsctl-ingress")
    assert run(two, "remove", "-e", "lab").returncode == 2  # CI and no terminal: --yes is required
    with Load([f"http://127.0.0.1:{p}/version" for p in ports.values()]) as traffic:
        time.sleep(0.3)
        removed = run(two, "remove", "-e", "lab", "--yes")
        time.sleep(0.3)
    assert removed.returncode == 0, removed.stderr
    assert traffic.failed == 0 and traffic.ok > 20, traffic.errors[:10]
    assert containers(TWO) == {h: [] for h in hosts()}
    assert containers("hello") == before
    assert on_every_host("docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", "opsctl-ingress") == ingress
    gone = on_every_host("ls", "/var/lib/opsctl/", "/var/lib/opsctl/_ingress/apps")
    assert all(TWO not in listing and "hello" in listing for listing in gone.values()), gone
    networks = on_every_host("docker", "network", "ls", "--format", "{{.Name}}")
    assert all(f"opsctl-{TWO}-lab" not in n.split() for n in networks.values())
    for port in ports.values():
        assert greet(port, TWO_HOST) == "one"  # its host name now falls to the default server
    assert run(one, "status", "-e", "lab").returncode == 0


def own_proxy(host: str) -> None:
    """Put back the proxy an app ran before the shared ingress: `hello-lab-proxy` on port 80, on
    the app's network, with the old layout's nginx.conf and upstream (templates/proxy/*.j2)."""
    from opsctl.deploy.rollout import _render

    web = ssh(host, "docker", "ps", "--format", "{{.Names}}", "--filter", "label=opsctl.app=hello",
              "--filter", "label=opsctl.service=web").split()
    conf_dir = "/var/lib/opsctl/hello/lab/proxy"
    files = {
        f"{conf_dir}/nginx.conf": _render("proxy/nginx.conf.j2", opsctl_app="hello", opsctl_env="lab"),
        f"{conf_dir}/services/web.conf": _render("proxy/service.conf.j2", upstream="hello_lab_web",
                                                 servers=[f"{n}:8000" for n in sorted(web)], listen=80),
    }
    for path, text in files.items():
        ssh(host, "python3", "-c", "import os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
            "open(sys.argv[1], 'w').write(sys.argv[2])", path, text)
    ssh(host, "docker", "rm", "-f", "opsctl-ingress")
    ssh(host, "docker", "run", "-d", "--name", "hello-lab-proxy", "--network", "opsctl-hello-lab",
        "--restart", "unless-stopped", "--label", "opsctl.app=hello", "--label", "opsctl.env=lab",
        "--label", "opsctl.role=proxy", "-v", f"{conf_dir}:/etc/nginx/opsctl:ro", "-p", "80:80", PROXY_IMAGE,
        "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-g", "daemon off;")


def self_signed(name: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key


def tls_for_the_second_app(two: Path, ports: dict[str, int]) -> None:
    """The certificate from a file, the key from a secret (base64): the deploy's own check on every
    server goes through HTTPS with SNI; plain HTTP answers with the redirect; the key is 0600 on the
    servers and in nothing opsctl or Ansible kept on this machine."""
    cert, key = self_signed(TWO_HOST)
    (two / "cert.pem").write_text(cert)
    config = yaml.safe_load((two / "opsctl.yml").read_text())
    config["services"]["web"]["tls"] = {"certificate": "cert.pem", "key_secret": "TWO_TLS_KEY"}
    (two / "opsctl.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    began = time.time()
    deployed = opsctl("deploy", "v2", "-e", "lab", cwd=two,
                      env={**ENV, "TWO_TLS_KEY": base64.b64encode(key.encode()).decode()})
    assert deployed.returncode == 0, deployed.stderr
    body = key.splitlines()[1]  # a line of the key itself
    assert body not in deployed.stdout + deployed.stderr
    for path in (state_home() / "runs").rglob("*"):
        if path.is_file() and path.stat().st_mtime >= began - 1:
            assert body not in path.read_text(errors="replace"), path
    modes = on_every_host("stat", "-c", "%a", f"/var/lib/opsctl/_ingress/apps/{TWO}.lab/web.key")
    assert set(modes.values()) == {"600"}
    for port in ports.values():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/version", headers={"Host": TWO_HOST})
        answer = conn.getresponse()
        assert (answer.status, answer.getheader("Location")) == (301, f"https://{TWO_HOST}/version")
        conn.close()
        assert greet(port) == "one"  # the default server is still the first app
