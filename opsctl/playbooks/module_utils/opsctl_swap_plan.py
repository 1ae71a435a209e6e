"""The host-side swap, planned: host facts and the desired release in, an ordered list of steps out.

Pure: no I/O, no clock. The opsctl_swap module reads the facts, calls `plan_swap`, and runs the
steps in order (consecutive `start` and `resume` steps, and consecutive `check` steps, run in
parallel). If a step fails before the proxy switch, `revert_steps` says how to leave the host
exactly as it was. Table-driven tests feed fixture facts in and compare the steps out
(tests/unit/swap_cases/*.json).

Facts:
    containers      every container on the host: {"name", "running", "paused", "labels": {...}}
    fingerprints    service -> what its containers would be started with (`fingerprint`); only
                    when the image is on the host
    image_present   the release's image is on the host
    network_present the app's network exists
    proxy           {"present", "running"} of the host's proxy container (absent: null); for the
                    shared ingress also "networks" and "ports" it has, and "legacy": the app's own
                    proxy from before the shared ingress still exists (opsctl_ingress.ingress_facts)
    upstream_files  which of the services' upstream files exist

Spec (the module's arguments): app, env, image, network, services, proxy, drain, pull_missing,
label_prefix. Steps are dicts with an "op" key; see `OPS`.

A roll of several batches starts every later host's new HTTP containers ahead of its turn
(`plan_prestart`): they take no traffic until their host's own swap, which finds them running under
the names it was given and adopts them instead of starting them again. Workers and singletons start
only in their host's own swap, so a batch still decides where the new release does work.

Standby (spec "standby", opt-in): the replaced release's HTTP containers are paused after the drain
instead of removed, one set per service. A later swap whose containers would be started exactly as
a paused one was (same fingerprint: image, env file content, command, port, environment) resumes it
under the new name instead of starting a container; every other paused one is removed then.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

Step = dict[str, Any]
Facts = dict[str, Any]
Spec = dict[str, Any]

# Every op the executor knows, and whether it changes the host.
OPS = {
    "pull": True,  # image
    "create_network": True,  # network
    "remove": True,  # name, stop_timeout: stop (SIGTERM, then the timeout) and remove now
    "start": True,  # service, replica, name
    "adopt": False,  # service, replica, name: already running under its new name (started ahead)
    "resume": True,  # service, replica, name, standby: rename the paused standby to name and unpause it
    "check": False,  # name, service, kind: http | stays_up
    "start_proxy": True,  # replace: a dead proxy container is removed first; ingress: ports, networks, legacy
    "connect_proxy": True,  # network: the shared ingress joins the app's network
    "switch": True,  # services: write their upstream files, reload, verify; restore on failure
    "drop_upstream": True,  # path
    "reload_proxy": True,
    "retire": True,  # containers: [[name, stop_timeout, "stop" | "pause"]], drain: after the drain, detached
}

# Bumped when the options the swap starts containers with change, so older standbys are not resumed.
FINGERPRINT_VERSION = "1"
FINGERPRINT_LABEL = "fingerprint"


class PlanError(Exception):
    """The swap cannot be planned (e.g. the image is missing and pulling is not allowed)."""


def owned(facts: Facts, spec: Spec, service: str) -> list[Facts]:
    """This app's containers of `service` on the host, in name order; anything else is foreign."""
    prefix = spec.get("label_prefix", "opsctl")
    wanted = {f"{prefix}.app": spec["app"], f"{prefix}.env": spec["env"], f"{prefix}.service": service}
    found = [c for c in facts.get("containers", [])
             if all(c.get("labels", {}).get(k) == v for k, v in wanted.items())]
    return sorted(found, key=lambda c: str(c["name"]))


def fingerprint(service: dict[str, Any], image_id: str, env_file_digest: str | None, network: str,
                extra_env: dict[str, str]) -> str:
    """What a container of `service` is started with, as one hash: two containers with the same
    fingerprint run the same image with the same settings. OPSCTL_RELEASE is left out: a rollback
    is a new release number of an older image and config, and a resumed standby keeps its own."""
    data = [FINGERPRINT_VERSION, image_id, env_file_digest, network, service["name"], service.get("command"),
            service.get("port"), sorted((k, v) for k, v in extra_env.items() if k != "OPSCTL_RELEASE")]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _prelude(facts: Facts, spec: Spec) -> list[Step]:
    steps: list[Step] = []
    if not facts.get("image_present"):
        if not spec.get("pull_missing", True):
            raise PlanError(f"image {spec['image']} is not on this host")
        steps.append({"op": "pull", "image": spec["image"]})
    if not facts.get("network_present"):
        steps.append({"op": "create_network", "network": spec["network"]})
    return steps


