"""Webhooks (`notify:` in opsctl.yml): a JSON POST after a deploy, rollback or failure.

A webhook that fails is reported as a warning: the deploy already happened, and its outcome must
not change because a chat service is down.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from opsctl import output
from opsctl.config.models import Webhook

TIMEOUT = 5.0


def event_of(kind: str, ok: bool) -> str:
    return kind if ok else "failure"


def send(hooks: list[Webhook], event: str, payload: dict[str, Any]) -> list[str]:
    """POST the payload to every hook that wants this event; return the URLs that failed."""
    failed = []
    body = json.dumps({"event": event, **payload}, sort_keys=True, default=str).encode()
    for hook in hooks:
        if event not in hook.events:
            continue
        request = urllib.request.Request(
            hook.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            # The config only admits http(s) URLs (models.Url), so no file: or other schemes.
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                if response.status >= 300:
                    raise urllib.error.URLError(f"HTTP {response.status}")
        except (urllib.error.URLError, OSError) as exc:
            # Webhook URLs often carry tokens: name only scheme and host.
            where = hook.url.split("/", 3)[:3]
            output.warn(f"webhook {'/'.join(where)} failed: {getattr(exc, 'reason', exc)}")
            failed.append(hook.url)
    return failed
