"""The engine stream helpers shared by `opsctl build` and `opsctl lab` (no engine needed)."""

from __future__ import annotations

import pytest

from opsctl.docker_engine import LineSplitter, clean, event_error


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"stream": "Step 1/2 : FROM x\n"}, None),
        ({"status": "Pushing", "id": "abc"}, None),
        ({"error": "no space left"}, "no space left"),
        ({"errorDetail": {"message": "denied"}}, "denied"),
        ({"error": "", "errorDetail": {}}, "unknown"),
    ],
)
def test_event_error(event: dict[str, object], expected: str | None) -> None:
    assert event_error(event, "unknown") == expected


def test_clean_drops_escape_sequences_and_control_characters() -> None:
    hostile = "\x1b[31mred\x1b[0m \x1b]0;title\x07text\x08\r  "
    assert clean(hostile) == "red text"


def test_line_splitter_joins_partial_lines_across_events_and_flushes_on_close() -> None:
    lines: list[str] = []
    splitter = LineSplitter(lines.append)
    splitter.feed("one\r\ntw")
    splitter.feed("o\n\x1b[1mthree")
    assert lines == ["one", "two"]
    splitter.close()
    splitter.close()
    assert lines == ["one", "two", "three"]
