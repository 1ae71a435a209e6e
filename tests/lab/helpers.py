"""Helpers for lab tests: run the real CLI, reach the lab's servers over real SSH, send real traffic."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.paths import lab_dir
from tests.webhook_receiver import Receiver

if TYPE_CHECKING:
    from opsctl.lab.state import LabState

ROOT = Path(__file__).resolve().parents[2]
HELLO = ROOT / "examples" / "hello"


def opsctl(*args: str, cwd: Path = HELLO, env: dict[str, str] | None = None,
           check: bool = False, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "opsctl", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"opsctl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def hosts() -> dict[str, dict[str, Any]]:
    import yaml

    inventory = yaml.safe_load((lab_dir() / "inventory.yml").read_text())
    found: dict[str, dict[str, Any]] = {}
    for group in inventory.values():
        found.update(group.get("hosts") or {})
        for child in (group.get("children") or {}).values():
            found.update((child or {}).get("hosts") or {})
    return dict(sorted(found.items()))


def ssh(host: str, *command: str, check: bool = True) -> str:
    from opsctl.lab.probes import ssh_argv

    vars_ = hosts()[host]
    key, port = Path(vars_["ansible_ssh_private_key_file"]), int(vars_["ansible_port"])
    # ssh hands the remote shell one line: quote each argument so it arrives as given.
    argv = ssh_argv(key, port, "--", shlex.join(command), connect_timeout=10)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"ssh {host} {command}: {proc.stderr}")
    return proc.stdout


def release_containers() -> list[str]:
    """Names of the example's release-step containers on every server (running or not)."""
    found = []
    for host in hosts():
        found += ssh(host, "docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "name=hello-lab-release").split()
    return found


def http_ports() -> dict[str, int]:
    return {name: int(v["opsctl_http_port"]) for name, v in hosts().items()}


def get(url: str, timeout: float = 2.0, headers: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def versions() -> dict[str, str]:
    return {h: get(f"http://127.0.0.1:{p}/version")[1].strip() for h, p in http_ports().items()}


def docker(*args: str) -> str:
    """`docker` on this machine (the lab's servers are its containers); a failure shows docker's words."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def reset_fleet(app: str = "hello") -> None:
    """Remove every trace of an app from the lab's servers (containers, state, ledger, lock, its
    routes on the shared ingress): one SSH connection per server, all servers at once (most lab
    tests start with this)."""
    script = (f"ids=$(docker ps -aq --filter label=opsctl.app={app}) && "
              f"{{ [ -z \"$ids\" ] || docker rm -f $ids >/dev/null; }} && rm -rf /var/lib/opsctl/{app} && "
              # its routes on the shared ingress (docs/ingress.md), one directory per environment
              f"{{ find /var/lib/opsctl/_ingress/apps -maxdepth 1 -name '{app}.*' -exec rm -rf {{}} + "
              "2>/dev/null || true; }")
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda host: ssh(host, "sh", "-c", script), hosts()))


def remove_ingress() -> None:
    """Remove the shared ingress and its files from every lab server (lab tests that deploy with
    the app's own proxy want port 80 free)."""
    script = "docker rm -f opsctl-ingress >/dev/null 2>&1; rm -rf /var/lib/opsctl/_ingress"
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda host: ssh(host, "sh", "-c", script), hosts()))


@dataclass
class Load:
    """Continuous GETs against every server's ingress, bounded in time and count."""

    urls: list[str]
    max_seconds: float = 180.0
    max_requests: int = 200_000
    # A short pause per request keeps the client from starving a 2-core machine: the deploy it
    # watches must not be slowed down by the watching (still ~100 requests/s per server).
    pause: float = 0.01
    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # url -> headers (e.g. Host)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._loop, args=(u,), daemon=True) for u in self.urls]

    def _loop(self, url: str) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            with self._lock:
                if self.ok + self.failed >= self.max_requests:
                    return
            try:
                status, body = get(url, timeout=5, headers=self.headers.get(url))
            except (urllib.error.URLError, OSError) as exc:
                status, body = 0, str(exc)
            with self._lock:
                if status == 200:
                    self.ok += 1
                    self.seen.setdefault(url, set()).add(body.strip())
                else:
                    self.failed += 1
                    self.errors.append(f"{url}: {status} {body[:200]}")
            time.sleep(self.pause)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


def releases() -> list[dict[str, Any]]:
    proc = opsctl("releases", "-e", "lab", "--json", check=True)
    return list(json.loads(proc.stdout)["releases"])


def status() -> dict[str, Any]:
    proc = opsctl("status", "-e", "lab", "--json", check=True)
    return dict(json.loads(proc.stdout))


