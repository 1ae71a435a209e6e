"""Notifications (`notify:` in opsctl.yml): one POST per webhook for the events it chose.

Formats: `slack` (a fallback `text` plus Block Kit `blocks`, within Slack's limits), `json` (opsctl's
own object) and `text` (one text/plain line). Deliveries run at once, under one overall deadline.
A webhook that fails is one warning: the deploy already happened, and its outcome must not change
because a chat service is down. Webhook URLs carry credentials (Slack's secret is its path), so a
warning names only the scheme and host.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.config.models import Webhook

DEADLINE = 10.0
EVENTS = ("build", "deploy.start", "deploy", "deploy.failure", "rollback", "rollback.failure",
          "provision", "lock", "health")
# `health` (opsctl watch: something went down or recovered) goes wherever failures go.
GROUPS = {"failure": {"deploy.failure", "rollback.failure", "health"}, "all": set(EVENTS)}

# Slack's documented limits (Block Kit reference).
SLACK_MAX_BLOCKS = 50
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
SLACK_FIELD_MAX = 2000
SLACK_MAX_FIELDS = 10

_EMOJI = {"build": "🔨", "deploy.start": "🚀", "deploy": "✅", "deploy.failure": "❌", "rollback": "↩️",
          "rollback.failure": "❌", "provision": "🏗️", "lock": "🔒", "health": "🩺"}


@dataclass
class Event:
    """What happened, as plain data; every text field may hold outside text and is never markup."""

    name: str
    app: str
    env: str = ""
    version: str = ""
    previous_version: str = ""
    release: int | None = None
    title: str = ""
    status: str = ""
    who: str = ""
    duration: float | None = None
    hosts: list[str] = field(default_factory=list)
    failed_hosts: list[str] = field(default_factory=list)
    error: str = ""
    message: str = ""
    fleet_state: str = ""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.name.endswith(".failure") or (self.name == "health" and self.status == "down")

    def summary(self) -> str:
        """One line: what, where, who."""
        where = f"{self.app}/{self.env}" if self.env else self.app
        what = {
            "build": f"built {self.version}",
            "deploy.start": f"deploying {self.version}",
            "deploy": f"deployed {self.version}",
            "deploy.failure": f"deploy of {self.version} failed",
            "rollback": f"rolled back to {self.version}",
            "rollback.failure": f"rollback to {self.version or '?'} failed",
            "provision": "AWS resources applied",
            "lock": "deploy lock " + ("released" if self.detail.startswith("released") else "taken"),
            "health": self.title,
        }.get(self.name, self.name)
        parts = [f"{_EMOJI.get(self.name, '')} {where}: {what}".strip()]
        if self.release is not None:
            parts.append(f"release #{self.release}")
        if self.who:
            parts.append(f"by {self.who}")
        if self.duration is not None:
            parts.append(f"in {self.duration:.1f}s")
        return ", ".join(parts)


def outcome_event(app: str, env: str, outcome: Any) -> Event:
    """The event for a finished deploy or rollback (a flows.Outcome)."""
    release = outcome.release
    kind = "rollback" if release.kind == "rollback" else "deploy"
    previous = getattr(outcome, "previous", None)
    return Event(
        name=kind if outcome.ok else f"{kind}.failure", app=app, env=env, version=release.version,
        previous_version=previous.version if previous is not None else "", release=release.number,
        title=release.title, status=release.status, who=release.who, duration=release.duration,
        hosts=list(release.hosts), failed_hosts=list(outcome.failed), error=outcome.error or "",
        message=release.message or "", fleet_state=outcome.fleet_state,
    )


def wants(hook: Webhook, event: str) -> bool:
    chosen: set[str] = set()
    for name in hook.events:
        chosen |= GROUPS.get(name, {name})
    return event in chosen


def format_of(hook: Webhook) -> str:
    if hook.format is not None:
        return hook.format
    host = urllib.parse.urlsplit(hook.url).hostname or ""
    return "slack" if host == "hooks.slack.com" else "json"


def json_payload(event: Event) -> dict[str, Any]:
    data = asdict(event)
    data["event"] = data.pop("name")
    data["ok"] = not event.failed
    return data


def text_payload(event: Event) -> str:
    line = event.summary()
    if event.name in ("lock", "health") and event.detail:
        line += f": {event.detail}"
    if event.failed_hosts:
        line += f"; failed on {', '.join(event.failed_hosts)}"
    if event.error:
        line += f": {event.error.splitlines()[-1] if event.error.splitlines() else event.error}"
    return line


def slack_escape(text: str) -> str:
    """Slack reads &, < and > as control characters (links, @channel); outside text must not."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(label: str, value: str) -> dict[str, Any]:
    # The label is ours; the value is data, escaped, and the whole stays within a field's limit.
    return {"type": "mrkdwn", "text": _cut(f"*{label}*\n{slack_escape(value)}", SLACK_FIELD_MAX)}


