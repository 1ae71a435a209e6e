"""`opsctl exec`: run a one-off command in a container of the current release."""

from __future__ import annotations

from typing import Annotated

import typer

from opsctl.commands.common import EnvOpt, load_config


def exec_(
    ctx: typer.Context,
    command: Annotated[list[str], typer.Argument(metavar="COMMAND", help="Command and arguments to run.")],
    env: EnvOpt = None,
    host: Annotated[str | None, typer.Option("--host", metavar="HOST", help="Host (default: the primary).")] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="A terminal on the host (ssh -t, docker run -it).")
    ] = False,
) -> None:
    """Run a one-off command in a new container of the current release's image."""
    from opsctl import output
    from opsctl.config.secrets import require_secrets
    from opsctl.deploy.fleet import Fleet
    from opsctl.deploy.plan import select_hosts

    config = load_config(ctx)
    require_secrets(config, config.environment(env)[0], "exec")  # before any connection
    fleet = Fleet.open(config, env)
    if interactive:
        from opsctl import interactive as tty

        raise typer.Exit(tty.run(fleet, host, command))
    target = select_hosts(fleet.inventory, [host] if host else [fleet.primary])[0]
    current, image, env_file = fleet.current_release()
    argv = [
        "docker", "run", "--rm", "--env-file", env_file,
        "-e", f"OPSCTL_APP={fleet.config.app}", "-e", f"OPSCTL_ENV={fleet.env_name}",
        "-e", f"OPSCTL_VERSION={current.version}", "-e", f"OPSCTL_RELEASE={current.number}",
        image, *command,
    ]
    result = fleet.run("exec.yml", {"opsctl_targets": target}, label="exec", data={"argv": argv}, quiet=True)
    task = result.of("run").get(target)
    if task is not None:
        output.stdout().out(output.strip_controls(str(task.result.get("stdout", ""))), highlight=False)
        if task.result.get("stderr"):
            output.stderr().out(output.strip_controls(str(task.result["stderr"])), highlight=False)
    if not result.ok:
        code = int(task.result.get("rc") or 1) if task is not None else 1
        raise typer.Exit(code)