def wait_until_locked(env: dict[str, str], deadline: float = 90) -> None:
    """Until `opsctl lock status` on the lab says the deploy lock is held (a deploy has started)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if '"locked": true' in opsctl("lock", "status", "-e", "lab", "--json", env=env).stdout:
            return
        time.sleep(0.2)
    raise AssertionError("the deploy never took the lock")


class Baseline:
    """A version deployed on a freshly reset fleet, shared by one module's tests while it stands.

    `ensure()` deploys it (after a reset) unless the fleet has been this module's since its last
    reset and still shows exactly that: the version on every host, healthy and running, no lock
    held, no host behind or unreachable. Tests that only need "VERSION is deployed everywhere" then
    skip a whole deploy when the test before them left the fleet so.
    """

    def __init__(self, version: str, env: dict[str, str]) -> None:
        self.version = version
        self.env = env
        self.owned = False  # the fleet has been reset by this module (nobody else's deploy is on it)

    def reset(self) -> None:
        reset_fleet()
        self.owned = True

    def standing(self) -> bool:
        if not self.owned or set(versions().values()) != {self.version}:
            return False
        with ThreadPoolExecutor() as pool:  # the lock and the fleet's status, read side by side
            lock, shown = pool.map(lambda words: opsctl(*words, "-e", "lab", "--json", env=self.env),
                                   [("lock", "status"), ("status",)])
        if lock.returncode != 0 or json.loads(lock.stdout)["locked"] or shown.returncode != 0:
            return False
        data = json.loads(shown.stdout)
        lights = {c["light"] for containers in data["hosts"].values() for c in containers}
        return (data["summary"]["ok"] and not data["behind"] and not data["unreachable"]
                and lights <= {"healthy", "running"}
                and data["summary"]["text"].endswith(f" {self.version} everywhere"))

    def ensure(self) -> None:
        if self.standing():
            return
        self.reset()
        opsctl("deploy", self.version, "-e", "lab", env=self.env, check=True)


# A health check that never passes: `opsctl build vbad --build-arg HELLO_FAIL_HEALTH=1`.
FAIL_HEALTH = ("HELLO_FAIL_HEALTH=1",)
_CONTEXT = ("Dockerfile", ".dockerignore", "hello.py")


def _base_image_id() -> str:
    from opsctl.lab.names import BASE_IMAGE

    found = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", BASE_IMAGE],
                           capture_output=True, text=True, timeout=60, check=False)
    return found.stdout.strip()


@dataclass
class HelloImages:
    """The example app's images in the lab's registry, built at most once per session and content.

    Most lab modules need the same ones (v1, v2, a vbad whose health check never passes); each
    used to build them again. need() builds a version only when this session has not built it yet
    from the same content (Dockerfile, context, build args, base image), or when the registry no
    longer holds the digest that build pushed (another test pushed the same tag, or `lab down`
    emptied the registry).
    """

    lab: LabState
    built: dict[str, tuple[str, str]] = field(default_factory=dict)  # version -> (content key, digest)

    def _key(self, version: str, build_args: tuple[str, ...]) -> str:
        digest = hashlib.sha256()
        for name in _CONTEXT:
            digest.update(name.encode() + b"\0" + (HELLO / name).read_bytes() + b"\0")
        digest.update(json.dumps([version, list(build_args), _base_image_id()]).encode())
        return digest.hexdigest()

    def _in_registry(self, version: str) -> str | None:
        from opsctl.lab import probes
        from opsctl.lab.names import REGISTRY_USER
        from opsctl.lab.state import PASSWORD_VAR, parse_secrets

        password = parse_secrets(self.lab.secrets_env_path.read_text())[PASSWORD_VAR]
        return probes.registry_digest(f"{self.lab.registry}/hello:{version}", (REGISTRY_USER, password))

    def need(self, *versions: str, build_args: tuple[str, ...] = ()) -> None:
        for version in versions:
            key = self._key(version, build_args)
            known = self.built.get(version)
            if known and known[0] == key and self._in_registry(version) == known[1]:
                continue
            args = [arg for pair in build_args for arg in ("--build-arg", pair)]
            proc = opsctl("build", version, "--allow-dirty", "--json", *args, check=True)
            self.built[version] = (key, json.loads(proc.stdout)["digest"])


def standby_copy(root: Path) -> Path:
    """A copy of examples/hello in `root` whose lab environment has `rollout.standby: true`."""
    copy = root / "hello"
    shutil.copytree(HELLO, copy)
    config = copy / "opsctl.yml"
    text = config.read_text()
    if "failure_action: rollback}" not in text:
        raise AssertionError("examples/hello's lab rollout line changed: update standby_copy")
    config.write_text(text.replace("failure_action: rollback}", "failure_action: rollback, standby: true}", 1))
    return copy


@contextmanager
def notified_copy(root: Path, address: str = "127.0.0.1") -> Iterator[tuple[Path, Receiver]]:
    """A copy of examples/hello in `root` whose failures are sent to a webhook receiver listening
    on `address` (127.0.0.1, or this machine's address on the lab's network for the servers)."""
    with Receiver(address) as receiver:
        copy = root / "hello"
        shutil.copytree(HELLO, copy)
        with (copy / "opsctl.yml").open("a") as config:
            config.write(f"notify:\n  - url: {receiver.base}/hook\n    events: [failure]\n")
        yield copy, receiver
