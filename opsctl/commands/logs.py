"""`opsctl logs [SERVICE]`: every matching container on every host, merged by timestamp."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl import completion
from opsctl.commands.common import EnvOpt, load_config

if TYPE_CHECKING:
    import re

    from opsctl.deploy.fleet import Fleet
    from opsctl.observe.logs import LogLine


def logs(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(
        metavar="[SERVICE]", help="Service name (e.g. web), or proxy; default: all.",
        autocompletion=completion.services)] = None,
    env: EnvOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
    since: Annotated[str | None, typer.Option("--since", metavar="WHEN", help="Only lines newer than this: 10m, 1h30m, or a time.")] = None,
    grep: Annotated[str | None, typer.Option("--grep", metavar="REGEX", help="Only lines whose text matches this regex.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    hosts: Annotated[str | None, typer.Option("--hosts", metavar="HOSTS", help="Comma-separated hosts.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", metavar="LINES", help="Lines per container.", min=1, max=100000)] = 100,
) -> None:
    """Show the logs of a service's (or every) container on every host, merged in time order."""
    from opsctl.deploy.fleet import Fleet
    from opsctl.deploy.plan import select_hosts, select_services
    from opsctl.observe import logs as merged
    from opsctl.observe.history import read_history
    from opsctl.validate import split_csv

    since = merged.check_since(since)
    pattern = merged.check_grep(grep)
    fleet = Fleet.open(load_config(ctx), env)
    if service and service != "proxy":
        select_services(fleet.config, [service])
    targets = select_hosts(fleet.inventory, split_csv(hosts))
    printer = _Printer(targets, json_)
    history, host_now = read_history(fleet, targets, service or "", lines, since, grep)
    for line in merged.merge(history):
        if merged.matches(line, pattern):
            printer.line(line)
    if follow:
        _follow(fleet, targets, service or "", host_now, pattern, printer, seen=set(history))


def _follow(fleet: Fleet, targets: list[str], service: str, host_now: dict[str, str],
            grep: re.Pattern[str] | None, printer: _Printer, seen: set[LogLine]) -> None:
    from opsctl import output
    from opsctl.observe import follow
    from opsctl.observe.logs import matches

    argvs = {
        host: follow.ssh_argv(host, fleet.inventory.hosts[host], follow.remote_command(
            fleet.inventory.hosts[host], fleet.config.app, fleet.env_name, service, host_now[host]))
        for host in targets if host in host_now
    }

    def emit(line: LogLine) -> None:
        # The history read and the follow overlap by a moment: a line already shown is skipped.
        if line not in seen and matches(line, grep):
            printer.line(line)

    follower = follow.Follower(argvs)
    follower.start()
    try:
        follower.run(emit, lambda host, why: output.warn(f"{host}: {why}"))
    except KeyboardInterrupt:
        pass
    finally:
        follower.close()


class _Printer:
    """Human lines (`host/container | text`, a colour per host on a terminal) or JSON lines."""

    def __init__(self, hosts: list[str], as_json: bool) -> None:
        self.hosts = hosts
        self.as_json = as_json

    def line(self, line: LogLine) -> None:
        import json
        import sys

        from opsctl import output
        from opsctl.observe.logs import clock, host_colour, prefix

        if self.as_json:
            sys.stdout.write(json.dumps(line.to_json(), sort_keys=True) + "\n")
            sys.stdout.flush()
            return
        console = output.stdout()
        if not console.is_terminal:
            sys.stdout.write(f"{prefix(line)} {clock(line)} | {line.message}\n")
            sys.stdout.flush()
            return
        from rich.text import Text

        # Text, not markup: a log line holding "[red]" prints as those characters.
        text = Text(prefix(line), style=host_colour(line.host, self.hosts))
        text.append(f" {clock(line)} | ", style="dim")
        text.append(line.message)
        console.print(text, soft_wrap=True, highlight=False)