def _ingress_start(facts: Facts, spec: Spec) -> list[Step]:
    """The shared ingress (spec proxy kind "ingress"): started (again, with every port and network
    it had plus this app's) when it is not running or lacks a port; else joined to the app's network."""
    proxy, wanted = facts.get("proxy") or {}, spec["proxy"]
    ports = sorted({*proxy.get("ports", []), *wanted.get("ports", [])})
    if not proxy.get("running") or ports != sorted(proxy.get("ports", [])):
        networks = [spec["network"], *sorted(set(proxy.get("networks", [])) - {spec["network"]})]
        return [{"op": "start_proxy", "replace": bool(proxy.get("present")), "ports": ports, "networks": networks,
                 "legacy": wanted.get("legacy") if proxy.get("legacy") else None}]
    steps: list[Step] = []
    if spec["network"] not in proxy.get("networks", []):
        steps.append({"op": "connect_proxy", "network": spec["network"]})
    if proxy.get("legacy") and wanted.get("legacy"):  # stopped, or on ports the ingress does not use
        steps.append({"op": "remove", "name": wanted["legacy"], "stop_timeout": 0})
    return steps


def _proxy_steps(facts: Facts, spec: Spec, http: list[str], dropped: list[str]) -> list[Step]:
    steps: list[Step] = []
    proxy = facts.get("proxy") or {}
    if http and spec.get("proxy"):
        if spec["proxy"].get("kind") == "ingress":
            steps += _ingress_start(facts, spec)
        elif not proxy.get("running"):
            steps.append({"op": "start_proxy", "replace": bool(proxy.get("present"))})
        steps.append({"op": "switch", "services": http})
    steps += [{"op": "drop_upstream", "path": path} for path in dropped]
    if dropped and spec.get("proxy") and (proxy.get("present") or http):
        steps.append({"op": "reload_proxy"})
    return steps


def _new_names(spec: Spec) -> set[str]:
    return {str(n) for s in spec["services"] for n in s.get("names", [])}


def standbys(facts: Facts, spec: Spec, service: dict[str, Any]) -> list[Facts]:
    """The service's paused containers this swap may resume: started exactly as its new ones would
    be. Only with standby on and for HTTP services (a paused worker could hold a job or a lock)."""
    wanted = (facts.get("fingerprints") or {}).get(service["name"])
    if not spec.get("standby") or service["mode"] != "http" or not wanted:
        return []
    label = "{}.{}".format(spec.get("label_prefix", "opsctl"), FINGERPRINT_LABEL)
    return [c for c in owned(facts, spec, service["name"])
            if c.get("paused") and c.get("labels", {}).get(label) == wanted and c["name"] not in _new_names(spec)]


def _start_or_adopt(facts: Facts, service: dict[str, Any], replica: int, resumable: list[Facts]) -> list[Step]:
    """Start a replica, adopt it when a roll started it ahead under this very name, or resume a
    standby (taken from `resumable`) under it; a stopped, exited or paused one of that name is
    removed and started again."""
    name = service["names"][replica - 1]
    found = next((c for c in facts.get("containers", []) if c.get("name") == name), None)
    step = {"service": service["name"], "replica": replica, "name": name}
    if found is not None and found.get("running"):
        return [{"op": "adopt", **step}]
    removal = [{"op": "remove", "name": name, "stop_timeout": 0}] if found is not None else []
    if resumable:
        return [*removal, {"op": "resume", **step, "standby": resumable.pop(0)["name"]}]
    return [*removal, {"op": "start", **step}]


def _starts_and_checks(facts: Facts, spec: Spec, running: list[dict[str, Any]]) -> list[Step]:
    pairs = [(s, i) for s in running for i in range(1, int(s["replicas"]) + 1)]
    resumable = {s["name"]: standbys(facts, spec, s) for s in running}
    starts = [step for s, i in pairs for step in _start_or_adopt(facts, s, i, resumable[s["name"]])]
    # Dead same-name leftovers go first, then the adoptions, then every resumption and start at
    # once, then every check at once (the executor runs consecutive starts and resumptions, and
    # consecutive checks, in parallel).
    ordered = [s for op in ("remove", "adopt", "resume", "start") for s in starts if s["op"] == op]
    return ordered + [{"op": "check", "service": s["name"], "name": s["names"][i - 1],
                       "kind": "http" if s["mode"] == "http" else "stays_up"} for s, i in pairs]


