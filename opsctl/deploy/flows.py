"""The deploy and rollback flows: lock -> configs -> pull -> release step -> roll -> record -> unlock.

Python decides every step and what the ledger says (the failure policy is policy.judge); the
Rollout (rollout.py) runs the playbooks that act on the hosts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opsctl import output
from opsctl.config.secrets import app_env
from opsctl.deploy import ledger, policy, timings
from opsctl.deploy.fleet import Fleet, artifacts_hint, now, who
from opsctl.deploy.names import image_ref
from opsctl.deploy.plan import Target, config_hash, render_env_file
from opsctl.deploy.rollout import Rollout
from opsctl.deploy.runner import RunInterrupted, RunResult, sigterm_interrupts
from opsctl.errors import OpsctlError
from opsctl.validate import check_version


@dataclass
class Outcome:
    release: ledger.Release
    ok: bool
    switched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: str | None = None
    fleet_state: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # The release that was current before this one (for hooks and notifications).
    previous: ledger.Release | None = None
    host_timings: dict[str, dict[str, float]] = field(default_factory=dict)  # host -> phase -> seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "release": self.release.to_json(),
            "switched": self.switched,
            "failed": self.failed,
            "error": self.error,
            "fleet_state": self.fleet_state,
            "timings": {**{k: round(v, 2) for k, v in self.timings.items()}, "hosts": self.host_timings},
        }


def _reported_digests(result: dict[str, Any]) -> list[Any]:
    """The digests a host's pull reported (prepare.yml's `Image digests`); _digest_ref judges each."""
    facts = result.get("ansible_facts")
    found = facts.get("opsctl_digests") if isinstance(facts, dict) else None
    return list(found) if isinstance(found, list) else []


def _digest_ref(repository: str, digests: dict[str, list[Any]]) -> str | None:
    """The repo@sha256 all hosts agree on; None when the registry gave none (e.g. a local image).

    The digests are what each host's Docker reported, so they are checked like any data read from
    a server: a reference to the app's repository whose digest is not sha256:<64 hex> is refused,
    naming the host, before it can reach a container's image or the ledger.
    """
    found: dict[str, list[str]] = {}
    for host, refs in sorted(digests.items()):
        mine = [r for r in refs if not isinstance(r, str) or r.split("@", 1)[0] == repository]
        if not mine:
            continue
        ref = mine[0]
        digest = ref.split("@", 1)[1] if isinstance(ref, str) and "@" in ref else ""
        if not re.fullmatch(ledger.DIGEST, digest):
            raise OpsctlError(
                f"{host} reported a malformed image digest: {str(ref)[:200]!r} (expected "
                f"{repository}@sha256: followed by 64 hex digits); no running container was touched",
                hint="check the Docker engine and registry that host uses, then deploy again",
            )
        found.setdefault(ref, []).append(host)
    if len(found) > 1:
        raise OpsctlError(
            "the hosts pulled different images for the same tag (was it pushed again during the "
            "deploy?): " + ", ".join(f"{ref} ({', '.join(hosts)})" for ref, hosts in sorted(found.items())),
            hint="deploy again; each host will pull the same digest",
        )
    return next(iter(found)) if found else None


# --- the two flows --------------------------------------------------------------------------


@dataclass
class _Decided:
    """What a run's gate decided (flows' side of it): the release being rolled out."""

    entry: ledger.Release | None = None
    target: Target | None = None
    previous: ledger.Release | None = None


@sigterm_interrupts()
def deploy(fleet: Fleet, version: str | None, *, hosts: str | None, services: str | None,
           dry_run: bool, lock_wait: float, message: str | None,
           skip_hosts: str | None = None) -> Outcome | dict[str, Any]:
    config = fleet.config
    version = version or fleet.env.tag
    if version is None:
        raise OpsctlError(
            f"which version? give one (opsctl deploy v65 -e {fleet.env_name}) or set "
            f"environments.{fleet.env_name}.tag",
        )
    check_version(version)
    rollout = Rollout(fleet, hosts, services, skip=skip_hosts)
    if dry_run:
        return rollout.describe(version)
    started = time.monotonic()
    clear, secrets = app_env(config, fleet.env_name)
    conf_hash = config_hash(config, fleet.env_name, clear, list(secrets))
    image = image_ref(config.image, version)
    decided = _Decided()
    # Now, not at the gate: during the run the process environment is Ansible's (runner.py), and
    # OPSCTL_USER is not part of it.
    user = who()

    def decide(releases: list[ledger.Release], partial: RunResult) -> tuple[Target, list[dict[str, Any]] | None]:
        digests = {host: _reported_digests(r.result) for host, r in partial.of("pull").items()}
        digest_ref = _digest_ref(config.image, digests)
        previous = ledger.current(releases)
        target = Target(release=ledger.next_number(releases), version=version,
                        image=digest_ref or image, config_hash=conf_hash)
        entry = ledger.Release(
            number=target.release, version=version, image=image,
            digest=digest_ref.split("@", 1)[1] if digest_ref else None,
            config_hash=conf_hash, who=user, when=now(), status=ledger.SUCCEEDED,
            previous=previous.number if previous else None, message=message,
            hosts=rollout.plan.hosts, services=rollout.plan.services, skipped=rollout.skipped,
        )
        return _decided(decided, rollout, releases, entry, target, previous, started)

    try:
        output.step(f"deploy {version} to {fleet.env_name}: lock, configs, pull on {len(rollout.plan.hosts)} "
                    "host(s)" + (", release step" if config.release else "") + ", then the roll")
        result = _run(rollout, decided, started, lambda: rollout.deploy_run(
            image, version, conf_hash, render_env_file(clear, secrets),
            message=message, lock_wait=lock_wait, decide=decide,
        ))
        return _judge(rollout, decided, result, started)
    finally:
        rollout.unlock()


@sigterm_interrupts()
def rollback(fleet: Fleet, version: str | None, *, lock_wait: float, message: str | None,
             skip_hosts: str | None = None) -> Outcome:
    if version is not None:
        check_version(version)
    started = time.monotonic()
    rollout = Rollout(fleet, batch=fleet.env.rollout.rollback_batch or fleet.env.rollout.batch, skip=skip_hosts)
    decided = _Decided()
    user = who()  # before the run, whose environment is Ansible's (runner.py)

    def decide(releases: list[ledger.Release], partial: RunResult) -> tuple[Target, list[dict[str, Any]] | None]:
        back_to = ledger.rollback_target(releases, version)
        previous = ledger.current(releases)
        image = image_ref(fleet.config.image, back_to.version, back_to.digest)
        target = Target(release=ledger.next_number(releases), version=back_to.version,
                        image=image, config_hash=back_to.config_hash)
        entry = ledger.Release(
            number=target.release, version=back_to.version, image=back_to.image, digest=back_to.digest,
            config_hash=back_to.config_hash, who=user, when=now(), status=ledger.SUCCEEDED,
            previous=previous.number if previous else None, kind="rollback", target=back_to.number,
            message=message, hosts=rollout.plan.hosts, services=rollout.plan.services,
            skipped=rollout.skipped,
        )
        output.step(f"rollback {fleet.env_name} to #{back_to.number} ({back_to.version})")
        return _decided(decided, rollout, releases, entry, target, previous, started)

    try:
        output.step(f"rollback {fleet.env_name}: lock, ledger, then the roll")
        result = _run(rollout, decided, started, lambda: rollout.rollback_run(
            version, message=message, lock_wait=lock_wait, decide=decide,
        ))
        return _judge(rollout, decided, result, started)
    finally:
        rollout.unlock()


def _decided(decided: _Decided, rollout: Rollout, releases: list[ledger.Release], entry: ledger.Release,
             target: Target, previous: ledger.Release | None,
             started: float) -> tuple[Target, list[dict[str, Any]] | None]:
    """Record the gate's decision; the ledger the run writes at its end when any failure stops it
    (else Python writes it after judging the run)."""
    decided.entry, decided.target, decided.previous = entry, target, previous
    plan = rollout.plan
    output.step(f"roll release #{entry.number} ({entry.version}) over {len(plan.hosts)} host(s) "
                f"in {len(plan.batches)} batch(es)")
    return target, ledger.append(releases, _finished(entry, started)) if rollout.fatal else None


def _run(rollout: Rollout, decided: _Decided, started: float, run: Callable[[], RunResult]) -> RunResult:
    """The flow's one run; an interrupted one leaves a ledger entry once the roll had begun."""
    try:
        return run()
    except RunInterrupted as stop:
        if decided.entry is not None:
            rollout.stop_release()
            if "Roll out" in stop.partial.plays:
                _record_interrupted(rollout, rollout.releases, decided.entry, started, stop.partial)
        raise


