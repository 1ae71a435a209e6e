"""Errors that opsctl reports to the user, each with the exit code it ends with."""

from __future__ import annotations


class OpsctlError(Exception):
    """A failure the user can act on: printed without a traceback, then exit with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(OpsctlError):
    """Bad input on the command line: nothing was run."""

    exit_code = 2


class ConfigError(OpsctlError):
    """opsctl.yml (or a file it names) is invalid; `problems` holds every problem found."""

    exit_code = 1

    def __init__(self, problems: list[str], *, hint: str | None = None):
        super().__init__("\n".join(problems), hint=hint)
        self.problems = problems


class NotImplementedYet(OpsctlError):
    """A command whose issue has not been built yet. It must never pretend to succeed."""

    exit_code = 2

    def __init__(self, command: str):
        super().__init__(f"'opsctl {command}' is not implemented yet.")
