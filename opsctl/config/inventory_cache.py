"""What Ansible read from static inventory files, kept so a command can skip the child that reads it.

Reading an inventory costs a child process that imports Ansible (~0.65 s, the largest part of
opsctl's own start-up), on every deploy and rollback, although a static inventory rarely changes.
The child's output is reused only when it provably cannot differ: every source is a plain INI or
YAML file, and the key is a hash of everything Ansible's answer depends on (see `cache_key`).
Anything else (a directory, a script, a plugin config, a setting that loads code or data the key
cannot see, an unreadable file) returns no key, and the child runs as before.

`OPSCTL_NO_INVENTORY_CACHE=1` turns the cache off.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import importlib.metadata
import json
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from opsctl import paths
from opsctl.files import TEMP_SUFFIX, write_private_json

DISABLE = "OPSCTL_NO_INVENTORY_CACHE"
MAX_ENTRIES = 20
# Bumped when what is stored changes shape, so an older opsctl's entries are never read.
FORMAT = "1"

# The child's own code shapes the output (which variables it drops, how it flattens them).
_CHILD = Path(__file__).with_name("ansible_inventory.py")

# Ansible's fixed places; module-level so tests can point them elsewhere.
SYSTEM_CONFIG = Path("/etc/ansible/ansible.cfg")
SYSTEM_PLUGIN_DIRS = (Path("/usr/share/ansible/plugins/vars"), Path("/usr/share/ansible/plugins/inventory"))

# Decrypted vault values must never land in a cache file, and the vault secret is not in the key.
_VAULT = b"$ANSIBLE_VAULT"

# Inventory plugins that can only claim a plain file by its bytes (or not at all). A third-party
# plugin may accept any file, and its answer would depend on code the key does not cover.
# amazon.aws.aws_ec2 only accepts files named *aws_ec2.yml/yaml, which are never cached.
_BUILTIN_INVENTORY_PLUGINS = ("host_list", "script", "auto", "yaml", "ini", "toml", "constructed", "generator",
                              "advanced_host_list")
_KNOWN_INVENTORY_PLUGINS = frozenset(
    {*_BUILTIN_INVENTORY_PLUGINS, *(f"ansible.builtin.{name}" for name in _BUILTIN_INVENTORY_PLUGINS),
     "amazon.aws.aws_ec2"}
)
_KNOWN_VARS_PLUGINS = frozenset({"host_group_vars", "ansible.builtin.host_group_vars"})
# Any other fact cache adds facts from earlier playbook runs to every host's variables.
_KNOWN_FACT_CACHES = frozenset({"memory", "ansible.builtin.memory"})

# The extensions Ansible's YAML-reading inventory plugins (auto, yaml, constructed) accept.
_YAML_SUFFIXES = frozenset({".yml", ".yaml", ".json", ".config"})


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(DISABLE, "").strip().lower()
    return value in ("", "0", "false", "no")


def cache_dir() -> Path:
    return paths.state_home() / "inventory-cache"


class _TolerantLoader(yaml.SafeLoader):
    """Reads Ansible's YAML (`!unsafe`, `!vault`) far enough to see its top-level keys."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> None:
    return None


_TolerantLoader.add_multi_constructor("!", _any_tag)


def _plugin_config(path: Path, data: bytes) -> bool:
    """A YAML file with a top-level `plugin:` is an inventory plugin's config: a dynamic source."""
    if path.name.endswith(("aws_ec2.yml", "aws_ec2.yaml")):
        return True
    try:
        document = yaml.load(data, Loader=_TolerantLoader)  # a SafeLoader: builds no objects
    except (yaml.YAMLError, ValueError, RecursionError):
        # INI is not YAML; but a YAML-named file we cannot read might be what a plugin reads.
        return path.suffix.lower() in _YAML_SUFFIXES
    return isinstance(document, dict) and "plugin" in document


def is_static(path: Path) -> bool:
    """A source whose meaning is its bytes: a plain INI or YAML host list, not a script or plugin."""
    return _static_bytes(path) is not None


def _static_bytes(path: Path) -> bytes | None:
    # The child expands `~` and `$VAR` in a source; our own path checks would not have.
    if "$" in str(path) or str(path).startswith("~"):
        return None
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            return None
        data = path.read_bytes()
    except OSError:
        return None
    # Ansible's script plugin also tries a file that starts with a shebang, executable or not.
    if data.startswith(b"#!") or _VAULT in data or _plugin_config(path, data):
        return None
    return data


