"""Run opsctl's playbooks through ansible-runner and turn its event stream into progress and results.

Two kinds of input reach a playbook, and they travel apart (see `playbook_vars`):
- constants opsctl itself writes (host lists, paths, app and env names, tokens, numbers) go as
  extravars, which Ansible renders as templates; `playbook_vars` refuses anything else there;
- everything else (messages, the ledger, commands, env values, anything read from a server) goes
  into `data.json` in the run's 0700 private directory, which the playbooks read with
  `opsctl_data` (an extravar holding `lookup('ansible.builtin.file', opsctl_data_file) | from_json`).
  ansible-core (2.19) marks lookup results untrusted, so `{{ }}` in them stays text, never rendered.

Secrets go into neither (ansible-runner keeps both on disk): callers put secret file contents into a
0600 temporary directory (see `secret_dir`) and pass only the paths; the tasks that read them are
`no_log`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from opsctl import output, paths
from opsctl.errors import OpsctlError
from opsctl.files import write_private_json

KEEP_RUNS = 20
DATA_FILE = "data.json"
# The one way playbooks see data: a file lookup, whose result Ansible never renders as a template.
DATA_EXPR = "{{ lookup('ansible.builtin.file', opsctl_data_file) | from_json }}"
# What Python decided in the middle of a run (see `Gate`): read the same way, after the gate play.
DECISION_FILE = "decision.json"
DECISION_EXPR = "{{ lookup('ansible.builtin.file', opsctl_decision_file) | from_json }}"
# The play (playbooks/decide.yml) that waits for the decision; its start is Python's cue to decide.
GATE_PLAY = "Decide"

# What an extravar may hold: no braces, quotes, spaces or '%', so nothing Jinja could act on.
_CONSTANT = re.compile(r"[A-Za-z0-9_.,:/@=+-]*")

# ansible-runner hands its child our whole environment and records it in the run's artifacts, so
# Ansible gets only what it needs to connect: never the secrets a deploy reads from the environment.
_PASSED = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TMPDIR", "TZ", "SSH_AUTH_SOCK",
           "OPSCTL_HOME", "OPSCTL_LAB_DIR"}
_PASSED_PREFIXES = ("LC_", "ANSIBLE_")


@contextmanager
def _ansible_environ() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key not in _PASSED and not key.startswith(_PASSED_PREFIXES):
                del os.environ[key]
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class TaskResult:
    host: str
    task: str
    status: str  # ok | failed | unreachable | skipped
    result: dict[str, Any]


@dataclass
class RunResult:
    status: str
    rc: int
    results: list[TaskResult] = field(default_factory=list)
    artifacts: Path | None = None
    playbook: str = ""  # the run's playbooks, joined by "+" when it ran several
    plays: list[str] = field(default_factory=list)  # the plays that started, in order
    # (host, task, seconds from the run's start, seconds the task took) of every finished task
    durations: list[tuple[str, str, float, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def of(self, name: str) -> dict[str, TaskResult]:
        """The named result of this playbook's contract (opsctl/deploy/contract.py), per host."""
        from opsctl.deploy.contract import result_task

        task = result_task(self.playbook.split("+"), name)
        return {r.host: r for r in self.results if r.task == task}

    def failures(self) -> list[TaskResult]:
        return [r for r in self.results if r.status in ("failed", "unreachable")]

    def failure_summary(self) -> str:
        from opsctl.deploy.causes import explain

        # One line per host: the step and the cause (opsctl/deploy/causes.py), capped and cleaned.
        lines = [explain(r.host, r.task, r.status, r.result) for r in self.failures()]
        if lines:
            return "\n".join(lines)
        # No task failed: Ansible itself stopped (a syntax or templating error); its own words say why.
        return f"ansible-playbook ended with rc {self.rc}: {self.ansible_output()[-1500:]}"

    def ansible_output(self) -> str:
        if self.artifacts is None:
            return ""
        texts = [p.read_text(errors="replace") for p in self.artifacts.glob("artifacts/*/stdout")]
        return "\n".join(t.strip() for t in texts)


DEFAULT_HOST_TIMEOUT = 10


def host_timeout() -> int:
    """Seconds after which a host that stopped answering is declared lost ($OPSCTL_HOST_TIMEOUT).

    It bounds the SSH connect (a paused server accepts TCP and then never sends its banner) and,
    through keepalives, a connection that goes silent mid-task (three missed keepalives).
    """
    raw = os.environ.get("OPSCTL_HOST_TIMEOUT", "").strip()
    if not raw:
        return DEFAULT_HOST_TIMEOUT
    if not raw.isdigit() or not 3 <= int(raw) <= 3600:
        raise OpsctlError(f"OPSCTL_HOST_TIMEOUT: expected whole seconds from 3 to 3600, got {raw!r}")
    return int(raw)


