"""Recent log lines of an app's containers on many hosts: one Ansible run (opsctl_logs on each host)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsctl.deploy.fleet import Fleet
    from opsctl.observe.logs import LogLine


def read_history(
    fleet: Fleet, targets: list[str], service: str, lines: int, since: str | None, grep: str | None,
    warn: bool = True,
) -> tuple[list[LogLine], dict[str, str]]:
    """The recent lines of every host (one playbook run), and each host's clock when it read them."""
    from opsctl import output
    from opsctl.errors import OpsctlError
    from opsctl.observe.logs import parse

    result = fleet.run(
        "logs.yml",
        {"opsctl_targets": ",".join(targets), "opsctl_service": service, "opsctl_lines": lines},
        label="logs",
        data={"since": since or "", "grep_hex": (grep or "").encode().hex()},
        quiet=True,
    )
    found = result.of("logs")
    history: list[LogLine] = []
    host_now: dict[str, str] = {}
    for host in targets:
        task = found.get(host)
        if task is None or task.status != "ok":
            if warn:
                output.warn(f"{host}: {task.result.get('msg') if task else 'no answer'}")
            continue
        host_now[host] = str(task.result.get("now") or "")
        for problem in task.result.get("errors") or [] if warn else []:
            output.warn(f"{host}: {problem}")
        for row in task.result.get("lines") or []:
            if isinstance(row, list) and len(row) == 3:
                history.append(parse(host, str(row[0]), str(row[1]), str(row[2])))
    if not host_now:
        raise OpsctlError(f"no host answered: {result.failure_summary()}")
    if result.failures() and warn:
        output.warn(f"some hosts did not answer: {result.failure_summary()}")
    return history, host_now
