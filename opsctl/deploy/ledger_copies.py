"""Every host keeps a copy of the ledger; this module decides which copy is the history.

Copies can differ: a host was down during a release (its copy lacks the newest entries), a host
was added (no copy yet), or the inventory order changed in an old opsctl that kept the lock on the
first host only. The rule:

- the history is the longest copy *of which every other copy is a prefix* (an older copy that
  merely lacks the newest releases, or that still holds releases the longest one trimmed away);
- a copy that is behind is reported by host and missing release numbers, and is brought up to
  date by the next write (`opsctl releases --repair`, or the next deploy or rollback);
- copies that contradict each other (the same release number with different contents, or two
  copies neither of which contains the other) are divergent: opsctl never merges them itself.

Pure: host -> releases in, verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsctl.deploy.ledger import Release


def ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 5] -> '#1-#3, #5'."""
    if not numbers:
        return "none"
    spans: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return ", ".join(f"#{a}" if a == b else f"#{a}-#{b}" for a, b in spans)


def extends(longer: list[Release], shorter: list[Release]) -> bool:
    """Whether `shorter` is `longer` with some of its newest entries missing (or older ones kept)."""
    if not longer:
        return not shorter
    tail = [r for r in shorter if r.number >= longer[0].number]
    return tail == longer[: len(tail)]


@dataclass
class Verdict:
    copies: dict[str, list[Release]]
    history: list[Release] | None  # None: divergent, nothing can be trusted without a choice
    source: str | None = None  # a host whose copy is the history
    behind: dict[str, list[int]] = field(default_factory=dict)  # host -> release numbers it lacks
    unreachable: list[str] = field(default_factory=list)
    chosen: bool = False  # the operator named the source host (e.g. for divergent copies)

    @property
    def consistent(self) -> bool:
        return self.history is not None

    @property
    def agree(self) -> bool:
        return self.consistent and not self.behind

    def per_host(self) -> dict[str, str]:
        return {host: ranges([r.number for r in rs]) for host, rs in self.copies.items()}

    def problems(self) -> list[str]:
        """What a person needs to know, one line each (empty when every copy agrees)."""
        lines: list[str] = []
        if self.history is None:
            held = "; ".join(f"{host} has {text}" for host, text in self.per_host().items())
            lines.append(
                f"the hosts' ledgers contradict each other and none contains the others ({held}); "
                "opsctl will not merge divergent histories"
            )
            lines.extend(_first_differences(self.copies))
            return lines
        full = sorted(h for h in self.copies if h not in self.behind)
        for host, missing in self.behind.items():
            lines.append(
                f"{host}'s ledger is behind: it lacks release(s) {ranges(missing)} "
                f"that {', '.join(full)} {'has' if len(full) == 1 else 'have'}"
            )
        return lines

    def writes(self) -> dict[str, list[Release]]:
        """What a repair writes: the history, to every reachable host whose copy differs."""
        if self.history is None:
            return {}
        if self.chosen:
            return {host: self.history for host, copy in self.copies.items() if copy != self.history}
        return {host: self.history for host in self.behind}


def _first_differences(copies: dict[str, list[Release]]) -> list[str]:
    by_number: dict[int, dict[str, Release]] = {}
    for host, releases in copies.items():
        for release in releases:
            by_number.setdefault(release.number, {})[host] = release
    lines = []
    for number in sorted(by_number):
        versions = by_number[number]
        if len({r.model_dump_json() for r in versions.values()}) > 1:
            seen = "; ".join(f"{h}: {r.title} by {r.who} at {r.when}" for h, r in versions.items())
            lines.append(f"release #{number} differs between hosts ({seen})")
            if len(lines) == 3:
                break
    return lines


def judge(copies: dict[str, list[Release]], unreachable: list[str] | None = None,
          prefer: str | None = None) -> Verdict:
    """The verdict on the copies read from the hosts that answered.

    `prefer` names a host whose copy the operator chose as the history (for divergent copies);
    without it the longest copy wins only if it contains every other one.
    """
    missing = sorted(unreachable or [])
    if prefer is not None:
        chosen = copies[prefer]
        behind = {h: _lacks(chosen, c) for h, c in copies.items() if h != prefer and c != chosen}
        return Verdict(copies, chosen, prefer, {h: m for h, m in behind.items() if m}, missing, chosen=True)
    if not copies:
        return Verdict(copies, [], None, {}, missing)
    source = max(copies, key=lambda h: (copies[h][-1].number if copies[h] else 0, len(copies[h]), h == min(copies)))
    longest = copies[source]
    if not all(extends(longest, copy) for copy in copies.values()):
        return Verdict(copies, None, None, {}, missing)
    behind = {h: _lacks(longest, c) for h, c in copies.items() if c != longest}
    return Verdict(copies, longest, source, {h: m for h, m in behind.items() if m}, missing)


def _lacks(history: list[Release], copy: list[Release]) -> list[int]:
    have = {r.number: r for r in copy}
    return [r.number for r in history if have.get(r.number) != r]
