"""The contract between Python and each playbook: what goes in, which results come out.

Fleet.run refuses a call that supplies an undeclared variable or misses a required one, and
RunResult.of(name) is the only way Python reads a task's result. tests/unit/test_playbook_contract.py
checks the other side: every variable a playbook uses is declared here (so supplied), every declared
one is used, and every result Python reads names a task of that playbook whose module returns the
keys read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Every run gets these (Fleet.run) and the data file (runner.playbook_vars).
BASE = frozenset({"opsctl_app", "opsctl_env", "opsctl_state_dir", "opsctl_primary"})


@dataclass(frozen=True)
class Result:
    task: str  # the task's name in the playbook
    module: str  # the module the task runs
    keys: tuple[str, ...] = ()  # what Python reads from the module's result


@dataclass(frozen=True)
class Playbook:
    constants: frozenset[str]  # extravars (opsctl constants only; see runner.playbook_vars)
    data: frozenset[str] = frozenset()  # keys of the run's data file
    optional: frozenset[str] = frozenset()  # constants or data keys the playbook defaults
    results: dict[str, Result] = field(default_factory=dict)


# opsctl_state returns the ledger file's raw text; Python validates it (ledger.parse_text).
_LEDGER = ("ledger_text", "ledger_problem", "ledger_path")
_LOCK = Result("Lock and ledger", "opsctl_state", ("lock_held", "holder", "released", *_LEDGER))

PLAYBOOKS: dict[str, Playbook] = {
    "prepare.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_primary_target", "opsctl_env_file_dest",
                             "opsctl_release_timeout"}),
        data=frozenset({"env_file_src", "nginx_conf", "registry", "image", "release_argv"}),
        results={"pull": Result("Pull the image", "opsctl_pull", ("digests",))},
    ),
    "roll.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_serial", "opsctl_any_errors_fatal", "opsctl_release",
                             "opsctl_network", "opsctl_label_prefix", "opsctl_env_file_dest", "opsctl_monitor",
                             "opsctl_drain", "opsctl_pause", "opsctl_ledger_hosts", "opsctl_unlock",
                             "opsctl_lock_token", "opsctl_run_id"}),
        data=frozenset({"lb_hook", "version", "image", "extra_env", "services", "proxy", "ledger"}),
        results={"swap": Result("Swap containers", "opsctl_swap")},
    ),
    "state.yml": Playbook(
        constants=frozenset({"opsctl_lock", "opsctl_lock_token", "opsctl_state_hosts", "opsctl_ledger_hosts"}),
        data=frozenset({"holder", "ledger"}),
        optional=frozenset({"opsctl_lock_token", "opsctl_state_hosts", "opsctl_ledger_hosts", "holder", "ledger"}),
        results={"lock": _LOCK},
    ),
    "release_stop.yml": Playbook(constants=frozenset({"opsctl_primary_target", "opsctl_release_container"})),
    "exec.yml": Playbook(
        constants=frozenset({"opsctl_targets"}), data=frozenset({"argv"}),
        results={"run": Result("Run the one-off command", "ansible.builtin.command", ("stdout", "stderr", "rc"))},
    ),
    "bootstrap.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_network"}),
        results={"engine": Result("Report the engine", "ansible.builtin.command", ("stdout",))},
    ),
    "status.yml": Playbook(
        constants=frozenset({"opsctl_targets"}), data=frozenset({"health", "images"}),
        optional=frozenset({"images"}),
        results={
            "containers": Result("Containers", "opsctl_status", ("containers",)),
            "ledger": Result("Ledger", "opsctl_state", _LEDGER),
        },
    ),
    "watch_facts.yml": Playbook(
        constants=frozenset({"opsctl_targets"}),
        results={
            "address": Result("Find the host's address", "ansible.builtin.setup", ("ansible_facts",)),
            "host_key": Result("Read the host's SSH key", "ansible.builtin.slurp", ("content",)),
        },
    ),
    "watch_install.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_watch_host", "opsctl_watch_dir", "opsctl_watch_name",
                             "opsctl_watch_marker"}),
        data=frozenset({"public_key", "files", "image", "run_argv"}),
        results={"run": Result("Run the watcher", "ansible.builtin.command", ("stdout",))},
    ),
    "watch_remove.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_watch_dir", "opsctl_watch_name", "opsctl_watch_marker"}),
    ),
    "logs.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_service", "opsctl_lines"}),
        data=frozenset({"since", "grep_hex"}),
        results={"logs": Result("Container logs", "opsctl_logs", ("lines", "now", "errors"))},
    ),
}


def check_supplied(playbook: str, constants: set[str], data: set[str]) -> None:
    """Refuse a run whose variables do not match the playbook's contract (a programming error)."""
    contract = PLAYBOOKS[playbook]
    problems = []
    for kind, given, declared in (("constant", constants - BASE, contract.constants),
                                  ("data key", data, contract.data)):
        problems += [f"undeclared {kind} {name}" for name in sorted(given - declared)]
        problems += [f"missing {kind} {name}" for name in sorted(declared - given - contract.optional)]
    if problems:
        raise ValueError(f"{playbook}: " + ", ".join(problems))
