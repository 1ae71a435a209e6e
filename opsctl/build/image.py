"""Build, label and tag the image through the Docker engine API, streaming the build's output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from opsctl.build.progress import BuildProgress
from opsctl.build.spec import BuildPlan
from opsctl.docker_engine import LineSplitter, clean, event_error
from opsctl.errors import OpsctlError

_STEP = re.compile(r"^Step \d+/\d+ : ")
_BUILT = re.compile(r"^Successfully built ([0-9a-f]{12,64})$")
# Engine bookkeeping between steps; it is not any step's output.
_NOISE = (" ---> ", "Removing intermediate container ", "Successfully tagged ")


class BuildFailed(OpsctlError):
    def __init__(self, message: str, step: str | None, lines: list[str]):
        super().__init__(message, hint=failure_hint(step))
        self.step = step
        self.lines = lines


def failure_hint(step: str | None) -> str:
    instruction = _STEP.sub("", step or "").strip()
    if instruction.upper().startswith("FROM "):
        # The engine tried to pull the base image, which means it is not here; there is no
        # public registry to pull from, so it must be built (or loaded) on this machine.
        base = instruction.split()[1] if len(instruction.split()) > 1 else "the base image"
        return (
            f"{base} is not on this Docker engine and cannot be pulled; build or load it first "
            "('opsctl lab up' builds the lab's opsctl/base:bookworm)"
        )
    return "fix the failing step in the Dockerfile and run again"


@dataclass
class BuildStream:
    """Follows the engine's JSON build stream: splits it into lines, knows the current step and
    its output (to show it in full if that step fails), and picks up the image id or the error."""

    progress: BuildProgress
    step: str | None = None
    step_lines: list[str] = field(default_factory=list)
    image_id: str | None = None
    error: str | None = None
    _lines: LineSplitter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._lines = LineSplitter(self._line)

    def feed(self, event: dict[str, Any]) -> None:
        error = event_error(event, "unknown build error")
        if error is not None:
            self.error = clean(error)
            return
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        text = event.get("stream")
        if isinstance(text, str):
            self._lines.feed(text)

    def _line(self, line: str) -> None:
        if not line:
            return
        if _STEP.match(line):
            self.step = line
            self.step_lines = []
            self.progress.build_step(line)
            return
        built = _BUILT.match(line)
        if built and self.image_id is None:
            self.image_id = built.group(1)
        if line.startswith(_NOISE) or built:
            return
        self.step_lines.append(line)
        self.progress.build_output(line)

    def close(self) -> None:
        self._lines.close()


def build_image(api: Any, plan: BuildPlan, progress: BuildProgress) -> str:
    """Run the build; return the image id. The image is tagged with every tag in `plan.tags`."""
    from docker.errors import APIError, DockerException

    stream = BuildStream(progress)
    try:
        events = api.build(
            path=str(plan.context),
            dockerfile=str(plan.dockerfile),
            tag=plan.version_ref,
            buildargs=plan.build_args,
            labels=plan.labels,
            nocache=plan.no_cache,
            # No base image is ever pulled: only images built on this machine exist.
            pull=False,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for event in events:
            stream.feed(event)
            if stream.error:
                break
        stream.close()
    except APIError as exc:
        stream.error = str(exc.explanation or exc)
    except DockerException as exc:
        raise OpsctlError(f"the build could not run: {exc}") from exc

    if stream.error:
        progress.build_failed(stream.step, stream.step_lines)
        where = f" at {stream.step}" if stream.step else ""
        raise BuildFailed(f"build failed{where}: {stream.error}", stream.step, stream.step_lines)
    image_id = str(stream.image_id or api.inspect_image(plan.version_ref)["Id"])
    for tag in plan.tags:
        if tag != plan.version:
            api.tag(image_id, plan.image, tag, force=True)
    progress.build_done(image_id)
    return image_id


def image_labels_of(api: Any, ref: str) -> dict[str, str]:
    labels = (api.inspect_image(ref).get("Config") or {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}
