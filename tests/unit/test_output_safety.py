"""Text from elsewhere prints literally: no Rich markup, no terminal control sequences."""

from __future__ import annotations

import pytest

from opsctl import output


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain\ttext\nnext", "plain\ttext\nnext"),
        ("copy\x1b]52;c;ZXZpbA==\x07me", "copyme"),  # OSC 52 clipboard write, BEL-terminated
        ("t\x1b]0;pwned\x1b\\itle", "title"),  # OSC window title, ST-terminated
        ("\x1b[2J\x1b[Hcleared", "cleared"),  # CSI clear screen, cursor home
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x9b2Jeight-bit", "eight-bit"),  # 8-bit CSI
        ("reset\x1bc", "reset"),  # RIS
        ("over\rwrite", "overwrite"),
        ("bell\x07nul\x00del\x7f", "bellnuldel"),
        ("\x1bP1$r\x1b\\dcs", "dcs"),
        ("unterminated\x1b]52;c;AAAA", "unterminated"),
        ("ünïcødé ✓", "ünïcødé ✓"),
    ],
)
def test_strip_controls(raw: str, clean: str) -> None:
    assert output.strip_controls(raw) == clean


def test_markup_in_messages_prints_literally(capsys: pytest.CaptureFixture[str]) -> None:
    output.error("held by ann ([/bold] and [red]x)", hint="see [/] there")
    output.warn("careful [/bold]")
    output.stdout().print(output.literal("msg [/bold] \x1b]52;c;QQ==\x07end"))
    captured = capsys.readouterr()
    assert "held by ann ([/bold] and [red]x)" in captured.err
    assert "see [/] there" in captured.err and "careful [/bold]" in captured.err
    assert "msg [/bold] end" in captured.out
    assert output.escape("[/bold]\x1b[2J") == "\\[/bold]"


def test_releases_table_prints_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.deploy import ledger, render

    entry = ledger.Release(
        number=1, version="v1", image="app:v1", config_hash="0123456789ab", who="[bold]ann",
        when="t", status=ledger.SUCCEEDED, message="fix [/bold] \x1b]52;c;QQ==\x07now",
    )
    render.releases([entry])
    out = capsys.readouterr().out
    assert "fix [/bold] now" in out and "[bold]ann" in out and "\x1b" not in out


def test_status_table_prints_host_data_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.deploy import render

    hosts = {
        "web1": [{"service": "web[/bold]", "name": "c1 [red]x", "version": "v1\x1b]52;c;QQ==\x07",
                  "release": 3, "state": "running [/]", "health": None, "started_at": "2026-11-23T06:00:00Z"}],
        "web2": [],
    }
    render.status(hosts, None)
    out = capsys.readouterr().out
    for text in ("web[/bold]", "c1 [red]x", "running [/]", "2026-11-23T06:00:00"):
        assert text in out
    assert "\x1b" not in out and "52;c" not in out
    assert "(nothing running)" in out