def plan_swap(facts: Facts, spec: Spec) -> list[Step]:
    """The ordered steps that put the spec's release on this host."""
    services = spec["services"]
    running = [s for s in services if s["mode"] != "absent"]
    absent = [s for s in services if s["mode"] == "absent"]
    new = _new_names(spec)
    old = {s["name"]: [c["name"] for c in owned(facts, spec, s["name"]) if c["name"] not in new] for s in services}
    steps = _prelude(facts, spec)
    # Two singletons must never run at once: the old one goes before its replacement starts.
    for s in running:
        if s["mode"] == "singleton":
            steps += [{"op": "remove", "name": n, "stop_timeout": s["stop_timeout"]} for n in old[s["name"]]]
            old[s["name"]] = []
    started = _starts_and_checks(facts, spec, running)
    resumed = {str(s["standby"]) for s in started if s["op"] == "resume"}
    old = {name: [n for n in names if n not in resumed] for name, names in old.items()}
    steps += started
    http = [s["name"] for s in running if s["mode"] == "http"]
    existing = set(facts.get("upstream_files", []))
    dropped = [s["upstream_file"] for s in absent if s.get("upstream_file") in existing]
    steps += _proxy_steps(facts, spec, http, dropped)
    gone = [_retirement(facts, spec, s, n) for s in running + absent for n in old[s["name"]]]
    if gone:
        # Drain only when old HTTP containers may still be finishing requests the proxy gave them.
        live = {str(c["name"]) for c in facts.get("containers", []) if c.get("running")}
        draining = any(n in live for s in running if s["mode"] == "http" for n in old[s["name"]])
        steps.append({"op": "retire", "containers": gone, "drain": spec.get("drain", 0) if draining else 0})
    return steps


def _retirement(facts: Facts, spec: Spec, service: dict[str, Any], name: str) -> list[object]:
    """[name, stop_timeout, how]: with standby on, a running HTTP container this swap replaces is
    paused (it becomes the standby; it has a fingerprint to be matched by); anything else stops."""
    found: Facts = next((c for c in facts.get("containers", []) if c.get("name") == name), {})
    label = "{}.{}".format(spec.get("label_prefix", "opsctl"), FINGERPRINT_LABEL)
    keep = (spec.get("standby") and service["mode"] == "http" and found.get("running")
            and found.get("labels", {}).get(label))
    return [name, service["stop_timeout"], "pause" if keep else "stop"]


def plan_prestart(facts: Facts, spec: Spec) -> list[Step]:
    """Start the new release's HTTP containers ahead of this host's turn, and wait until they are
    healthy; nothing else changes (no proxy, no old container). Replicas already running under
    their new names are left as they are, so planning again is harmless."""
    http = [s for s in spec["services"] if s["mode"] == "http"]
    if not http:
        return []
    steps = _starts_and_checks(facts, spec, http)
    if not any(s["op"] in ("start", "resume") for s in steps):
        return []
    return _prelude(facts, spec) + [s for s in steps if s["op"] != "adopt"]


def plan_discard(facts: Facts, spec: Spec) -> list[Step]:
    """Remove what a roll started ahead on a host whose turn never came (its swap did not switch):
    exactly the containers under this roll's new names, never any other."""
    new = _new_names(spec)
    return [{"op": "remove", "name": c["name"], "stop_timeout": 0}
            for c in sorted(facts.get("containers", []), key=lambda c: str(c["name"])) if c["name"] in new]


def revert_steps(done: list[Step]) -> list[Step]:
    """What undoes the steps done before a failure: the new containers go, immediately.

    A failed `switch` restores the upstream files itself; the old containers were not touched yet
    (singletons excepted: they were stopped by design before their replacement started). Adopted
    containers (started ahead for this swap) go too: they belong to the release that failed here,
    and so do resumed standbys (a later swap starts that release afresh if it needs it).
    """
    return [{"op": "remove", "name": s["name"], "stop_timeout": 0} for s in done
            if s["op"] in ("start", "adopt", "resume")]


def changes(steps: list[Step]) -> bool:
    return any(OPS[s["op"]] for s in steps)
