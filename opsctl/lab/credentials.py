"""The lab's SSH key pair and registry password (kept in the lab dir, 0600)."""

from __future__ import annotations

import hashlib
import importlib
import secrets
import shutil
import subprocess
from pathlib import Path

from opsctl.errors import OpsctlError
from opsctl.lab import state


def ensure_key(directory: Path) -> str:
    """Make the lab's ed25519 key pair unless it exists; return the public key line."""
    key = directory / state.KEY_FILE
    pub = directory / state.PUBKEY_FILE
    if key.exists() and pub.exists():
        key.chmod(0o600)
        return pub.read_text().strip()
    for path in (key, pub):
        path.unlink(missing_ok=True)
    keygen = shutil.which("ssh-keygen")
    if keygen:
        subprocess.run(  # noqa: S603 - argument list, no shell
            [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "opsctl-lab", "-f", str(key)],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    else:
        _keygen_python(key, pub)
    key.chmod(0o600)
    return pub.read_text().strip()


def _keygen_python(key: Path, pub: Path) -> None:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError as exc:
        raise OpsctlError(
            "cannot make the lab's SSH key: neither ssh-keygen nor python 'cryptography' is here",
            hint="apt-get install openssh-client (the lab's tests use ssh too)",
        ) from exc
    private = Ed25519PrivateKey.generate()
    private_text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public_text = (
        private.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    state.write_private(key, private_text)
    state.write_public(pub, public_text + " opsctl-lab\n")


def ensure_password(directory: Path) -> str:
    """The registry password from secrets.env, made (and written 0600) when missing."""
    path = directory / state.SECRETS_FILE
    if path.exists():
        value = state.parse_secrets(path.read_text()).get(state.PASSWORD_VAR)
        if value:
            path.chmod(0o600)
            return value
    password = secrets.token_urlsafe(24)
    state.write_private(path, state.render_secrets(password))
    return password


def fingerprint(text: str) -> str:
    """A short stable hash, for labels that tell whether a container was made from this input."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def htpasswd_line(user: str, password: str) -> str:
    """`user:bcrypt-hash` for the registry's htpasswd file: python bcrypt if installed, else
    `htpasswd` (apache2-utils) with the password on stdin (never in process arguments)."""
    try:
        bcrypt = importlib.import_module("bcrypt")
    except ImportError:
        pass
    else:
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
        return f"{user}:{hashed}"
    tool = shutil.which("htpasswd")
    if tool is None:
        raise OpsctlError(
            "cannot hash the lab registry's password: needs `htpasswd` or python 'bcrypt'",
            hint="apt-get install apache2-utils (tools/setup-machine.sh does), or pip install bcrypt",
        )
    result = subprocess.run(  # noqa: S603 - argument list, no shell
        [tool, "-niB", user], input=password + "\n", capture_output=True, text=True, check=False
    )
    line = result.stdout.strip()
    if result.returncode != 0 or not line.startswith(f"{user}:$2"):
        raise OpsctlError(f"htpasswd failed: {result.stderr.strip() or line}")
    return line