def ansible_env() -> dict[str, str]:
    """Settings that keep Ansible's own overhead small: pipelining and reused SSH connections."""
    timeout = host_timeout()
    control_dir = paths.state_home() / "cp"
    control_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # ansible-playbook lives next to our interpreter (a virtualenv may not be on PATH).
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "/usr/bin:/bin")]),
        "ANSIBLE_PIPELINING": "True",
        # Three missed keepalives, or a connect (TCP plus banner) that does not finish in half the
        # budget, and the host is unreachable: a paused or lost server is noticed within `timeout`.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=300s "
                            f"-o ServerAliveInterval={max(1, timeout // 4)} -o ServerAliveCountMax=3",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_SYSTEM_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_LIBRARY": str(paths.playbooks_dir() / "library"),
        "ANSIBLE_ACTION_PLUGINS": str(paths.playbooks_dir() / "action"),
        "ANSIBLE_MODULE_UTILS": str(paths.playbooks_dir() / "module_utils"),
        "ANSIBLE_TIMEOUT": str(max(2, timeout // 2)),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_INTERNAL_POLL_INTERVAL": "0.001",
        # opsctl planned with every inventory source; a play that could not read one would quietly
        # skip its hosts, so that is a failure.
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
    }


def _check_constant(name: str, value: Any) -> None:
    if value is None or isinstance(value, bool | int | float):
        return
    if isinstance(value, str) and _CONSTANT.fullmatch(value):
        return
    if isinstance(value, list) and all(isinstance(v, bool | int | float) for v in value):
        return
    # A programming error, not a user's: data must travel in data.json.
    raise ValueError(f"extravar {name}={value!r} is not an opsctl constant; pass it as data")


def playbook_vars(private: Path, constants: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The extravars of one run: checked constants, and the path of the run's data file.

    `data` is written as JSON to the run's private directory (0700, the file 0600); playbooks read it
    through a file lookup, so none of it is ever rendered as a template.
    """
    for name, value in constants.items():
        _check_constant(name, value)
    path = private / DATA_FILE
    write_private(path, data)
    return {**constants, "opsctl_data_file": str(path), "opsctl_data": DATA_EXPR}


@contextmanager
def secret_dir() -> Iterator[Path]:
    """A private temporary directory for secret file contents, removed when done."""
    directory = Path(tempfile.mkdtemp(prefix="opsctl-secret-"))
    os.chmod(directory, 0o700)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_secret(directory: Path, name: str, content: str) -> Path:
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    return path


class _Interrupt:
    """Turn Ctrl-C and SIGTERM into a cancel request so ansible-runner stops its child cleanly."""

    # Ctrl-C, a CI job's cancel (TERM) and a closed terminal (HUP) all stop a run the same way.
    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def guarded_command(playbooks: list[Path]) -> tuple[str, str]:
    """ansible-runner's `binary` and `cmdline` that start ansible-playbook (one run of `playbooks`,
    in order) under opsctl's guard.

    The guard (opsctl/deploy/guard.py, standard library only, run by path so it needs no import of
    opsctl) ends the playbook and everything it started when opsctl dies, however it dies.
    """
    from opsctl.deploy import guard

    return sys.executable, shlex.join(["-I", str(Path(guard.__file__)), "ansible-playbook", *map(str, playbooks)])


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, `kill`) and SIGHUP (a closed terminal) stop a deploy like
    Ctrl-C: its cleanup and unlock run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


class Gate:
    """A decision Python makes in the middle of a run, from what the hosts reported so far.

    When the gate play (playbooks/decide.yml) starts, `decide` gets the results until then and
    returns the decision, which is written to the run's decision file; the plays after the gate
    read it as `opsctl_decision`. If `decide` raises OpsctlError, the decision is to stop: the gate
    fails, nothing after it runs, and the error is raised once the run has ended.
    """

    def __init__(self, decide: Callable[[RunResult], dict[str, Any]]):
        self.decide = decide
        self.error: OpsctlError | None = None
        self.decision: dict[str, Any] = {}

    def open(self, partial: RunResult, path: Path) -> None:
        try:
            decision = {**self.decide(partial), "go": True}
        except OpsctlError as exc:
            self.error, decision = exc, {"go": False}
        write_private(path, decision)
        self.decision = decision


def write_private(path: Path, value: Any) -> None:
    """Write `value` as JSON to a file only this user can read (created 0600, replaced atomically)."""
    write_private_json(path, value)


def _event_handler(run: RunResult, on_event: Callable[[TaskResult], None] | None, quiet: bool,
                   gate: Gate | None) -> Callable[[dict[str, Any]], bool]:
    """ansible-runner's event callback: collect task results and report progress; open the gate."""
    started: dict[tuple[str, str], float] = {}
    t0 = time.monotonic()

    def handle(event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host, task = data.get("host", ""), str(data.get("task", "")).strip()
        if kind == "playbook_on_play_start":
            play = str(data.get("play", "")).strip()
            run.plays.append(play)
            if play == GATE_PLAY and gate is not None and run.artifacts is not None:
                gate.open(run, run.artifacts / DECISION_FILE)
        if kind == "runner_on_start":
            started[(host, task)] = time.monotonic()
        status = _STATUS.get(kind)
        if status is None:
            return True
        if status == "failed" and data.get("ignore_errors"):
            status = "ok"
        result = TaskResult(host=host, task=task, status=status, result=dict(data.get("res") or {}))
        run.results.append(result)
        began = started.get((host, task), time.monotonic())
        took = time.monotonic() - began
        if status != "skipped":
            run.durations.append((host, task, round(began - t0, 3), round(took, 3)))
        if on_event is not None:
            on_event(result)
        elif not quiet and status != "skipped":
            mark = "ok" if status == "ok" else status.upper()
            output.info(f"    {host:<12} {task} ({took:.1f}s) {mark}")
        return True

    return handle


def event_vars(constants: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """What the dashboard's event publisher sees of a run: its opsctl_* names, data keys included
    (a run's data keys are the same names without the prefix)."""
    return {**constants, **{f"opsctl_{key}": value for key, value in data.items()}}


CANCEL_POLL_SECONDS = 0.2


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C, SIGTERM or SIGHUP; `partial` holds what hosts reported until then."""

    def __init__(self, partial: RunResult) -> None:
        super().__init__()
        self.partial = partial


def run_playbook(
    playbook: str | list[str],
    inventory: Path | list[Path],
    constants: dict[str, Any],
    *,
    data: dict[str, Any] | None = None,
    forks: int,
    label: str,
    on_event: Callable[[TaskResult], None] | None = None,
    quiet: bool = False,
    decision: dict[str, Any] | None = None,
    gate: Gate | None = None,
) -> RunResult:
    """Run playbooks/<playbook> (several, in order, as one run) and return every task result; raise
    RunInterrupted if cancelled, or the gate's error if Python decided to stop the run there.

    `constants` become extravars (see `playbook_vars`); `data` is everything else the play needs;
    `decision` is what the plays read as `opsctl_decision` when it is known before the run (else
    `gate` makes it in the middle of the run).
    """
    import ansible_runner

    names = [playbook] if isinstance(playbook, str) else list(playbook)
    runs = paths.state_home() / "runs"
    runs.mkdir(parents=True, exist_ok=True, mode=0o700)
    _prune(runs)
    private = Path(tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-") + label + "-", dir=runs))
    extravars = playbook_vars(private, constants, data or {})
    extravars.update(opsctl_decision_file=str(private / DECISION_FILE), opsctl_decision=DECISION_EXPR)
    if decision is not None:
        write_private(private / DECISION_FILE, {**decision, "go": True})
    outcome = RunResult(status="", rc=0, artifacts=private, playbook="+".join(names))
    handle = _event_handler(outcome, on_event, quiet, gate)
    published = event_vars(constants, {**(data or {}), **(decision or {})})

    def handle_and_publish(event: dict[str, Any]) -> bool:
        from opsctl.observe import events as observe_events

        if gate is not None and gate.decision:
            published.update(event_vars({}, gate.decision))
        observe_events.from_ansible(names[-1], published, event)  # the dashboard's live view
        return handle(event)

    binary, cmdline = guarded_command([paths.playbooks_dir() / name for name in names])
    with _Interrupt() as interrupt, _ansible_environ():
        runner = ansible_runner.run(
            private_data_dir=str(private),
            binary=binary,
            cmdline=cmdline,
            inventory=[str(p) for p in inventory] if isinstance(inventory, list) else str(inventory),
            extravars=extravars,
            envvars=ansible_env(),
            forks=max(1, forks),
            quiet=True,
            event_handler=handle_and_publish,
            cancel_callback=lambda: interrupt.requested,
            # ansible-runner looks at the cancel request once per pexpect wait (5 s by default): long
            # enough for a batch-1 roll to start swapping the next host after Ctrl-C or SIGTERM.
            settings={"pexpect_timeout": CANCEL_POLL_SECONDS},
        )
    outcome.status, outcome.rc = str(runner.status), int(runner.rc or 0)
    if interrupt.requested:
        raise RunInterrupted(outcome)
    if gate is not None and gate.error is not None:
        raise gate.error
    if outcome.status not in ("successful", "failed"):
        raise OpsctlError(
            f"ansible-runner {outcome.status} running {outcome.playbook}",
            hint=f"see {private}/artifacts for Ansible's output",
        )
    return outcome


def _prune(runs: Path) -> None:
    entries = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name)
    for old in entries[:-KEEP_RUNS]:
        shutil.rmtree(old, ignore_errors=True)
