"""Hooks: the operator's own executables in `.opsctl/hooks/` next to opsctl.yml.

They run on the operator's machine around build, deploy, rollback and provision, as argument lists
(no shell), with a minimal environment plus OPSCTL_* facts about the run, never a secret. A failing
`pre-*` hook stops the command before the lock is taken or anything touches the fleet; `post-*`
and `on-failure` hooks only warn, because what they follow has already happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from opsctl import output
from opsctl.errors import OpsctlError

if TYPE_CHECKING:
    from opsctl.config.models import Config

NAMES = (
    "pre-build",
    "pre-deploy",
    "post-deploy",
    "pre-rollback",
    "post-rollback",
    "on-failure",
    "pre-provision",
    "post-provision",
)
HOOKS_DIR = Path(".opsctl") / "hooks"
DEFAULT_TIMEOUT = 300.0  # keep equal to HooksConfig.timeout
TAIL_LINES = 20

# What a hook inherits from opsctl's own environment: enough to find programs and talk to the
# terminal, nothing that may hold a credential (AWS_*, tokens, the app's secrets).
_PASSED = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TMPDIR", "TZ", "SHELL", "CI"}
_PASSED_PREFIXES = ("LC_",)


class HookFailed(OpsctlError):
    pass


@dataclass
class HookContext:
    """Facts about the run that a hook receives as OPSCTL_* variables (empty when not known yet)."""

    command: str
    app: str
    env: str = ""
    version: str = ""
    release: str = ""
    previous_version: str = ""
    hosts: list[str] = field(default_factory=list)
    user: str = ""
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    error: str = ""

    def variables(self, hook: str) -> dict[str, str]:
        values = {
            "OPSCTL_HOOK": hook,
            "OPSCTL_COMMAND": self.command,
            "OPSCTL_APP": self.app,
            "OPSCTL_ENV": self.env,
            "OPSCTL_VERSION": self.version,
            "OPSCTL_RELEASE": self.release,
            "OPSCTL_PREVIOUS_VERSION": self.previous_version,
            "OPSCTL_HOSTS": ",".join(self.hosts),
            "OPSCTL_USER": self.user,
            "OPSCTL_MESSAGE": self.message,
            "OPSCTL_RUNTIME": f"{time.monotonic() - self.started:.1f}",
        }
        if hook == "on-failure":
            values["OPSCTL_ERROR"] = self.error
        return values


def hook_environment(ctx: HookContext, hook: str, secret_names: set[str],
                     base: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment a hook runs with: the allow-listed basics plus OPSCTL_* facts."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k in _PASSED or k.startswith(_PASSED_PREFIXES)}
    for name in secret_names:  # a secret that happens to share a basic's name still stays out
        env.pop(name, None)
    env.update(ctx.variables(hook))
    return env


@dataclass
class Hooks:
    """The hooks of one opsctl.yml; `skip` (--skip-hooks) turns every run into a no-op."""

    directory: Path
    timeout: float = DEFAULT_TIMEOUT
    skip: bool = False
    secret_names: set[str] = field(default_factory=set)
    _checked: bool = False

    @classmethod
    def for_config(cls, config: Config, skip: bool = False) -> Hooks:
        names = set(config.env.secret)
        for env in config.environments.values():
            names.update(env.env.secret)
        if config.registry is not None:
            names.add(config.registry.password_env)
        return cls(directory=config.base_dir / HOOKS_DIR, timeout=config.hooks.timeout,
                   skip=skip, secret_names=names)

    def find(self, name: str) -> Path | None:
        """The hook's file if there is one; a file that cannot be executed is an error."""
        if self.skip:
            return None
        self._check_dir()
        path = self.directory / name
        if not path.exists():
            return None
        if not path.is_file() or not os.access(path, os.X_OK):
            shown = HOOKS_DIR / name  # a constant: messages may be read as markup
            raise OpsctlError(
                f"hook {shown} is not an executable file; nothing was run",
                hint=f"chmod +x {shown}, remove it, or pass --skip-hooks",
            )
        return path

    def _check_dir(self) -> None:
        """Warn once about files that look like hooks but never run (a typo'd name)."""
        if self._checked or not self.directory.is_dir():
            return
        self._checked = True
        for path in sorted(self.directory.iterdir()):
            name = path.name
            if name in NAMES or name.startswith(".") or name.endswith(".sample") or name.lower().startswith("readme"):
                continue
            plain_warning(f"{HOOKS_DIR / name} is not a hook opsctl runs (names: {', '.join(NAMES)}); ignored")

    def pre(self, name: str, ctx: HookContext) -> None:
        """Run a pre-* hook; raise HookFailed if it fails (its output was streamed as it came)."""
        path = self.find(name)
        if path is None:
            return
        code, tail = self._run(path, name, ctx)
        if code != 0:
            # Its output was shown as it came (as data, above); the error names only the hook.
            raise HookFailed(
                f"hook {name} {_describe(code, self.timeout)}; {ctx.command} did not start"
                + (" (its output is above)" if tail else ""),
                hint="fix what the hook reports, or pass --skip-hooks to run without hooks",
            )

    def post(self, name: str, ctx: HookContext) -> bool:
        """Run a post-* or on-failure hook; a failure is only a warning. True when it passed."""
        try:
            path = self.find(name)
        except OpsctlError as exc:
            plain_warning(exc.message)
            return False
        if path is None:
            return True
        code, _ = self._run(path, name, ctx)
        if code != 0:
            plain_warning(f"hook {name} {_describe(code, self.timeout)}")
        return code == 0

    def failed(self, ctx: HookContext, error: str) -> None:
        ctx.error = error
        self.post("on-failure", ctx)

    def _run(self, path: Path, name: str, ctx: HookContext) -> tuple[int, list[str]]:
        output.step(f"hook {name}")
        return run_hook([str(path)], hook_environment(ctx, name, self.secret_names),
                        cwd=self.directory.parent.parent, timeout=self.timeout, prefix=f"  {name}: ")