def _judge(rollout: Rollout, decided: _Decided, result: RunResult, started: float) -> Outcome:
    """After the run: stop at a failure before the roll (nothing touched), else judge the roll."""
    release_failed = rollout.release_container is not None and any(
        r.status != "ok" for r in result.of("release").values())
    if decided.entry is None or decided.target is None or release_failed:
        if release_failed:
            rollout.stop_release()
        raise OpsctlError(
            "preparation failed; no running container was touched:\n" + result.failure_summary(),
            hint=artifacts_hint(result.artifacts),
        )
    rollout.timings.update(timings.phases(result))
    return _roll_and_record(rollout, rollout.releases, decided.entry, decided.target, decided.previous,
                            started, result)


def _roll_and_record(rollout: Rollout, releases: list[ledger.Release], entry: ledger.Release,
                     target: Target, previous: ledger.Release | None, started: float,
                     result: RunResult) -> Outcome:
    fleet, plan = rollout.fleet, rollout.plan
    switched, failed = rollout.switched_and_failed(result)
    verdict = policy.judge(
        hosts=plan.hosts, switched=switched, failed=failed, run_ok=result.ok,
        max_failures=fleet.env.rollout.max_failures, failure_action=fleet.env.rollout.failure_action,
        has_previous=previous is not None, lost=rollout.lost,
    )
    error = None if verdict.action == policy.SUCCEEDED else result.failure_summary()
    if verdict.action == policy.SUCCEEDED and rollout.fatal:
        rollout.locked = False  # the roll's last play recorded the release and released the lock
        done = _finished(entry, started)
        state = f"all on {entry.version}"
    elif verdict.action in (policy.SUCCEEDED, policy.TOLERATED):
        note = f"{len(failed)} host(s) failed within max_failures: {error}" if failed else None
        done = _finished(entry, started, note=note)
        rollout.finish(releases, done)
        state = f"{', '.join(failed)} still on the previous release" if failed else f"all on {entry.version}"
    else:
        output.error(f"release #{entry.number} failed:\n{error}", hint=artifacts_hint(result.artifacts))
        # Hosts whose turn never came may hold new containers started ahead: they go (a swap under
        # way is not left behind: a failed roll stops only after its batch's swaps returned).
        rollout.discard([h for h in plan.hosts if h not in switched and h not in rollout.lost])
        state = _recover(rollout, verdict, target, previous)
        status = ledger.FAILED if verdict.action == policy.PAUSE else ledger.ROLLED_BACK
        if verdict.action == policy.PAUSE:
            state = (f"paused: {', '.join(switched) or 'no host'} on {entry.version}, "
                     f"the rest on {previous.version if previous else 'nothing'}")
        if rollout.lost:
            state += f"; lost (unreachable, left as they were): {', '.join(rollout.lost)}"
        done = _finished(entry, started, status=status, note=str(error)[-1000:])
        rollout.finish(releases, done)
    rollout.timings["total"] = time.monotonic() - started
    ok = verdict.action in (policy.SUCCEEDED, policy.TOLERATED)
    return Outcome(release=done, ok=ok, switched=switched, failed=failed, error=None if ok else error,
                   fleet_state=state, timings=rollout.timings, previous=previous,
                   host_timings=timings.per_host(result))


