"""What runs on the operator's side around build, deploy, rollback and provision apply: the hooks
in `.opsctl/hooks/` and the notifications of `notify:`.

Commands call `begin` before they touch anything (a failing pre-* hook stops them there), run
their work inside `guard()` (an error runs on-failure and notifies), and end with `finished`
(deploy, rollback) or `succeeded` (build, provision). The outcome of a deploy or rollback is
notified by the flow itself (flows.announce) so that every way of ending it is covered once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.errors import OpsctlError
from opsctl.hooks import HookContext, Hooks

if TYPE_CHECKING:
    from opsctl.config.models import Config


def _who() -> str:
    from opsctl.deploy.fleet import who

    return who()


def notify(config: Config, name: str, ctx: HookContext, **facts: Any) -> None:
    """Send one event to the webhooks that want it (nothing is imported when there are none)."""
    if not config.notify:
        return
    from opsctl import notify as webhooks

    event = webhooks.Event(name=name, app=ctx.app, env=ctx.env, version=ctx.version,
                           previous_version=ctx.previous_version, who=ctx.user, hosts=list(ctx.hosts),
                           message=ctx.message, **facts)
    if ctx.release:
        event.release = int(ctx.release)
    webhooks.send(config.notify, event)


@dataclass
class Around:
    config: Config
    hooks: Hooks
    ctx: HookContext

    @property
    def command(self) -> str:
        return self.ctx.command

    @contextmanager
    def guard(self) -> Iterator[None]:
        """On an opsctl error or Ctrl-C inside the block: on-failure hook, failure event, re-raise."""
        try:
            yield
        except OpsctlError as exc:
            self.failed(exc.message)
            raise
        except KeyboardInterrupt:
            self.failed("interrupted")
            raise

    def failed(self, error: str) -> None:
        self.hooks.failed(self.ctx, error)
        if self.command in ("deploy", "rollback"):
            notify(self.config, f"{self.command}.failure", self.ctx, error=error)

    def finished(self, outcome: Any) -> None:
        """After a deploy or rollback returned its Outcome: post-* hook, or on-failure."""
        release = outcome.release
        self.ctx.version = release.version
        self.ctx.release = str(release.number)
        self.ctx.hosts = list(release.hosts) or self.ctx.hosts
        previous = getattr(outcome, "previous", None)
        self.ctx.previous_version = previous.version if previous is not None else ""
        if outcome.ok:
            self.hooks.post(f"post-{self.command}", self.ctx)
        else:
            self.hooks.failed(self.ctx, outcome.error or release.status)

    def succeeded(self, detail: str = "", event: bool = True) -> None:
        """After a build or provision apply: its post-* hook (if the command has one) and its event."""
        post = f"post-{self.command}"
        from opsctl.hooks import NAMES

        if post in NAMES:
            self.hooks.post(post, self.ctx)
        if event:
            duration = round(time.monotonic() - self.ctx.started, 1)
            notify(self.config, self.command, self.ctx, detail=detail, duration=duration)


def begin(config: Config, command: str, *, skip_hooks: bool, env: str = "", version: str | None = None,
          hosts: Sequence[str] = (), message: str | None = None) -> Around:
    """Run the command's pre-* hook (raises when it fails) and, for a deploy, announce its start."""
    hooks = Hooks.for_config(config, skip=skip_hooks)
    ctx = HookContext(command=command, app=config.app, env=env, version=version or "", hosts=list(hosts),
                      user=_who(), message=message or "")
    hooks.pre(f"pre-{command}", ctx)
    if command == "deploy":
        notify(config, "deploy.start", ctx)
    return Around(config=config, hooks=hooks, ctx=ctx)


def begin_rollout(fleet: Any, command: str, version: str | None, hosts: str | None, message: str | None,
                  skip_hooks: bool, skip: str | None = None) -> Around:
    """`begin` for a deploy or rollback on a Fleet: nothing here connects to a host."""
    from opsctl.deploy.plan import select_hosts
    from opsctl.validate import split_csv

    chosen = select_hosts(fleet.inventory, split_csv(hosts), split_csv(skip))  # bad input: before any hook
    if command == "deploy":
        version = version or fleet.env.tag
        if version is None:  # bad input: said before any hook runs (flows.deploy says the same)
            raise OpsctlError(
                f"which version? give one (opsctl deploy v65 -e {fleet.env_name}) or set "
                f"environments.{fleet.env_name}.tag",
            )
    return begin(fleet.config, command, skip_hooks=skip_hooks, env=fleet.env_name, version=version,
                 hosts=chosen, message=message)


def notify_lock(fleet: Any, what: str, message: str | None) -> None:
    """`opsctl lock acquire|release` by hand: the `lock` event."""
    ctx = HookContext(command="lock", app=fleet.config.app, env=fleet.env_name, user=_who(),
                      message=message or "", hosts=[fleet.primary])
    notify(fleet.config, "lock", ctx, detail=what)
