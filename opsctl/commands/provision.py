"""`opsctl provision plan|apply|destroy`: the app's AWS resources.

Thin on purpose: parse, call opsctl.provision, render. opsctl.provision imports boto3, so it is
imported inside the command functions only (keeps `opsctl --help` fast).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl import output
from opsctl.commands.common import EnvOpt, JsonOpt, SkipHooksOpt, YesOpt, load_config
from opsctl.errors import OpsctlError, UsageError

if TYPE_CHECKING:
    from opsctl.provision.plan import AttrChange, Plan
    from opsctl.provision.session import Aws
    from opsctl.provision.target import Target

app = typer.Typer(
    help="Create and keep the app's AWS resources (RDS, SQS, SES, Route53, ELBv2) as opsctl.yml says.",
    no_args_is_help=True,
)

_SYMBOL = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
    "no change": (" ", "dim"),
    "keep": ("!", "cyan"),
    "conflict": ("x", "bold red"),
}


def _prepare(ctx: typer.Context, env: str | None, command: str = "") -> tuple[str, Target, Aws]:
    from opsctl.config.secrets import require_secrets
    from opsctl.provision.runner import target_for
    from opsctl.provision.session import Aws

    config = load_config(ctx)
    env_name, _ = config.environment(env)
    require_secrets(config, env_name, command)  # before any connection
    target = target_for(config, env_name)
    return env_name, target, Aws(target.aws)


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _attr_lines(attrs: list[AttrChange]) -> list[tuple[str, Any, Any]]:
    """One line per changed attribute; a dict-valued one (a redrive policy) per changed key."""
    lines: list[tuple[str, Any, Any]] = []
    for attr in attrs:
        if isinstance(attr.old, dict) and isinstance(attr.new, dict):
            for key in dict.fromkeys([*attr.old, *attr.new]):
                if attr.old.get(key) != attr.new.get(key):
                    lines.append((f"{attr.name}.{key}", attr.old.get(key), attr.new.get(key)))
        else:
            lines.append((attr.name, attr.old, attr.new))
    return lines


def render_plan(plan: Plan, title: str) -> None:
    from rich.text import Text

    console = output.stdout()
    console.print(Text(title, style="bold"), soft_wrap=True)
    if not plan.changes:
        console.print("  nothing is configured in aws: for this environment")
    for change in plan.changes:
        symbol, style = _SYMBOL[change.action.value]
        line = Text(f"  {symbol:>3} ", style=style)
        line.append(f"{change.action.value:<9}", style=style)
        line.append(f" {change.kind}  ")
        line.append(change.name, style="bold")
        if change.note:
            line.append(f"  ({change.note})", style="dim")
        console.print(line, soft_wrap=True)
        if change.action.value in ("update", "replace"):
            for name, old, new in _attr_lines(change.attrs):
                console.print(Text(f"          {name}: {_value(old)} -> {_value(new)}"), soft_wrap=True)
    counts = plan.counts()
    summary = (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, "
        f"{counts['no change']} unchanged"
        + (f", {counts['keep']} kept" if counts["keep"] else "")
        + (f", {counts['conflict']} in conflict" if counts["conflict"] else "")
    )
    console.print(Text(summary + "."), soft_wrap=True)


def _confirm(yes: bool, question: str, *, ci_consents: bool = True) -> None:
    """Ask, unless --yes. For `apply`, CI=true counts as yes; for `destroy` it never does."""
    if yes or (ci_consents and output.is_ci()):
        return
    if not sys.stdin.isatty():
        raise UsageError(
            "not going ahead: there is no terminal to ask for confirmation on",
            hint="pass --yes to confirm" + (" (CI=true also counts as yes)" if ci_consents
                                            else " (CI=true is not consent to destroy)"),
        )
    if not typer.confirm(question, default=False, err=True):
        raise OpsctlError("cancelled; nothing was changed")


@app.command("plan")
def plan(
    ctx: typer.Context,
    env: EnvOpt = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option("--detailed-exitcode", help="Exit 0 with no changes, 2 with changes, 1 on error."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Show what apply would create, update, replace or delete."""
    from opsctl.provision.runner import check_applicable, make_plan

    env_name, target, aws = _prepare(ctx, env)
    the_plan = make_plan(aws, target)
    if json_:
        output.emit_json({"environment": env_name, **the_plan.to_json()})
    else:
        render_plan(the_plan, f"AWS plan for {target.owner.app}/{env_name} ({aws.region}):")
    check_applicable(the_plan)
    if detailed_exitcode and the_plan.has_changes:
        raise typer.Exit(2)


@app.command("apply")
def apply(ctx: typer.Context, env: EnvOpt = None, yes: YesOpt = False, skip_hooks: SkipHooksOpt = False,
          json_: JsonOpt = False) -> None:
    """Show the plan, ask, then apply it in dependency order."""
    from opsctl import lifecycle
    from opsctl.provision.runner import apply_plan, check_applicable, make_plan

    env_name, target, aws = _prepare(ctx, env, "provision apply")
    # pre-provision runs before AWS is read (opsctl.lifecycle).
    around = lifecycle.begin(load_config(ctx), "provision", skip_hooks=skip_hooks, env=env_name)
    the_plan = make_plan(aws, target)
    if not json_:
        render_plan(the_plan, f"AWS plan for {target.owner.app}/{env_name} ({aws.region}):")
    check_applicable(the_plan)
    applied = []
    if the_plan.has_changes:
        _confirm(yes, f"Apply these changes to {target.owner.app}/{env_name}?")
        with around.guard():
            applied = apply_plan(aws, target, the_plan, output.step)
        output.info(f"Applied {len(applied)} change(s) to {target.owner.app}/{env_name}.")
        around.succeeded(detail=f"{len(applied)} change(s) applied")
    else:
        output.info("Nothing to do: AWS matches opsctl.yml.")
        around.succeeded(event=False)
    if json_:
        output.emit_json(
            {
                "environment": env_name,
                "plan": the_plan.to_json(),
                "applied": [c.to_json() for c in applied],
            }
        )


@app.command("destroy")
def destroy(
    ctx: typer.Context,
    env: EnvOpt = None,
    allow_destroy: Annotated[
        list[str] | None,
        typer.Option("--allow-destroy", metavar="NAME",
                     help="Name of a stateful resource (or a queue holding messages) that may be destroyed."),
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Remove what opsctl created, in reverse order (stateful resources, and queues that still
    hold messages, only when named with --allow-destroy). Needs --yes or a terminal: CI=true is not
    consent."""
    from opsctl.provision.runner import apply_plan, check_applicable, make_plan

    allowed = allow_destroy or []
    env_name, target, aws = _prepare(ctx, env)
    the_plan = make_plan(aws, target, destroy=True, allow_destroy=allowed)
    render_plan(the_plan, f"AWS destroy plan for {target.owner.app}/{env_name} ({aws.region}):")
    stateful = {c.name for c in the_plan.changes if c.stateful}
    for name in allowed:
        if name not in stateful:
            output.warn(f"--allow-destroy {name}: no stateful resource of that name in this plan")
    check_applicable(the_plan)
    if not the_plan.has_changes:
        output.info("Nothing to destroy.")
        return
    _confirm(yes, f"Destroy these resources of {target.owner.app}/{env_name}?", ci_consents=False)
    applied = apply_plan(aws, target, the_plan, output.step)
    output.info(f"Destroyed {len(applied)} resource(s) of {target.owner.app}/{env_name}.")