def _record_interrupted(rollout: Rollout, releases: list[ledger.Release], entry: ledger.Release,
                        started: float, partial: RunResult) -> None:
    """A roll stopped by a signal: the ledger tells which hosts it reached before the lock goes."""
    reached = [h for h, r in partial.of("swap").items() if r.status == "ok"]
    note = (f"interrupted after {', '.join(reached) or 'no host'} switched to {entry.version}; a host "
            "whose swap was under way finished or reverted it on its own; `opsctl status` shows each host")
    output.error(f"release #{entry.number} interrupted: {note}")
    done = _finished(entry, started, status=ledger.INTERRUPTED, note=note)
    try:
        rollout.finish(releases, done)
    except OpsctlError as exc:
        output.warn(f"could not record the interrupted release: {exc.message}")


def _recover(rollout: Rollout, verdict: policy.Verdict, target: Target, previous: ledger.Release | None) -> str:
    """Carry out a failed roll's verdict on the touched hosts; say where the fleet stands."""
    touched = verdict.touched
    if verdict.action == policy.ROLL_BACK and previous is not None:
        output.step(f"rolling {', '.join(touched)} back to #{previous.number} ({previous.version})")
        back = Target(
            release=previous.number, version=previous.version,
            image=image_ref(rollout.config.image, previous.version, previous.digest),
            config_hash=previous.config_hash,
        )
        back_result = rollout.roll(back, touched, None, unlock=False)
        _, back_failed = rollout.switched_and_failed(back_result)
        return (f"all hosts on #{previous.number} ({previous.version})" if back_result.ok
                else f"rollback failed on {', '.join(back_failed)}: {back_result.failure_summary()}")
    if verdict.action == policy.REMOVE:
        back_result = rollout.roll(target, touched, None, unlock=False, remove=True)
        return ("first release failed; its containers were removed" if back_result.ok
                else f"removing the failed release failed: {back_result.failure_summary()}")
    return ""


def announce(fleet: Fleet, outcome: Outcome) -> None:
    """Tell the config's webhooks how a deploy or rollback ended."""
    if not fleet.config.notify:
        return
    from opsctl import notify

    notify.send(fleet.config.notify, notify.outcome_event(fleet.config.app, fleet.env_name, outcome))


def _finished(entry: ledger.Release, started: float, status: str | None = None,
              note: str | None = None) -> ledger.Release:
    return ledger.Release(**{
        **entry.to_json(),
        "status": status or entry.status,
        "duration": round(time.monotonic() - started, 2),
        "note": note,
    })
