"""A local webhook receiver for tests: a real HTTP server on 127.0.0.1 (stdlib, in a thread).

`/slack/...` answers like a Slack incoming webhook: 200 `ok` for a payload within Slack's rules,
400 `invalid_payload` (with the problems found) otherwise. `/json/...` and `/text/...` take anything
and answer 200; `/fail/...` answers 500; `/slow/...` waits 3 s first. Every request is recorded.

The rules are written from Slack's Block Kit reference, independently of opsctl/notify.py.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TEXT_OBJECT_TYPES = {"plain_text", "mrkdwn"}
BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "image", "rich_text", "input", "file"}


def _text_object(obj: Any, where: str, limit: int, kinds: set[str] = TEXT_OBJECT_TYPES) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: not a text object"]
    problems = []
    if obj.get("type") not in kinds:
        problems.append(f"{where}.type: {obj.get('type')!r} not in {sorted(kinds)}")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}.text: must be a non-empty string")
    elif len(text) > limit:
        problems.append(f"{where}.text: {len(text)} chars > {limit}")
    if "emoji" in obj and obj.get("type") != "plain_text":
        problems.append(f"{where}.emoji: only on plain_text")
    if set(obj) - {"type", "text", "emoji", "verbatim"}:
        problems.append(f"{where}: unknown keys {sorted(set(obj) - {'type', 'text', 'emoji', 'verbatim'})}")
    return problems


def _block(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return [f"{where}: unknown block {block!r:.80}"]
    kind = block["type"]
    if len(str(block.get("block_id", ""))) > 255:
        return [f"{where}.block_id: > 255 chars"]
    if kind == "header":
        return _text_object(block.get("text"), f"{where}.text", 150, {"plain_text"})
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"{where}: a section needs text or fields"]
        problems = _text_object(block["text"], f"{where}.text", 3000) if "text" in block else []
        fields = block.get("fields", [])
        if "fields" in block and not (isinstance(fields, list) and 1 <= len(fields) <= 10):
            problems.append(f"{where}.fields: 1-10 items")
        for i, item in enumerate(fields if isinstance(fields, list) else []):
            problems += _text_object(item, f"{where}.fields[{i}]", 2000)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [f"{where}.elements: 1-10 items"]
        problems = []
        for i, item in enumerate(elements):
            problems += _text_object(item, f"{where}.elements[{i}]", 3000)
        return problems
    return []


def slack_problems(payload: Any) -> list[str]:
    """Why Slack would answer invalid_payload (empty when the payload is fine)."""
    if not isinstance(payload, dict):
        return ["payload: not a JSON object"]
    text, blocks = payload.get("text"), payload.get("blocks")
    problems = []
    if not (isinstance(text, str) and text.strip()) and not blocks:
        problems.append("payload: needs a non-empty text or blocks")
    if text is not None and (not isinstance(text, str) or len(text) > 40000):
        problems.append("text: a string of at most 40000 chars")
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > 50:
            problems.append("blocks: a list of at most 50 blocks")
        else:
            for i, block in enumerate(blocks):
                problems += _block(block, f"blocks[{i}]")
    return problems


@dataclass
class Received:
    path: str
    content_type: str
    body: bytes
    status: int
    problems: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.received: list[Received] = []
        self._read = 0  # how far expect() has read
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer, problems = 200, b"ok", []
                if self.path.startswith("/slow/"):
                    time.sleep(3)
                if self.path.startswith("/fail/"):
                    status, answer = 500, b"[bold]server[/bold] exploded"
                elif self.path.startswith("/slack/"):
                    try:
                        problems = slack_problems(json.loads(body))
                    except ValueError:
                        problems = ["body: not JSON"]
                    if problems:
                        status, answer = 400, b"invalid_payload"
                owner.received.append(Received(self.path, self.headers.get("Content-Type", ""), body,
                                               status, problems))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, prefix: str) -> list[Received]:
        return [r for r in self.received if r.path.startswith(prefix)]

    def expect(self, words: str, timeout: float) -> Any:
        """The next JSON message (after the last one expect() returned) whose title has `words`,
        within `timeout` seconds; the ones before it are passed over."""
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            while self._read < len(self.received):
                message = self.received[self._read].json()
                self._read += 1
                seen.append(message.get("title"))
                if words in str(message.get("title")):
                    return message
            time.sleep(0.05)
        raise AssertionError(f"no message with {words!r} within {timeout} s; got {seen}")
