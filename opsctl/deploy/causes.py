"""Why a step failed on a host, in one line: the cause read out of what Docker, the registry, SSH
or opsctl's host-side modules said.

Pure: a task's name, status and result in, one sentence out. The patterns match the words the
tools really print (tests/unit/test_causes.py holds texts captured on the lab). Everything quoted
comes from a server, so it is stripped of terminal controls, put on one line and capped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# How much of a host's own words a cause line quotes (the full text is in the run's artifacts).
DETAIL_LIMIT = 240

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


# The registry's address as Docker names it: `Get "http://localhost:5050/v2/": ...`.
_REGISTRY_URL = r'(?:Get|Head|Post) "?https?://(?P<registry>[^/"\s]+)/v2/[^"\s]*"?:\s*'
# How Go's HTTP client says that nobody (or nothing sensible) answered.
_NO_ANSWER = (r"(?P<why>EOF|connection refused|connection reset by peer|no such host|i/o timeout|"
              r"network is unreachable|no route to host|context deadline exceeded|"
              r"net/http: request canceled[^\n]*|TLS handshake timeout|server misbehaving)")

_RULES: tuple[Rule, ...] = (
    # Before the registry rules: a pull that fails writing a layer names the registry too.
    (_rx(r"no space left on device"),
     lambda m: "the host's disk is full (no space left on device)"),
    (_rx(r"Bind for [^ ]*:(?P<port>\d+) failed: port is already allocated"),
     lambda m: f"port {m['port']} is already taken on the host (by another container)"),
    (_rx(r"listen tcp[46]? [^ ]*:(?P<port>\d+): bind: address already in use"),
     lambda m: f"port {m['port']} is already taken on the host (by another process)"),
    (_rx(r"manifest for (?P<ref>\S+) not found|manifest unknown"),
     lambda m: (f"image {m['ref']} is not in the registry" if m["ref"] else "the image tag is not in the registry")
     + " (was it built and pushed? opsctl build VERSION)"),
    (_rx(r"repository does not exist|name unknown"),
     lambda m: "the image's repository is not in the registry (opsctl build VERSION pushes it)"),
    (_rx(r"login attempt to \S+ failed with status: 401|401 Unauthorized|unauthorized: "
         r"|incorrect username or password"),
     lambda m: "the registry refused the login (check registry.username and the password secret)"),
    (_rx(_REGISTRY_URL + r"(?:dial tcp [^:]+:\d+: )?(?:[a-z]+ [^:]*: )?" + _NO_ANSWER),
     lambda m: f"the registry at {m['registry']} did not answer ({m['why']})"),
    (_rx(r"Cannot connect to the Docker daemon|Is the docker daemon running"),
     lambda m: "the host's Docker engine is not running (Cannot connect to the Docker daemon)"),
    (_rx(r"(?P<name>\S+) did not pass its health check (?P<path>\S+) within (?P<seconds>[\d.]+)s "
         r"\((?P<tries>\d+) checks"),
     lambda m: f"the new container {m['name']} never passed its health check {m['path']} "
               f"within {m['seconds']}s ({m['tries']} checks)"),
    (_rx(r"(?P<name>\S+) exited before it became healthy"),
     lambda m: f"the new container {m['name']} exited before it became healthy"),
    (_rx(r"(?P<name>\S+) did not stay up through the (?P<window>[\d.]+s) monitor window"),
     lambda m: f"the new container {m['name']} did not stay up through the {m['window']} monitor window"),
    (_rx(r"image (?P<ref>\S+) is not on this host"),
     lambda m: f"image {m['ref']} is not on the host (the pull did not happen or it was removed)"),
    (_rx(r"failed to execute in the expected time frame \((?P<secs>\d+)s\)"),
     lambda m: f"the step did not finish within its {m['secs']}s timeout"),
)

_UNREACHABLE = _rx(r"(Connection timed out during banner exchange|timed out|Connection refused|"
                   r"No route to host|Connection closed|Broken pipe|Could not resolve hostname)")


def one_line(text: str, limit: int = DETAIL_LIMIT) -> str:
    """A host's text made safe and short for one line: controls removed, whitespace collapsed,
    cut to `limit` characters (keeping the end, where Docker puts the reason)."""
    from opsctl.output import strip_controls

    flat = " ".join(strip_controls(text).split())
    if len(flat) <= limit:
        return flat
    tail = flat[-(limit - 4):]
    return "... " + (tail.split(" ", 1)[1] if " " in tail[:40] else tail)  # from a word's start


def detail(result: Mapping[str, Any]) -> str:
    """The words a failed task left: its message, or for a command its last line of stderr."""
    msg = str(result.get("msg") or "").strip()
    stderr = str(result.get("stderr") or "").strip()
    if (not msg or msg == "non-zero return code") and stderr:
        return stderr.splitlines()[-1]
    if msg == "non-zero return code" and "rc" in result:
        return f"exited with status {result['rc']}"
    if result.get("censored") and not msg:
        return "failed (its output is hidden: the task handles secrets)"
    return msg or "failed"


def classify(text: str) -> str | None:
    """The cause in a failure's text, as one short sentence; None when no rule knows it."""
    for pattern, sentence in _RULES:
        match = pattern.search(text)
        if match:
            return one_line(sentence(match))
    return None


def cause(status: str, result: Mapping[str, Any]) -> str:
    """One line for a failed or unreachable task: the cause, then the host's own words (capped)."""
    said = detail(result)
    if status == "unreachable":
        found = _UNREACHABLE.search(said)
        why = f" ({found.group(1)})" if found else ""
        return f"the host did not answer over SSH{why}; is it up? (`--skip-hosts` leaves out a host known down)"
    known = classify(said) or classify(str(result.get("stderr") or ""))
    if known is None:
        return one_line(said)
    return f"{known} [{one_line(said, DETAIL_LIMIT * 2 // 3)}]"


def explain(host: str, task: str, status: str, result: Mapping[str, Any]) -> str:
    """`host: step: cause [what the host said]` on one line."""
    return f"{one_line(host, 80)}: {one_line(task, 80)}: {cause(status, result)}"
