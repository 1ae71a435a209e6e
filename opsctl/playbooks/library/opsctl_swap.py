#!/usr/bin/python3
"""Ansible module: replace one host's containers of an app with those of a new release.

Facts, plan, execute: the module reads the host's facts (containers and their labels, image,
network, proxy, upstream files), `plan_swap` (module_utils/opsctl_swap_plan.py, pure and
fixture-tested) turns facts and arguments into ordered steps, and the executor here runs them.
Every docker call is an argument list; no shell is involved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_engine import Engine, EngineError, engine_docker, listed
from ansible.module_utils.opsctl_host import http_ok, switch_files
from ansible.module_utils.opsctl_ingress import IngressError, ingress_facts
from ansible.module_utils.opsctl_ingress_host import Ingress, verify_route
from ansible.module_utils.opsctl_retire import retire_detached
from ansible.module_utils.opsctl_swap_plan import (
    FINGERPRINT_LABEL,
    PlanError,
    Step,
    changes,
    fingerprint,
    plan_discard,
    plan_prestart,
    plan_swap,
    revert_steps,
)

DOCUMENTATION = r"""
module: opsctl_swap
short_description: Replace one host's containers of an app with those of a new release
description:
  - Starts the new containers next to the old ones, waits until they are healthy (HTTP) or stayed
    up through the monitor window, switches the host's proxy with a graceful reload, and retires
    the old containers after the drain (detached; opsctl_state await_retire waits for them).
  - Singletons are stopped before their replacement starts. A failure before the switch removes
    the new containers and leaves the host as it was.
  - "With phase=prestart (a roll of several batches, before its first batch): only the new HTTP
    containers start and pass their health checks; they take no traffic until the host's own swap
    adopts them. With phase=discard (after a roll that stopped before this host's turn): the
    containers under the given new names are removed, nothing else."
  - In check mode nothing runs; the planned steps are returned.
options:
  phase: {type: str, default: swap, choices: [swap, prestart, discard], description: What to do (see above).}
  app: {type: str, required: true, description: The app (container label).}
  env: {type: str, required: true, description: The environment (container label).}
  release: {type: int, required: true, description: The release number (container label).}
  version: {type: str, required: true, description: The version (container label).}
  image: {type: str, required: true, description: Image reference the containers run.}
  network: {type: str, required: true, description: The app's Docker network.}
  env_file: {type: str, description: The release's env file on the host.}
  extra_env: {type: dict, description: OPSCTL_* variables for every container.}
  services: {type: list, elements: dict, required: true, description: One spec per service (opsctl/deploy/plan.py service_specs).}
  proxy: {type: dict, description: "The host proxy: kind ingress (the shared one: name, image, dir, ports,
    bind, legacy, nginx_conf) or app (the app's own: name, image, conf_dir, ports, bind); null without one."}
  monitor: {type: float, description: Seconds a non-HTTP container must stay up.}
  drain: {type: float, description: Seconds old HTTP containers keep serving after the switch.}
  pull_missing: {type: bool, description: Pull the image when the host lacks it.}
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  run_id: {type: str, required: true, description: This rollout run (names the retire job).}
  label_prefix: {type: str, description: Prefix of opsctl's container labels.}
  standby: {type: bool, description: "Pause the replaced HTTP containers instead of removing them, and
    resume a paused one started exactly as a new one would be instead of starting it (rollout.standby)."}
"""

RETURN = r"""
steps: {description: "The planned steps, in order (in check mode: what would run).", type: list, returned: success}
timeline: {description: Seconds since start and what happened (for Ansible's artifacts)., type: list, returned: always}
timings: {description: "Seconds spent reading facts, starting, waiting for health, switching.", type: dict, returned: always}
"""


# The first health poll comes this soon after a start; later ones back off to the configured interval.
FIRST_POLL = 0.05


T = TypeVar("T")


class SwapError(Exception):
    pass


def _labels(text: str) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {k: v for k, v in pairs}


class Docker:
    """The host's Docker: reads, stops, removals, pauses and renames over the engine's socket when
    it is the local one (module_utils/opsctl_engine.py), through the CLI otherwise; starts and exec
    always through the CLI."""

    def __init__(self, module: AnsibleModule):
        self.module = module
        self.engine = Engine.open()
        # `docker ARGS...` -> exit code, by the engine for what it can answer.
        self.call = engine_docker(self.engine, lambda args: self.run(*args, check=False)[0])

    def run(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        rc, out, err = self.module.run_command(["docker", *args])
        if check and rc != 0:
            raise SwapError(f"docker {args[0]} failed: {(err or out).strip()[-2000:]}")
        return rc, out.strip(), err.strip()

    def _read(self, by_engine: Callable[[Engine], T], by_cli: Callable[[], T]) -> T:
        if self.engine is not None:
            with contextlib.suppress(EngineError):  # the CLI says what is wrong, if anything
                return by_engine(self.engine)
        return by_cli()

    def inspect(self, name: str) -> dict[str, Any] | None:
        def by_cli() -> dict[str, Any] | None:
            rc, out, _ = self.run("inspect", name, check=False)
            return dict(json.loads(out)[0]) if rc == 0 else None
        return self._read(lambda engine: engine.inspect(name), by_cli)

    def containers(self) -> list[dict[str, Any]]:
        """Every container: {"name", "running", "paused", "labels"}."""
        def by_cli() -> list[dict[str, Any]]:
            rows = [json.loads(line) for line in self.run("ps", "-a", "--no-trunc", "--format", "{{json .}}")[1].splitlines()
                    if line.strip()]
            return [{"name": r["Names"], "running": r.get("State") == "running", "paused": r.get("State") == "paused",
                     "labels": _labels(r.get("Labels", ""))} for r in rows]
        return self._read(lambda engine: [listed(entry) for entry in engine.containers()], by_cli)

    def image_id(self, ref: str) -> str | None:
        def by_cli() -> str | None:
            rc, out, _ = self.run("image", "inspect", "--format", "{{.Id}}", ref, check=False)
            return (out or None) if rc == 0 else None
        return self._read(lambda engine: engine.image_id(ref), by_cli)

    def has_network(self, name: str) -> bool:
        return self._read(lambda engine: engine.has_network(name),
                          lambda: self.run("network", "inspect", name, check=False)[0] == 0)

    def remove(self, name: str, stop_timeout: float | None = None) -> None:
        """Stop (SIGTERM, then `stop_timeout`) and remove; without a timeout, remove at once. Best
        effort, like `docker rm -f`: what is left shows in the host's next facts."""
        if stop_timeout is not None:
            self.call(["stop", "-t", str(int(stop_timeout)), name])
        self.call(["rm", "-f", name])


def read_facts(docker: Docker, p: dict[str, Any]) -> dict[str, Any]:
    """What the planner needs to know about this host, read from Docker and the file system.

    The reads are independent, so they run at once (through the CLI each costs a client start-up)."""
    calls: dict[str, Callable[[], Any]] = {
        "containers": docker.containers,
        "image": lambda: docker.image_id(p["image"]),
        "network": lambda: docker.has_network(p["network"]),
        "proxy": lambda: docker.inspect(p["proxy"]["name"]) if p["proxy"] else None,
        "legacy": lambda: docker.inspect(p["proxy"]["legacy"]) if p["proxy"] and p["proxy"].get("legacy") else None,
    }
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        found = {name: future.result() for name, future in futures.items()}
    proxy = None
    if p["proxy"] and p["proxy"].get("kind") == "ingress":
        proxy = ingress_facts(found["proxy"], found["legacy"])
    elif p["proxy"]:
        info = found["proxy"]
        proxy = {"present": info is not None, "running": bool(info and info["State"]["Running"])}
    files = [s["upstream_file"] for s in p["services"] if s.get("upstream_file") and os.path.exists(s["upstream_file"])]
    return {"containers": found["containers"], "image_present": found["image"] is not None, "image_id": found["image"],
            "network_present": found["network"], "proxy": proxy, "upstream_files": files}


def container_ip(info: dict[str, Any], network: str) -> str | None:
    networks = info.get("NetworkSettings", {}).get("Networks", {})
    if network in networks:
        return str(networks[network].get("IPAddress") or "") or None
    return next((str(n["IPAddress"]) for n in networks.values() if n.get("IPAddress")), None)


class Executor:
    """Runs planned steps; consecutive `start` (and `check`) steps run in parallel."""

    def __init__(self, module: AnsibleModule, docker: Docker):
        self.module, self.docker, self.p = module, docker, module.params
        self.services = {s["name"]: s for s in self.p["services"]}
        self.events: list[str] = []
        self.t0 = time.monotonic()
        self.timings: dict[str, float] = {}  # seconds per kind of step (RETURN: timings)
        self.image_id: str | None = None  # the release image's ID once it is on the host
        self.resumed: dict[str, Step] = {}  # name -> its resume step, while it has not passed its check
        self._marks: tuple[str, dict[str, str]] | None = None  # (image ID, fingerprints), see fingerprints()

    def fingerprints(self) -> dict[str, str]:
        """service -> the fingerprint its new containers carry (opsctl_swap_plan.fingerprint).
        Worked out once per image ID (a pull sets it), not once per started container."""
        if self.image_id is None:
            return {}
        if self._marks is None or self._marks[0] != self.image_id:
            digest = None
            if self.p["env_file"]:
                with contextlib.suppress(OSError):
                    with open(self.p["env_file"], "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
            self._marks = (self.image_id, {
                s["name"]: fingerprint(s, self.image_id, digest, self.p["network"], self.p["extra_env"] or {})
                for s in self.p["services"]})
        return self._marks[1]

    def log(self, message: str) -> None:
        self.events.append(f"{time.monotonic() - self.t0:.2f}s {message}")

    def run(self, steps: list[Step]) -> None:
        done: list[Step] = []
        switched = False
        try:
            index = 0
            while index < len(steps):
                group, kind = [steps[index]], PARALLEL.get(steps[index]["op"])
                while kind and index + len(group) < len(steps) and PARALLEL.get(steps[index + len(group)]["op"]) == kind:
                    group.append(steps[index + len(group)])
                self._run_group(group, done)
                switched = switched or group[0]["op"] == "switch"
                index += len(group)
        except SwapError:
            if not switched:
                for step in revert_steps(done):
                    self.docker.remove(step["name"])
            raise

    def _run_group(self, group: list[Step], done: list[Step]) -> None:
        op = group[0]["op"]
        began = time.monotonic()
        try:
            if len(group) == 1:
                done.append(group[0])
                self._handler(group[0])(group[0])
                return
            done.extend(group)
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                for future in [pool.submit(self._handler(step), step) for step in group]:
                    future.result()
            self.log("{} {}".format("/".join(sorted({s["op"] for s in group})), ", ".join(s["name"] for s in group)))
        finally:
            kind = STEP_TIMINGS.get(op)
            if kind:
                self.timings[kind] = round(self.timings.get(kind, 0.0) + time.monotonic() - began, 3)

    def _handler(self, step: Step) -> Callable[[Step], None]:
        handler: Callable[[Step], None] = getattr(self, "op_" + step["op"])
        return handler

    def op_adopt(self, step: Step) -> None:
        self.log("adopted {} (started ahead)".format(step["name"]))

    def op_pull(self, step: Step) -> None:
        self.docker.run("pull", "--quiet", step["image"])
        self.image_id = self.docker.image_id(step["image"])

    def op_create_network(self, step: Step) -> None:
        prefix = self.p["label_prefix"]
        self.docker.run("network", "create", "--label", "{}.app={}".format(prefix, self.p["app"]), step["network"])

    def op_remove(self, step: Step) -> None:
        # stop first so the app gets SIGTERM and its stop_timeout; rm -f alone would SIGKILL.
        self.docker.remove(step["name"], step["stop_timeout"])

    def op_start(self, step: Step) -> None:
        service, p = self.services[step["service"]], self.p
        labels = {"app": p["app"], "env": p["env"], "service": step["service"], "release": str(p["release"]),
                  "version": p["version"], "replica": str(step["replica"])}
        if step["service"] in (marks := self.fingerprints()):
            labels[FINGERPRINT_LABEL] = marks[step["service"]]
        args = ["run", "-d", "--name", step["name"], "--network", p["network"],
                "--restart", "unless-stopped", "--log-opt", "max-size=10m", "--log-opt", "max-file=3"]
        for key, value in sorted(labels.items()):
            args += ["--label", "{}.{}={}".format(p["label_prefix"], key, value)]
        if p["env_file"]:
            args += ["--env-file", p["env_file"]]
        extra = dict(p["extra_env"] or {}, OPSCTL_SERVICE=step["service"], OPSCTL_REPLICA=str(step["replica"]))
        if service.get("port"):
            extra["PORT"] = str(service["port"])
        for key, value in sorted(extra.items()):
            args += ["-e", f"{key}={value}"]
        self.docker.run(*args, p["image"], *(service.get("command") or []))

    def op_resume(self, step: Step) -> None:
        """Put a paused standby back under the new name, with its restart policy, running. One
        that cannot be is replaced by a fresh start: a rollback must not depend on a standby."""
        call, standby = self.docker.call, step["standby"]
        if call(["rename", standby, step["name"]]) == 0 and call(["update", "--restart", "unless-stopped", step["name"]]) == 0 \
                and call(["unpause", step["name"]]) == 0:
            self.resumed[step["name"]] = step
            self.log("resumed {} as {}".format(standby, step["name"]))
            return
        self.log("could not resume {}: starting {} afresh".format(standby, step["name"]))
        self.docker.remove(standby)
        self.docker.remove(step["name"])
        self.op_start(step)

    def op_check(self, step: Step) -> None:
        try:
            self._check(step)
        except SwapError as exc:
            resumed = self.resumed.pop(step["name"], None)
            if resumed is None:
                raise
            # A standby may have lost what it held while paused (a connection, a lease): a fresh
            # container of the same release gets the same chance as any other start.
            self.log("resumed {} failed its check ({}): starting it afresh".format(step["name"], str(exc)[:200]))
            self.docker.remove(step["name"])
            self.op_start(resumed)
            self._check(step)

    def _check(self, step: Step) -> None:
        if step["kind"] == "http":
            self._wait_healthy(self.services[step["service"]], step["name"])
        else:
            self._wait_stays_up(step["name"])

    def _wait_healthy(self, service: dict[str, Any], name: str) -> None:
        """Poll the new container's health path until it answers, for as long as `retries` checks
        `interval` apart would take. Polls start fast (a container is often up within a fraction of
        a second) and back off to the configured interval."""
        health, ip = service["health"], None
        tries, interval = int(health["retries"]), float(health["interval"])
        deadline = time.monotonic() + tries * interval
        pause = min(FIRST_POLL, interval)
        while True:
            info = self.docker.inspect(name)
            if info is None or not info["State"]["Running"]:
                raise SwapError(f"{name} exited before it became healthy{self.tail(name)}")
            ip = ip or container_ip(info, self.p["network"])
            if ip and http_ok(f"http://{ip}:{service['port']}{health['path']}", health["timeout"]):
                return
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 1.5, interval)
        raise SwapError(f"{name} did not pass its health check {health['path']} within "
                        f"{tries * interval:.1f}s ({tries} checks {interval:g}s apart){self.tail(name)}")

    def _wait_stays_up(self, name: str) -> None:
        deadline = time.monotonic() + self.p["monitor"]
        while True:
            info = self.docker.inspect(name)
            if info is None or not info["State"]["Running"] or info.get("RestartCount", 0) > 0:
                raise SwapError("{} did not stay up through the {:.1f}s monitor window{}".format(name, self.p["monitor"], self.tail(name)))
            if time.monotonic() >= deadline:
                return
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def tail(self, name: str) -> str:
        _, out, err = self.docker.run("logs", "--tail", "15", name, check=False)
        text = (out + "\n" + err).strip()
        return (":\n" + text[-1500:]) if text else ""

    @property
    def ingress(self) -> Ingress | None:
        if self.p["proxy"] and self.p["proxy"].get("kind") == "ingress":
            return Ingress(lambda args: self.docker.run(*args, check=False), self.p["proxy"])
        return None

    def op_connect_proxy(self, step: Step) -> None:
        assert self.ingress is not None
        with _as_swap_error():
            self.ingress.connect(step["network"])

    def op_start_proxy(self, step: Step) -> None:
        proxy, p = self.p["proxy"], self.p
        if self.ingress:
            with _as_swap_error():
                self.ingress.start(step["ports"], step["networks"], step["replace"], step["legacy"])
            self.log("started the ingress {}".format(proxy["name"]))
            return
        if step["replace"]:
            self.docker.run("rm", "-f", proxy["name"])
        args = ["run", "-d", "--name", proxy["name"], "--network", p["network"], "--restart", "unless-stopped"]
        for key, value in (("app", p["app"]), ("env", p["env"]), ("role", "proxy")):
            args += ["--label", "{}.{}={}".format(p["label_prefix"], key, value)]
        args += ["-v", "{}:/etc/nginx/opsctl:ro".format(proxy["conf_dir"])]
        bind = "{}:".format(proxy["bind"]) if proxy.get("bind") else ""  # opsctl dev: 127.0.0.1
        for port in proxy["ports"]:
            args += ["-p", f"{bind}{int(port)}:{int(port)}"]
        self.docker.run(*args, proxy["image"], "nginx", "-c", "/etc/nginx/opsctl/nginx.conf", "-g", "daemon off;")
        self.log("started proxy {}".format(proxy["name"]))

    def op_reload_proxy(self, step: Step | None = None) -> None:
        if self.ingress:
            with _as_swap_error():
                self.ingress.reload()
            return
        name, conf = self.p["proxy"]["name"], "/etc/nginx/opsctl/nginx.conf"
        rc, out, err = self.docker.run("exec", name, "nginx", "-t", "-q", "-c", conf, check=False)
        if rc != 0:
            raise SwapError(f"proxy config test failed: {(err or out)[-1500:]}")
        self.docker.run("exec", name, "nginx", "-c", conf, "-s", "reload")

    def op_switch(self, step: Step) -> None:
        services = [self.services[n] for n in step["services"]]
        if self.ingress:
            with _as_swap_error():
                self.ingress.switch(services, lambda s: verify_route(s, int(s["ingress_port"])))
            self.log("ingress switched")
            return

        def verify_all() -> None:
            for s in services:
                self._verify_through_proxy(s)

        switch_files({s["upstream_file"]: s["upstream_conf"] for s in services}, self.op_reload_proxy, verify_all,
                     SwapError)
        self.log("proxy switched")

    def _verify_through_proxy(self, service: dict[str, Any]) -> None:
        url = f"http://127.0.0.1:{service['ingress_port']}{service['health']['path']}"
        for _ in range(20):
            if http_ok(url, 2):
                return
            time.sleep(0.1)
        raise SwapError(f"the proxy does not answer {url} after the switch")

    def op_drop_upstream(self, step: Step) -> None:
        os.unlink(step["path"])

    def op_retire(self, step: Step) -> None:
        retire_detached(engine_docker(self.docker.engine, _plain_docker), step["containers"], step["drain"],
                        self.p["state_dir"], self.p["run_id"])
        self.log("retiring {} after a {:.1f}s drain".format(", ".join(str(c[0]) for c in step["containers"]), step["drain"]))


@contextlib.contextmanager
def _as_swap_error() -> Iterator[None]:
    try:
        yield
    except (IngressError, OSError) as exc:
        raise SwapError(str(exc)) from None


# Which steps' time the module reports, under which name (opsctl/deploy/timings.py reads them).
STEP_TIMINGS = {"start": "start", "resume": "start", "check": "healthy", "switch": "switch", "start_proxy": "start"}

# Consecutive steps of one kind run at once: starts and resumptions (independent containers), checks.
PARALLEL = {"start": "start", "resume": "start", "check": "check"}


def _plain_docker(args: Sequence[str]) -> int:
    # The detached retire job outlives the module, so it cannot use AnsibleModule.run_command.
    return subprocess.run(["docker", *args], capture_output=True, check=False).returncode  # noqa: S603 - argv, no shell


PLANNERS = {"swap": plan_swap, "prestart": plan_prestart, "discard": plan_discard}

ARGUMENTS: dict[str, Any] = dict(
    phase=dict(type="str", default="swap", choices=list(PLANNERS)),
    app=dict(type="str", required=True),
    env=dict(type="str", required=True),
    release=dict(type="int", required=True),
    version=dict(type="str", required=True),
    image=dict(type="str", required=True),
    network=dict(type="str", required=True),
    env_file=dict(type="str", default=None),
    extra_env=dict(type="dict", default={}),
    services=dict(type="list", elements="dict", required=True),
    proxy=dict(type="dict", default=None),
    monitor=dict(type="float", default=2.0),
    drain=dict(type="float", default=1.0),
    pull_missing=dict(type="bool", default=True),
    state_dir=dict(type="str", required=True),
    run_id=dict(type="str", required=True),
    label_prefix=dict(type="str", default="opsctl"),
    standby=dict(type="bool", default=False),
)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENTS, supports_check_mode=True)
    docker = Docker(module)
    executor = Executor(module, docker)
    try:
        facts = read_facts(docker, module.params)
        executor.image_id = facts["image_id"]
        facts["fingerprints"] = executor.fingerprints()
        executor.timings["facts"] = round(time.monotonic() - executor.t0, 3)
        steps = PLANNERS[module.params["phase"]](facts, module.params)
        if module.check_mode:
            module.exit_json(changed=changes(steps), steps=steps, timeline=[], timings=executor.timings)
        executor.run(steps)
    except (SwapError, PlanError) as exc:
        module.fail_json(msg=str(exc), timeline=executor.events, timings=executor.timings)
    module.exit_json(changed=changes(steps), steps=steps, timeline=executor.events, timings=executor.timings)


if __name__ == "__main__":
    main()
