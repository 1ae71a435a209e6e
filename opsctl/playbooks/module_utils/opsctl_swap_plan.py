"""The host-side swap, planned: host facts and the desired release in, an ordered list of steps out.

Pure: no I/O, no clock. The opsctl_swap module reads the facts, calls `plan_swap`, and runs the
steps in order (consecutive `start` and `check` steps run in parallel). If a step fails before the
proxy switch, `revert_steps` says how to leave the host exactly as it was. Table-driven tests feed
fixture facts in and compare the steps out (tests/unit/swap_cases/*.json).

Facts:
    containers      every container on the host: {"name", "running", "labels": {...}}
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
"""

from __future__ import annotations

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
    "check": False,  # name, service, kind: http | stays_up
    "start_proxy": True,  # replace: a dead proxy container is removed first; ingress: ports, networks, legacy
    "connect_proxy": True,  # network: the shared ingress joins the app's network
    "switch": True,  # services: write their upstream files, reload, verify; restore on failure
    "drop_upstream": True,  # path
    "reload_proxy": True,
    "retire": True,  # containers: [[name, stop_timeout]], drain: stopped after the drain, detached
}


class PlanError(Exception):
    """The swap cannot be planned (e.g. the image is missing and pulling is not allowed)."""


def owned(facts: Facts, spec: Spec, service: str) -> list[Facts]:
    """This app's containers of `service` on the host, in name order; anything else is foreign."""
    prefix = spec.get("label_prefix", "opsctl")
    wanted = {f"{prefix}.app": spec["app"], f"{prefix}.env": spec["env"], f"{prefix}.service": service}
    found = [c for c in facts.get("containers", [])
             if all(c.get("labels", {}).get(k) == v for k, v in wanted.items())]
    return sorted(found, key=lambda c: str(c["name"]))


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


def _start_or_adopt(facts: Facts, service: dict[str, Any], replica: int) -> list[Step]:
    """Start a replica, or adopt it when a roll started it ahead under this very name; a stopped
    or exited one of that name is removed and started again."""
    name = service["names"][replica - 1]
    found = next((c for c in facts.get("containers", []) if c.get("name") == name), None)
    step = {"service": service["name"], "replica": replica, "name": name}
    if found is not None and found.get("running"):
        return [{"op": "adopt", **step}]
    removal = [{"op": "remove", "name": name, "stop_timeout": 0}] if found is not None else []
    return [*removal, {"op": "start", **step}]


def _starts_and_checks(facts: Facts, running: list[dict[str, Any]]) -> list[Step]:
    pairs = [(s, i) for s in running for i in range(1, int(s["replicas"]) + 1)]
    starts = [step for s, i in pairs for step in _start_or_adopt(facts, s, i)]
    # Dead same-name leftovers go first, then the adoptions, then every start at once, then every
    # check at once (the executor runs consecutive starts, and checks, in parallel).
    ordered = [s for op in ("remove", "adopt", "start") for s in starts if s["op"] == op]
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
    steps += _starts_and_checks(facts, running)
    http = [s["name"] for s in running if s["mode"] == "http"]
    existing = set(facts.get("upstream_files", []))
    dropped = [s["upstream_file"] for s in absent if s.get("upstream_file") in existing]
    steps += _proxy_steps(facts, spec, http, dropped)
    gone = [[n, s["stop_timeout"]] for s in running + absent for n in old[s["name"]]]
    if gone:
        # Drain only when old HTTP containers may still be finishing requests the proxy gave them.
        draining = any(old[s["name"]] for s in running if s["mode"] == "http")
        steps.append({"op": "retire", "containers": gone, "drain": spec.get("drain", 0) if draining else 0})
    return steps


def plan_prestart(facts: Facts, spec: Spec) -> list[Step]:
    """Start the new release's HTTP containers ahead of this host's turn, and wait until they are
    healthy; nothing else changes (no proxy, no old container). Replicas already running under
    their new names are left as they are, so planning again is harmless."""
    http = [s for s in spec["services"] if s["mode"] == "http"]
    if not http:
        return []
    steps = _starts_and_checks(facts, http)
    if not any(s["op"] == "start" for s in steps):
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
    containers (started ahead for this swap) go too: they belong to the release that failed here.
    """
    return [{"op": "remove", "name": s["name"], "stop_timeout": 0} for s in done if s["op"] in ("start", "adopt")]


def changes(steps: list[Step]) -> bool:
    return any(OPS[s["op"]] for s in steps)
