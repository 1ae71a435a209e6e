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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.opsctl_host import write_atomic


def read_json(path, default):
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
    except ValueError:
        return default


MAX_LEDGER_BYTES = 16 * 1024 * 1024


def read_text(path):
    """(text, problem): the file as UTF-8 text, (None, None) when there is none."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_LEDGER_BYTES + 1)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, "cannot be read: %s" % exc.strerror
    if len(raw) > MAX_LEDGER_BYTES:
        return None, "larger than %d bytes" % MAX_LEDGER_BYTES
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, "not UTF-8 text (byte %d)" % exc.start


def last_number(entries):
    numbers = [e.get("number") for e in entries if isinstance(e, dict)]
    numbers = [n for n in numbers if isinstance(n, int) and not isinstance(n, bool)]
    return max(numbers) if numbers else 0


def check_replace(path, new_entries):
    """A message when writing `new_entries` would lose releases this host knows, else None."""
    text, problem = read_text(path)
    if text is None:
        return None if problem is None else "the existing ledger %s" % problem
    try:
        old = json.loads(text)
    except ValueError:
        old = None
    if not isinstance(old, list):
        return "refusing to replace %s: it is not a ledger opsctl wrote (move it aside first)" % path
    if last_number(old) > last_number(new_entries):
        return ("refusing to replace %s: it knows release #%d, the new ledger ends at #%d"
                % (path, last_number(old), last_number(new_entries)))
    return None


def main():
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
    lock_dir = os.path.join(state_dir, "lock")
    info_path = os.path.join(lock_dir, "info.json")
    ledger_path = os.path.join(state_dir, "releases.json")
    changed = False
    result = {}

    if p["await_retire"]:
        # Old containers are stopped by a detached process after each host's switch (see
        # opsctl_swap); the rollout is not over until they are gone.
        retire_dir = os.path.join(state_dir, "retire")
        pending = os.path.join(retire_dir, "%s.pending" % p["await_retire"])
        deadline = time.monotonic() + p["await_timeout"]
        while os.path.exists(pending) and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.exists(pending):
            module.fail_json(msg="old containers were still being stopped after %ds" % p["await_timeout"])
        done = read_json(os.path.join(retire_dir, "%s.done" % p["await_retire"]), {})
        if done.get("failed"):
            module.fail_json(msg="could not remove old containers: %s" % ", ".join(done["failed"]))
        result["retired"] = done.get("stopped", [])
        for old in glob.glob(os.path.join(retire_dir, "*.done")):
            if time.time() - os.path.getmtime(old) > 86400:
                os.unlink(old)

    if p["lock"] == "acquire":
        try:
            os.mkdir(lock_dir, 0o700)
        except FileExistsError:
            holder = read_json(info_path, {"note": "lock directory without info (being written?)"})
            holder.pop("token", None)
            module.fail_json(msg="deploy lock is held", lock_held=True, holder=holder)
        write_atomic(info_path, json.dumps(dict(p["holder"], token=p["token"])))
        changed = True
    elif p["lock"] in ("release", "force_release"):
        holder = read_json(info_path, None)
        if os.path.isdir(lock_dir):
            if p["lock"] == "release" and holder is not None and holder.get("token") != p["token"]:
                holder.pop("token", None)
                module.fail_json(msg="deploy lock is held by someone else", lock_held=True, holder=holder)
            shutil.rmtree(lock_dir)
            changed = True
        if holder:
            holder.pop("token", None)
        result["released"] = holder
    if os.path.isdir(lock_dir) and p["lock"] in ("status", "acquire", "none"):
        holder = read_json(info_path, {})
        holder.pop("token", None)  # only this module compares tokens; nobody needs to see one
        result["holder"] = holder
    elif p["lock"] == "status":
        result["holder"] = None

    if p["ledger"] is not None:
        refusal = check_replace(ledger_path, p["ledger"])
        if refusal:
            module.fail_json(msg=refusal, ledger_path=ledger_path)
        write_atomic(ledger_path, json.dumps(p["ledger"], indent=1, sort_keys=True))
        changed = True
    result["ledger_text"], result["ledger_problem"] = read_text(ledger_path)
    result["ledger_path"] = ledger_path
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