def _files_under(directory: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file below a directory, in a stable order, following links as Ansible does (once)."""
    seen: set[Path] = set()

    def walk(here: Path) -> Iterator[tuple[Path, bytes]]:
        real = here.resolve()
        if real in seen:  # a link back up the tree
            return
        seen.add(real)
        for entry in sorted(here.iterdir(), key=lambda p: p.name):
            if entry.is_dir():
                yield from walk(entry)
            else:
                yield entry, entry.read_bytes()  # OSError (a dangling link too): no key

    if directory.is_dir():
        yield from walk(directory)
    elif directory.exists() or directory.is_symlink():
        yield directory, directory.read_bytes()


def config_files(environ: Mapping[str, str], cwd: Path) -> list[Path]:
    """Every Ansible config file that could apply (Ansible uses the first; all of them are keyed)."""
    candidates: list[Path] = []
    named = environ.get("ANSIBLE_CONFIG")
    if named is not None:
        path = Path(os.path.expandvars(os.path.expanduser(named)))
        path = cwd / path if not path.is_absolute() else path
        candidates.append(path / "ansible.cfg" if path.is_dir() else path)
    candidates += [cwd / "ansible.cfg", Path("~/.ansible.cfg").expanduser(), SYSTEM_CONFIG]
    return [p for p in candidates if p.exists() or p.is_symlink()]


def _names(value: str) -> set[str]:
    return {part.strip().strip("'\"") for part in value.split(",") if part.strip().strip("'\"")}


def _unseen_inputs(environ: Mapping[str, str], configs: Sequence[tuple[Path, bytes]]) -> bool:
    """Whether a setting makes Ansible's answer depend on code or data the key does not cover."""
    settings: list[tuple[str, str]] = []  # (setting, value), from every config file and the environment
    for path, data in configs:
        parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
        try:
            parser.read_string(data.decode("utf-8"), source=str(path))
        except (configparser.Error, UnicodeError):
            return True  # Ansible would fail on it too; nothing worth keeping
        for section, key in (("defaults", "vars_plugins"), ("defaults", "inventory_plugins"),
                             ("defaults", "vars_plugins_enabled"), ("inventory", "enable_plugins"),
                             ("defaults", "fact_caching"), ("defaults", "home")):
            if parser.has_option(section, key):
                settings.append((key, parser.get(section, key)))
    for name, key in (("ANSIBLE_VARS_PLUGINS", "vars_plugins"), ("ANSIBLE_INVENTORY_PLUGINS", "inventory_plugins"),
                      ("ANSIBLE_VARS_ENABLED", "vars_plugins_enabled"), ("ANSIBLE_INVENTORY_ENABLED", "enable_plugins"),
                      ("ANSIBLE_CACHE_PLUGIN", "fact_caching"), ("ANSIBLE_HOME", "home")):
        if name in environ:
            settings.append((key, environ[name]))

    homes = [Path("~/.ansible")]
    for key, value in settings:
        if key in ("vars_plugins", "inventory_plugins"):
            return True  # plugin directories of the user's choosing: code
        if key == "vars_plugins_enabled" and not _names(value) <= _KNOWN_VARS_PLUGINS:
            return True
        if key == "enable_plugins" and not _names(value) <= _KNOWN_INVENTORY_PLUGINS:
            return True
        if key == "fact_caching" and value.strip().strip("'\"") not in _KNOWN_FACT_CACHES:
            return True
        if key == "home":
            homes.append(Path(os.path.expandvars(value.strip().strip("'\""))))
    # Plugins dropped in these directories run without being enabled, and can shadow the built-in
    # `ini`, `yaml` or `host_group_vars` by name.
    plugin_dirs = [*SYSTEM_PLUGIN_DIRS]
    for home in homes:
        plugin_dirs += [home.expanduser() / "plugins" / "vars", home.expanduser() / "plugins" / "inventory"]
    for directory in plugin_dirs:
        try:
            if directory.is_dir() and any(directory.iterdir()):
                return True
        except OSError:
            return True
    return False


class _Key:
    """sha256 over labelled, length-prefixed parts: no two different inputs hash the same stream."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, label: str, data: bytes | str) -> None:
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        self._hash.update(f"{label}\0{len(raw)}\0".encode("utf-8", "surrogateescape"))
        self._hash.update(raw)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def cache_key(sources: Sequence[Path], environ: Mapping[str, str], cwd: Path | None = None) -> str | None:
    """The key of what the child would print for these sources in this environment, or None.

    None when any source is not static, or when anything the answer depends on cannot be read or
    is not covered. `environ` is the environment the child gets.
    """
    if not sources:  # Ansible would read its default inventory, /etc/ansible/hosts
        return None
    try:
        cwd = Path.cwd() if cwd is None else cwd
        version = importlib.metadata.version("ansible-core")
        key = _Key()
        key.add("format", FORMAT)
        key.add("python", sys.executable)
        key.add("ansible-core", version)
        key.add("child", _CHILD.read_bytes())
        key.add("cwd", str(cwd))

        # Ansible loads group_vars/ and host_vars/ next to each source as it names the source (a
        # link is not followed), and next to its base directory, the current one (as a playbook's).
        var_dirs: list[Path] = []
        for source in sources:
            if "$" in str(source) or str(source).startswith("~"):
                return None
            given = Path(os.path.normpath(cwd / source))
            data = _static_bytes(given)
            if data is None:
                return None
            real = given.resolve()
            key.add("source", str(given))
            key.add("resolved", str(real))
            key.add("bytes", data)
            var_dirs += [given.parent, real.parent]
        var_dirs.append(cwd)
        for directory in dict.fromkeys(var_dirs):
            for name in ("group_vars", "host_vars"):
                for path, data in _files_under(directory / name):
                    if _VAULT in data:
                        return None
                    key.add("vars", str(path))
                    key.add("bytes", data)

        configs = [(path, path.read_bytes()) for path in config_files(environ, cwd)]
        for path, data in configs:
            key.add("config", str(path))
            key.add("bytes", data)
        if _unseen_inputs(environ, configs):
            return None
        for name in sorted(environ):
            if name.startswith("ANSIBLE_"):
                key.add("env", f"{name}={environ[name]}")
        return key.hexdigest()
    except (OSError, ValueError, RuntimeError, importlib.metadata.PackageNotFoundError):
        # RuntimeError: a link loop in resolve(); ValueError: a path with a NUL byte.
        return None


def well_formed(data: Any) -> bool:
    """The shape the child prints on success; a cache file is checked against it before use."""
    if not isinstance(data, dict) or "error" in data:
        return False
    hosts, groups, warnings = data.get("hosts"), data.get("groups"), data.get("warnings", [])
    return (
        isinstance(hosts, list)
        and all(isinstance(h, list) and len(h) == 3 and isinstance(h[0], str) and isinstance(h[1], dict)
                and isinstance(h[2], str) for h in hosts)
        and isinstance(groups, dict)
        and all(isinstance(g, list) and all(isinstance(n, str) for n in g) for g in groups.values())
        and isinstance(warnings, list)
        and all(isinstance(w, dict) for w in warnings)
    )


def _entry(key: str) -> Path:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"not a cache key: {key!r}")
    return cache_dir() / f"{key}.json"


def load(key: str) -> dict[str, Any] | None:
    """The stored output for `key`, or None (missing, unreadable, not ours, or not the right shape)."""
    try:
        path = _entry(key)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            # Written by us, 0600: anything else was put there by someone else.
            if (not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid()
                    or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)):
                return None
            data = json.loads(handle.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not well_formed(data):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # pruning goes by mtime: what is used stays
    return dict(data)


def discard(key: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        _entry(key).unlink(missing_ok=True)


def store(key: str, data: dict[str, Any]) -> None:
    """Keep a successful output (best effort: a cache that cannot be written is only slower)."""
    if not well_formed(data):
        return
    try:
        path = _entry(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        write_private_json(path, data)
        _prune(path.parent)
    except (OSError, TypeError, ValueError):
        return


def _prune(directory: Path, keep: int = MAX_ENTRIES) -> None:
    entries: list[tuple[float, Path]] = []
    now = time.time()
    for path in directory.iterdir():
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if path.suffix == ".json":
            entries.append((mtime, path))
        elif path.suffix == TEMP_SUFFIX and now - mtime > 3600:  # left by a process that was killed
            path.unlink(missing_ok=True)
    entries.sort(reverse=True)
    for _, path in entries[keep:]:
        path.unlink(missing_ok=True)
