"""Log in to the registry and push tags, following per-layer progress and picking up the digest.

The password travels only inside the engine API request (the X-Registry-Auth header and the
/auth body); it is never on a command line, and every message from the engine or the registry
is scrubbed of it before it is shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from opsctl.build.progress import BuildProgress
from opsctl.build.spec import scrub
from opsctl.docker_engine import event_error
from opsctl.errors import OpsctlError

_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@dataclass(frozen=True)
class Credentials:
    server: str
    username: str
    password: str
    source: str  # where the password came from, e.g. "environment variable OPSCTL_REGISTRY_PASSWORD"

    def auth_config(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password, "serveraddress": self.server}

    def __repr__(self) -> str:  # keep the password out of tracebacks and debug output
        return f"Credentials(server={self.server!r}, username={self.username!r}, source={self.source!r})"


class RegistryLoginFailed(OpsctlError):
    pass


class PushFailed(OpsctlError):
    pass


def login(api: Any, creds: Credentials) -> None:
    """Check the credentials with the registry (through the engine) before a long build/push,
    so a wrong password fails fast and says where it came from."""
    from docker.errors import APIError

    try:
        # reauth: the engine must check *these* credentials with the registry, not answer from
        # whatever ~/.docker/config.json holds for the same user.
        api.login(username=creds.username, password=creds.password, registry=creds.server, reauth=True)
    except APIError as exc:
        reason = scrub(str(exc.explanation or exc), creds.password)
        refused = "401" in reason or "unauthorized" in reason.lower()
        hint = (
            "check registry.username in opsctl.yml and the password's value at that source"
            if refused
            else f"is the registry at {creds.server} running and reachable from the Docker engine?"
        )
        raise RegistryLoginFailed(
            f"registry login to {creds.server} as {creds.username} failed "
            f"(password from {creds.source}): {reason}",
            hint=hint,
        ) from None


@dataclass
class PushStream:
    """Follows the engine's JSON push stream: layer progress, the digest, or the error."""

    progress: BuildProgress
    tag: str
    digest: str | None = None
    error: str | None = None
    layers: dict[str, str] = field(default_factory=dict)

    def feed(self, event: dict[str, Any]) -> None:
        error = event_error(event, "unknown push error")
        if error is not None:
            self.error = error
            return
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("Digest"), str):
            if aux.get("Tag") in (None, self.tag):
                self.digest = aux["Digest"]
            return
        status = event.get("status")
        if not isinstance(status, str):
            return
        layer_id = event.get("id")
        if isinstance(layer_id, str) and layer_id:
            detail = event.get("progressDetail") or {}
            current, total = detail.get("current"), detail.get("total")
            self.layers[layer_id] = status
            self.progress.layer(
                layer_id,
                status,
                current if isinstance(current, int) else None,
                total if isinstance(total, int) else None,
            )
            return
        found = _DIGEST.search(status)
        if found and self.digest is None:
            self.digest = found.group(1)


def push_tag(api: Any, image: str, tag: str, creds: Credentials | None, progress: BuildProgress) -> str:
    """Push image:tag and return the manifest digest the registry stored."""
    from docker.errors import APIError

    ref = f"{image}:{tag}"
    secret = creds.password if creds else None
    progress.push_start(ref)
    stream = PushStream(progress, tag)
    try:
        for event in api.push(
            image,
            tag=tag,
            stream=True,
            decode=True,
            auth_config=creds.auth_config() if creds else None,
        ):
            stream.feed(event)
            if stream.error:
                break
    except APIError as exc:
        stream.error = str(exc.explanation or exc)
    if stream.error:
        progress.close()
        where = f" (credentials: {creds.username}, password from {creds.source})" if creds else ""
        raise PushFailed(f"push of {ref} failed{where}: {scrub(stream.error, secret)}")
    if stream.digest is None:
        progress.close()
        raise PushFailed(f"push of {ref} finished without reporting a digest")
    progress.push_done(ref, stream.digest)
    return stream.digest
