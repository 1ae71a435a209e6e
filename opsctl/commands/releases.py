"""`opsctl releases`: the release ledger kept on the fleet (and `--repair` to reconcile its copies)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.commands.common import EnvOpt, JsonOpt, YesOpt, load_config

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet, FleetState
    from opsctl.deploy.ledger_copies import Verdict

RepairOpt = Annotated[
    bool,
    typer.Option("--repair", help="Write the full history to every host whose ledger copy is behind "
                                  "(shows what it will write and asks first)."),
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", metavar="HOST", help="With --repair: the host whose copy is the true history "
                                "(needed only when the copies contradict each other)."),
]


def releases(ctx: typer.Context, env: EnvOpt = None, json_: JsonOpt = False, repair: RepairOpt = False,
             source: FromOpt = None, yes: YesOpt = False) -> None:
    """List the environment's numbered releases, newest first (read from every host)."""
    from opsctl.deploy.fleet import Fleet
    from opsctl.errors import UsageError

    fleet = Fleet.open(load_config(ctx), env)
    if source is not None and not repair:
        raise UsageError("--from is only used with --repair")
    if repair:
        _repair(fleet, source, yes)
        return
    state = fleet.read_state(lock="status")
    if json_ and not state.problems and not state.verdict.consistent:
        _emit(fleet, state.verdict, [])
        raise typer.Exit(1)
    entries = fleet.history(state, writing=False)
    if json_:
        _emit(fleet, state.verdict, entries)
    else:
        from opsctl.deploy import render

        render.releases(entries)


def _emit(fleet: Fleet, verdict: Verdict, entries: list[Any]) -> None:
    from opsctl import output
    from opsctl.deploy import ledger

    now = ledger.current(entries)
    output.emit_json({
        "env": fleet.env_name,
        "current": now.number if now else None,
        "releases": [r.to_json() for r in reversed(entries)],
        "consistent": verdict.consistent,
        "hosts": verdict.per_host(),
        "behind": verdict.behind,
        "unreachable": verdict.unreachable,
    })


def _repair(fleet: Fleet, source: str | None, yes: bool) -> None:
    """Under the deploy lock: judge the copies, show what will be written where, ask, write."""
    from opsctl import output
    from opsctl.deploy import ledger, locking
    from opsctl.deploy.fleet import holder_info, new_token
    from opsctl.deploy.ledger_copies import ranges

    token = new_token()
    state = fleet.acquire(token, lambda: holder_info(None, "ledger repair", "repair"), lock_wait=0)
    try:
        verdict = _choose(fleet, state, source)
        writes = verdict.writes()
        if not writes:
            output.info(f"every reachable host's ledger agrees ({ledger_summary(verdict)}); nothing to repair")
            return
        assert verdict.history is not None
        numbers = [r.number for r in verdict.history]
        output.info(f"the history is {verdict.source}'s copy: release(s) {ranges(numbers)}")
        for host in writes:
            had = verdict.per_host()[host]
            output.info(f"  write {fleet.ledger_path} on {host} (it has {had})")
        for host in verdict.unreachable:
            output.warn(f"{host} did not answer and is left as it is; repair again when it is back")
        _confirm(yes, f"Write this history to {len(writes)} host(s)?")
        fleet.write_ledger(ledger.dump(verdict.history), hosts=list(writes))
        output.info(f"repaired the ledger on {', '.join(writes)}")
    finally:
        result = fleet.state(lock="release", token=token)
        if not result.ok:
            output.warn(f"could not release the deploy lock: {result.failure_summary()}; "
                        f"release it with: {locking.release_command(fleet.env_name)}")


def ledger_summary(verdict: Verdict) -> str:
    return "; ".join(f"{h}: {r}" for h, r in verdict.per_host().items()) or "no host answered"


def _choose(fleet: Fleet, state: FleetState, source: str | None) -> Verdict:
    from opsctl.deploy.ledger_copies import judge
    from opsctl.errors import OpsctlError, UsageError

    if state.problems or (source is None and not state.verdict.consistent):
        fleet.history(state, writing=False)  # raises: names host, file and problem, or what differs
    if source is None:
        return state.verdict
    if source not in state.verdict.copies:
        raise UsageError(f"--from {source}: not a host that answered with a ledger "
                         f"(answered: {', '.join(state.verdict.copies) or 'none'})")
    verdict = judge(state.verdict.copies, state.verdict.unreachable, prefer=source)
    for host, copy in verdict.copies.items():
        chosen = verdict.history or []
        if copy and chosen and copy[-1].number > chosen[-1].number:
            raise OpsctlError(
                f"--from {source}: {host}'s copy knows release #{copy[-1].number}, later than "
                f"{source}'s last (#{chosen[-1].number}); opsctl never writes a shorter history over a longer one",
                hint="move the copy you do not want aside on its host, then repair again",
            )
    return verdict


def _confirm(yes: bool, question: str) -> None:
    from opsctl.errors import OpsctlError, UsageError

    if yes:
        return
    # CI=true is not consent: a pipeline that writes ledgers must say --yes.
    if not sys.stdin.isatty():
        raise UsageError("not going ahead: there is no terminal to ask for confirmation on",
                         hint="pass --yes to confirm")
    if not typer.confirm(question, default=False, err=True):
        raise OpsctlError("cancelled; nothing was changed")