def plain_warning(message: str) -> None:
    """`warning: MESSAGE` with MESSAGE shown as written (file names and outside text are not markup)."""
    from rich.text import Text

    output.stderr().print(Text.assemble(("warning:", "yellow"), " ", message))


def write_samples(base_dir: Path) -> list[tuple[Path, str]]:
    """`opsctl init`: commented, non-executable samples in .opsctl/hooks/ (existing files are kept)."""
    from opsctl.paths import templates_dir

    results: list[tuple[Path, str]] = []
    target = base_dir / HOOKS_DIR
    for sample in sorted((templates_dir() / "init" / "hooks").glob("*.sample")):
        path = target / sample.name
        if path.exists():
            results.append((path, "kept existing"))
            continue
        target.mkdir(parents=True, exist_ok=True)
        path.write_text(sample.read_text(encoding="utf-8"), encoding="utf-8")
        path.chmod(0o644)  # a sample never runs until someone renames it and makes it executable
        results.append((path, "wrote"))
    return results


def _describe(code: int, timeout: float) -> str:
    if code == TIMED_OUT:
        return f"timed out after {timeout:g}s"
    if code < 0:
        return f"was killed by signal {-code}"
    return f"failed (exit {code})"


TIMED_OUT = -(10**6)


def run_hook(argv: list[str], env: dict[str, str], cwd: Path, timeout: float,
             prefix: str = "") -> tuple[int, list[str]]:
    """Run argv with its output streamed to stderr; return (exit code or TIMED_OUT, last lines).

    The hook gets a session of its own so that a timeout or Ctrl-C ends everything it started.
    """
    try:
        proc = subprocess.Popen(  # noqa: S603 - an argument list from opsctl, no shell
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    except OSError as exc:
        # e.g. a script whose #! interpreter is missing
        return 127, [f"cannot run {argv[0]}: {exc.strerror or exc}"]
    tail: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=_pump, args=(proc.stdout, tail, prefix), daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        code = TIMED_OUT
    except KeyboardInterrupt:
        _kill(proc)
        raise
    reader.join(timeout=5)
    return code, tail


def _pump(stream: IO[bytes], tail: list[str], prefix: str) -> None:
    console = output.stderr()
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", errors="replace").rstrip("\n")
        # Console.out applies no markup: a hook's output is shown as written.
        console.out(prefix + line, highlight=False)
        tail.append(line)
        del tail[:-TAIL_LINES]
    stream.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue
