"""`opsctl build`: build the app image, tag it VERSION and latest, label it, push both tags.

The docker SDK is imported only inside functions (opsctl/docker_engine.py opens the client), so the
command module can import this package without loading it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opsctl import __version__, output
from opsctl.build import git
from opsctl.build.spec import (
    BuildPlan,
    image_labels,
    image_tags,
    merge_build_args,
    registry_from_image,
)
from opsctl.errors import OpsctlError

if TYPE_CHECKING:
    from pathlib import Path

    from opsctl.build.push import Credentials
    from opsctl.config.models import Config

LABEL_DIRTY = "dev.opsctl.dirty"
_SHOW_DIRTY = 10


@dataclass
class BuildResult:
    image: str
    version: str
    tags: list[str]
    digest: str | None
    revision: str | None
    pushed: bool
    image_id: str
    created: str
    dirty: bool
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BuildOptions:
    version: str
    build_args: dict[str, str]  # from --build-arg, already parsed
    push: bool = True
    no_cache: bool = False
    allow_dirty: bool = False


def docker_api() -> Any:
    """A low-level engine client (DOCKER_HOST etc. respected), checked to answer."""
    from opsctl.docker_engine import connect_api

    return connect_api(hint="start dockerd (or set DOCKER_HOST) and try again")


def credentials(config: Config) -> Credentials | None:
    """The registry credentials from opsctl.yml and the secret store; None without `registry:`
    (then the engine pushes with whatever access it already has)."""
    from opsctl.build.push import Credentials
    from opsctl.config.secrets import secret_source, secret_value

    reg = config.registry
    if reg is None:
        return None
    image_registry = registry_from_image(config.image)
    if reg.server != image_registry:
        # The password would be sent to a registry it was not configured for.
        raise OpsctlError(
            f"registry.server is {reg.server} but image {config.image} lives in {image_registry}",
            hint=f"make image start with {reg.server}/ or set registry.server to {image_registry}",
        )
    try:
        password = secret_value(config, None, reg.password_env)
    except OpsctlError as exc:
        raise OpsctlError(f"no password for registry {reg.server}: {exc.message}", hint=exc.hint) from None
    return Credentials(
        server=reg.server,
        username=reg.username,
        password=password,
        source=secret_source(config, None, reg.password_env),
    )


def plan(config: Config, opts: BuildOptions, revision: str | None, dirty: bool, created: str) -> BuildPlan:
    labels = image_labels(opts.version, revision, created, __version__)
    if dirty:
        labels[LABEL_DIRTY] = "true"
    return BuildPlan(
        image=config.image,
        version=opts.version,
        context=config.path(config.build.context),
        # Like the context, relative to the config file's directory (not to the context).
        dockerfile=config.path(config.build.dockerfile),
        build_args=merge_build_args(dict(config.build.args), opts.build_args, opts.version),
        labels=labels,
        no_cache=opts.no_cache,
        push=opts.push,
        tags=image_tags(opts.version),
    )


def check_git(state: git.GitState, allow_dirty: bool, context_name: str) -> None:
    if not state.in_repo:
        output.warn(f"{context_name} is not in a git repository: the image gets no revision label")
        return
    if not state.dirty:
        return
    shown = "\n".join(f"  {p}" for p in state.dirty[:_SHOW_DIRTY])
    more = len(state.dirty) - _SHOW_DIRTY
    if more > 0:
        shown += f"\n  ... and {more} more"
    if not allow_dirty:
        raise OpsctlError(
            f"uncommitted changes in the build context ({state.repo_root}); the image would not "
            f"match its commit:\n{shown}",
            hint="commit the changes, or pass --allow-dirty to build anyway",
        )
    output.warn(f"building with uncommitted changes (--allow-dirty):\n{shown}")


def source_state(config: Config, allow_dirty: bool) -> tuple[Path, git.GitState]:
    """The build context and its git state, refused when missing or (without allow_dirty) dirty."""
    context = config.path(config.build.context)
    dockerfile = config.path(config.build.dockerfile)
    if not context.is_dir():
        raise OpsctlError(f"build.context {context} is not a directory")
    if not dockerfile.is_file():
        raise OpsctlError(f"build.dockerfile {dockerfile} does not exist")
    try:
        state = git.inspect(context, [dockerfile])
    except git.GitError as exc:
        raise OpsctlError(str(exc)) from None
    check_git(state, allow_dirty, str(context))
    return context, state


def run(config: Config, opts: BuildOptions) -> BuildResult:
    from opsctl.build.image import build_image
    from opsctl.build.progress import make_progress
    from opsctl.build.push import login, push_tag

    started = time.monotonic()
    context, state = source_state(config, opts.allow_dirty)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    build_plan = plan(config, opts, state.revision, bool(state.dirty), created)

    api = docker_api()
    creds = credentials(config) if opts.push else None
    timings: dict[str, float] = {}
    if creds is not None:
        # Before the build: a wrong password should fail in a second, not after the build.
        login(api, creds)

    progress = make_progress()
    try:
        output.step(f"building {build_plan.version_ref} from {context}")
        t0 = time.monotonic()
        image_id = build_image(api, build_plan, progress)
        timings["build"] = round(time.monotonic() - t0, 2)

        digest: str | None = None
        if opts.push:
            t0 = time.monotonic()
            digests = {tag: push_tag(api, build_plan.image, tag, creds, progress) for tag in build_plan.tags}
            timings["push"] = round(time.monotonic() - t0, 2)
            digest = digests[opts.version]
            for tag, other in digests.items():
                if other != digest:
                    output.warn(f"{build_plan.image}:{tag} was pushed as {other}, not {digest}")
    finally:
        progress.close()
    timings["total"] = round(time.monotonic() - started, 2)

    return BuildResult(
        image=build_plan.image,
        version=opts.version,
        tags=[f"{build_plan.image}:{tag}" for tag in build_plan.tags],
        digest=digest,
        revision=state.revision,
        pushed=opts.push,
        image_id=image_id,
        created=created,
        dirty=bool(state.dirty),
        timings=timings,
    )
