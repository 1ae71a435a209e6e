"""What a build will do, decided without any I/O: tags, labels, build args, registry.

Everything here is plain data so it can be unit-tested; image.py/push.py only carry it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from opsctl.errors import UsageError
from opsctl.validate import env_name_problem

# The build arg the example Dockerfile turns into ENV OPSCTL_VERSION, so that an image knows its
# own version even when a deploy does not pass one. opsctl owns it: it always equals VERSION.
VERSION_BUILD_ARG = "OPSCTL_VERSION"

LABEL_VERSION = "org.opencontainers.image.version"
LABEL_REVISION = "org.opencontainers.image.revision"
LABEL_CREATED = "org.opencontainers.image.created"
LABEL_OPSCTL = "dev.opsctl.version"

DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class BuildPlan:
    """One `opsctl build`: every input resolved, nothing run yet."""

    image: str  # repository without tag, e.g. localhost:5050/hello
    version: str
    context: Path
    dockerfile: Path
    build_args: dict[str, str]
    labels: dict[str, str]
    no_cache: bool = False
    push: bool = True
    tags: list[str] = field(default_factory=list)

    @property
    def version_ref(self) -> str:
        return f"{self.image}:{self.version}"


def parse_build_args(items: list[str] | None) -> dict[str, str]:
    """`--build-arg K=V` (repeatable) -> {K: V}; a bad item is a usage error (exit 2)."""
    args: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"invalid --build-arg {item!r}: expected KEY=VALUE")
        problem = env_name_problem(key)
        if problem:
            raise UsageError(f"invalid --build-arg {item!r}: {problem}")
        if "\0" in value:
            raise UsageError(f"invalid --build-arg {key}: the value contains a NUL character")
        args[key] = value
    return args


def merge_build_args(config_args: dict[str, str], cli_args: dict[str, str], version: str) -> dict[str, str]:
    """Config args, overridden by the command line, plus OPSCTL_VERSION (which nobody overrides:
    an image whose OPSCTL_VERSION disagreed with its tag would report the wrong version)."""
    for source, args in (("opsctl.yml build.args", config_args), ("--build-arg", cli_args)):
        if VERSION_BUILD_ARG in args:
            raise UsageError(
                f"{source} sets {VERSION_BUILD_ARG}; opsctl build sets it from VERSION",
                hint=f"drop {VERSION_BUILD_ARG} from {source}",
            )
    merged = {str(k): str(v) for k, v in config_args.items()}
    merged.update(cli_args)
    merged[VERSION_BUILD_ARG] = version
    return merged


def image_labels(version: str, revision: str | None, created: str, opsctl_version: str) -> dict[str, str]:
    labels = {
        LABEL_VERSION: version,
        LABEL_CREATED: created,
        LABEL_OPSCTL: opsctl_version,
    }
    # Outside a git repository there is no commit to name; an empty label would be a lie.
    if revision:
        labels[LABEL_REVISION] = revision
    return labels


def image_tags(version: str) -> list[str]:
    # Deduplicated in case someone builds the version literally called "latest".
    return [version] if version == "latest" else [version, "latest"]


def registry_from_image(image: str) -> str:
    """The registry a repository lives in, by Docker's rule: the first path component is a
    registry host only if it has a '.' or a ':' or is 'localhost'; otherwise it is Docker Hub."""
    first, sep, _rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def scrub(text: str, secret: str | None) -> str:
    """Remove a secret from text that came back from the daemon or the registry before we print it."""
    if secret:
        text = text.replace(secret, "***")
    return text
