"""tools/scale_bench.py's changed config and its deploy command line, checked without a lab: the
config must still validate with `opsctl check`'s loader and the command line must parse."""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import scale_bench  # tools/ is not a package: found through the path above

from opsctl.cli import app


def test_the_scale_config_is_the_example_with_a_33_percent_batch(tmp_path: Path) -> None:
    from opsctl.config.loader import load

    config = load(scale_bench._config(tmp_path), environ={"HELLO_SECRET_KEY": "x"})
    assert str(config.environments["lab"].rollout.batch) == scale_bench.BATCH


def test_the_deploy_command_line_parses(tmp_path: Path) -> None:
    config = scale_bench._config(tmp_path)
    result = CliRunner().invoke(app, [*scale_bench.deploy_args(str(config), "v2"), "--help"])
    assert result.exit_code == 0, result.output