def slack_payload(event: Event) -> dict[str, Any]:
    """`text` (the notification's fallback) plus blocks: header, facts, and on failure host + reason."""
    header = event.summary().split(", ")[0]
    facts = [
        ("App", event.app), ("Environment", event.env), ("Version", event.version),
        ("Previous version", event.previous_version),
        ("Release", f"#{event.release}" if event.release is not None else ""),
        ("Who", event.who), ("Duration", f"{event.duration:.1f}s" if event.duration is not None else ""),
        ("Hosts", ", ".join(event.hosts)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(header, SLACK_HEADER_MAX), "emoji": True}},
        {"type": "section", "fields": [_field(k, v) for k, v in facts if v][:SLACK_MAX_FIELDS]},
    ]
    if event.failed:
        failed = ", ".join(event.failed_hosts) or "(before any host was touched)"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(
            f"*Failed host(s):* {slack_escape(failed)}", SLACK_SECTION_MAX)}})
        if event.error:
            # Keep the end of the reason: that is where the cause is.
            reason = slack_escape(event.error)
            room = SLACK_SECTION_MAX - len("*Reason:*\n```\n```")
            if len(reason) > room:
                reason = "…" + reason[-(room - 1):]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Reason:*\n```{reason}```"}})
        if event.fleet_state:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(
                f"*Fleet:* {slack_escape(event.fleet_state)}", SLACK_SECTION_MAX)}})
    notes = [n for n in (event.detail, event.message) if n]
    if notes:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _cut(slack_escape(n), SLACK_FIELD_MAX)} for n in notes]})
    return {"text": _cut(slack_escape(text_payload(event)), SLACK_SECTION_MAX), "blocks": blocks[:SLACK_MAX_BLOCKS]}


def body_of(hook: Webhook, event: Event) -> tuple[bytes, str]:
    kind = format_of(hook)
    if kind == "text":
        return text_payload(event).encode(), "text/plain; charset=utf-8"
    payload = slack_payload(event) if kind == "slack" else json_payload(event)
    return json.dumps(payload, sort_keys=True, default=str).encode(), "application/json"


# --- delivery -------------------------------------------------------------------------------


def where(url: str) -> str:
    """What a message may say about a webhook URL: its scheme and host, never its path or user."""
    parts = urllib.parse.urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


def scrub(text: str, url: str) -> str:
    """Remove every secret-bearing part of `url` from an error text."""
    parts = urllib.parse.urlsplit(url)
    pieces = [url, parts.path, parts.query, parts.username or "", parts.password or "", parts.fragment]
    pieces += [urllib.parse.unquote(p) for p in pieces]
    for piece in sorted({p for p in pieces if len(p) > 1}, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def _request(url: str, body: bytes, content_type: str) -> urllib.request.Request:
    """A POST; `user:password@` in the URL becomes Basic auth (urllib would take it for the host)."""
    import base64

    parts = urllib.parse.urlsplit(url)
    headers = {"Content-Type": content_type, "User-Agent": "opsctl"}
    if parts.username is not None:
        pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        host = parts.netloc.rsplit("@", 1)[1]
        url = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return urllib.request.Request(url, data=body, method="POST", headers=headers)


def _post(hook: Webhook, event: Event, deadline: float, problems: dict[int, str], index: int) -> None:
    body, content_type = body_of(hook, event)
    request = _request(hook.url, body, content_type)
    try:
        # The config only admits http(s) URLs (models.Url), so no file: or other schemes.
        with urllib.request.urlopen(request, timeout=max(0.1, deadline - time.monotonic())) as response:
            response.read(1024)
        problems[index] = ""
    except urllib.error.HTTPError as exc:
        answer = exc.read(200).decode("utf-8", errors="replace").strip()
        problems[index] = f"HTTP {exc.code}" + (f": {answer}" if answer else "")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        problems[index] = str(getattr(exc, "reason", None) or exc)


def send(hooks: list[Webhook], event: Event, deadline: float = DEADLINE) -> list[str]:
    """POST `event` to every hook that wants it, all at once; warn once per failed hook.

    Returns the URLs that failed (for callers and tests; never printed)."""
    chosen = [h for h in hooks if wants(h, event.name)]
    if not chosen:
        return []
    end = time.monotonic() + deadline
    problems: dict[int, str] = {}
    threads = [threading.Thread(target=_post, args=(h, event, end, problems, i), daemon=True)
               for i, h in enumerate(chosen)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    failed = []
    for index, hook in enumerate(chosen):
        problem = problems.get(index, f"no answer within {deadline:g}s")
        if problem:
            _warn(f"webhook {where(hook.url)} ({event.name}) failed: {scrub(problem, hook.url)}")
            failed.append(hook.url)
    return failed


def _warn(message: str) -> None:
    from opsctl.hooks import plain_warning

    plain_warning(message.replace("\n", " ")[:300])
