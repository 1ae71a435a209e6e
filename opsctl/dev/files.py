"""`opsctl dev`'s files on this machine: under the state home, never inside the project.

<state home>/dev/<app>-<env>/ holds secrets.env (0600: the generated PostgreSQL password, the
DATABASE_URL and any app secret nobody supplied, reused by the next `dev up`), state.json (the
ports chosen), and the AWS endpoint's pid file and log.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from opsctl import paths

SECRETS_FILE = "secrets.env"
STATE_FILE = "state.json"


def directory(app: str, env: str) -> Path:
    return paths.state_home() / "dev" / f"{app}-{env}"


def ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def generate() -> str:
    """A secret value that is safe in a URL, an env file and a shell: letters and digits."""
    return secrets.token_hex(24)


def read_secrets(path: Path) -> dict[str, str]:
    from opsctl.config.secrets import read_env_file

    return read_env_file(path / SECRETS_FILE) if (path / SECRETS_FILE).is_file() else {}


def write_secrets(path: Path, values: dict[str, str]) -> Path:
    """Created 0600 and never briefly wider; the values are never printed."""
    from opsctl.lab.state import write_private

    target = path / SECRETS_FILE
    write_private(target, "# written by opsctl dev up; removed by opsctl dev down\n"
                  + "".join(f"{k}={v}\n" for k, v in sorted(values.items())))
    return target


def read_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path / STATE_FILE)


def saved_port(state: dict[str, Any], key: str) -> int | None:
    value = state.get(key)
    return value if isinstance(value, int) and 1024 <= value <= 65535 else None
