#!/usr/bin/python3
"""Ansible module: the deploy lock and the release ledger, kept on the fleet itself.

The lock is a directory created with mkdir(2), which is atomic: of two deploys racing for it,
exactly one succeeds. Its info.json says who holds it. The ledger is a JSON file replaced with
rename(2) after an fsync, so a reader never sees half of it.

The ledger comes back as the file's raw text: opsctl validates it on its side (a server's contents
are not trusted), and a broken file is never read as an empty history. A write never replaces a
copy that knows a later release than the new one (the last guard against losing history).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_atomic

DOCUMENTATION = r"""
module: opsctl_state
short_description: The deploy lock and the release ledger on a host
description:
  - Takes, reports or releases the deploy lock (an atomic mkdir), waits for a rollout's old
    containers to retire, writes the ledger, and returns the ledger file's raw text.
options:
  state_dir: {type: str, required: true, description: opsctl's state directory for the app and env.}
  lock: {type: str, default: none, description: "none, acquire, release, force_release or status."}
  token: {type: str, default: "", description: The deploy's lock token (release needs the same one).}
  holder: {type: dict, default: {}, description: Who takes the lock (written to lock/info.json).}
  ledger: {type: list, description: The full ledger to write; refused if this copy knows a later release.}
  await_retire: {type: str, description: A roll's run id whose retiring containers to wait for.}
  await_timeout: {type: float, default: 120, description: Seconds to wait for them.}
"""

RETURN = r"""
lock_held: {description: The lock is someone else's (with a failure)., type: bool}
holder: {description: The lock's holder without its token; null when unlocked (status)., type: dict}
released: {description: The holder whose lock was released., type: dict}
retired: {description: Containers the roll's retirement stopped., type: list}
ledger_text: {description: The ledger file as text; null when there is none., type: str}
ledger_problem: {description: Why the file could not be read as text., type: str}
ledger_path: {description: The ledger file's path., type: str}
timings: {description: "Seconds spent waiting for old containers to retire (drain) and writing the ledger.", type: dict}
"""

MAX_LEDGER_BYTES = 16 * 1024 * 1024
UNREADABLE = {"note": "the lock's info.json is unreadable"}


def read_json(path: str, default: Any) -> Any:
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
    except ValueError:
        return default


def read_holder(path: str, default: dict[str, Any]) -> dict[str, Any]:
    """The lock's info.json without its token (only this module compares tokens)."""
    holder = read_json(path, default)
    if not isinstance(holder, dict):
        return dict(UNREADABLE)
    holder.pop("token", None)
    return holder


def read_text(path: str) -> tuple[str | None, str | None]:
    """(text, problem): the file as UTF-8 text, (None, None) when there is none."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_LEDGER_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    if len(raw) > MAX_LEDGER_BYTES:
        return None, f"larger than {MAX_LEDGER_BYTES} bytes"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"


def last_number(entries: list[Any]) -> int:
    numbers = [e.get("number") for e in entries if isinstance(e, dict)]
    found = [n for n in numbers if isinstance(n, int) and not isinstance(n, bool)]
    return max(found) if found else 0


def check_replace(path: str, new_entries: list[Any]) -> str | None:
    """A message when writing `new_entries` would lose releases this host knows, else None."""
    text, problem = read_text(path)
    if text is None:
        return None if problem is None else f"the existing ledger {problem}"
    try:
        old = json.loads(text)
    except ValueError:
        old = None
    if not isinstance(old, list):
        return f"refusing to replace {path}: it is not a ledger opsctl wrote (move it aside first)"
    if last_number(old) > last_number(new_entries):
        return (f"refusing to replace {path}: it knows release #{last_number(old)}, "
                f"the new ledger ends at #{last_number(new_entries)}")
    return None


def await_retire(module: AnsibleModule, state_dir: str, run_id: str, timeout: float) -> list[Any]:
    """Wait until the roll's detached retirement is done (see opsctl_swap); what it stopped."""
    retire_dir = os.path.join(state_dir, "retire")
    pending = os.path.join(retire_dir, f"{run_id}.pending")
    deadline = time.monotonic() + timeout
    while os.path.exists(pending) and time.monotonic() < deadline:
        time.sleep(0.05)
    if os.path.exists(pending):
        module.fail_json(msg=f"old containers were still being stopped after {timeout:.0f}s")
    done = read_json(os.path.join(retire_dir, f"{run_id}.done"), {})
    if not isinstance(done, dict):
        done = {}
    if done.get("failed"):
        module.fail_json(msg="could not remove old containers: " + ", ".join(map(str, done["failed"])))
    for old in glob.glob(os.path.join(retire_dir, "*.done")):
        if time.time() - os.path.getmtime(old) > 86400:
            os.unlink(old)
    stopped = done.get("stopped", [])
    return stopped if isinstance(stopped, list) else []


def act_on_lock(module: AnsibleModule, lock_dir: str, result: dict[str, Any]) -> bool:
    """Take, release or report the lock as `lock` says; fills `result`; True if it changed."""
    p = module.params
    info_path = os.path.join(lock_dir, "info.json")
    changed = False
    if p["lock"] == "acquire":
        try:
            os.mkdir(lock_dir, 0o700)
        except FileExistsError:
            holder = read_holder(info_path, {"note": "lock directory without info (being written?)"})
            module.fail_json(msg="deploy lock is held", lock_held=True, holder=holder)
        write_atomic(info_path, json.dumps(dict(p["holder"], token=p["token"])))
        changed = True
    elif p["lock"] in ("release", "force_release"):
        raw = read_json(info_path, None)
        if os.path.isdir(lock_dir):
            if p["lock"] == "release" and raw is not None and (not isinstance(raw, dict)
                                                                 or raw.get("token") != p["token"]):
                module.fail_json(msg="deploy lock is held by someone else", lock_held=True,
                                 holder=read_holder(info_path, {}))
            shutil.rmtree(lock_dir)
            changed = True
        result["released"] = read_holder_value(raw)
    if os.path.isdir(lock_dir) and p["lock"] in ("status", "acquire", "none"):
        result["holder"] = read_holder(info_path, {})
    elif p["lock"] == "status":
        result["holder"] = None
    return changed


def read_holder_value(raw: Any) -> dict[str, Any] | None:
    """A released lock's holder as returned: None when there was none, without its token."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        return dict(UNREADABLE)
    raw.pop("token", None)
    return raw


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="str", required=True),
            lock=dict(type="str", default="none",
                      choices=["none", "acquire", "release", "force_release", "status"]),
            token=dict(type="str", default=""),
            holder=dict(type="dict", default={}),
            ledger=dict(type="list", elements="dict", default=None),
            await_retire=dict(type="str", default=None),
            await_timeout=dict(type="float", default=120.0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    state_dir = p["state_dir"]
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    ledger_path = os.path.join(state_dir, "releases.json")
    result: dict[str, Any] = {}
    timings: dict[str, float] = {}
    began = time.monotonic()
    if p["await_retire"]:
        result["retired"] = await_retire(module, state_dir, p["await_retire"], p["await_timeout"])
        timings["drain"] = round(time.monotonic() - began, 3)
    changed = act_on_lock(module, os.path.join(state_dir, "lock"), result)
    if p["ledger"] is not None:
        began = time.monotonic()
        refusal = check_replace(ledger_path, p["ledger"])
        if refusal:
            module.fail_json(msg=refusal, ledger_path=ledger_path)
        write_atomic(ledger_path, json.dumps(p["ledger"], indent=1, sort_keys=True))
        changed, timings["ledger"] = True, round(time.monotonic() - began, 3)
    result["timings"] = timings
    result["ledger_text"], result["ledger_problem"] = read_text(ledger_path)
    result["ledger_path"] = ledger_path
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
