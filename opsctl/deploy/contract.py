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
    decision: frozenset[str] = frozenset()  # keys of opsctl's decision (runner.Gate) the plays read


# opsctl_state returns the ledger file's raw text; Python validates it (ledger.parse_text).
_LEDGER = ("ledger_text", "ledger_problem", "ledger_path")
_LOCK = Result("Lock and ledger", "opsctl_state", ("lock_held", "holder", "released", *_LEDGER))

PLAYBOOKS: dict[str, Playbook] = {
    "prepare.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_env_file_dest"}),
        data=frozenset({"env_file_src", "nginx_conf", "ingress", "ingress_tls_file", "registry", "image", "pull"}),
        results={
            "configs": Result("Write configs and log in to the registry", "opsctl_prepare"),
            # the pull runs inside opsctl_prepare (no_log); this task hands its digests on
            "pull": Result("Image digests", "ansible.builtin.set_fact", ("ansible_facts",)),
        },
    ),
    "release.yml": Playbook(
        constants=frozenset({"opsctl_primary_target", "opsctl_release_timeout"}),
        data=frozenset({"release_argv"}),
        results={"release": Result("Run the release command", "ansible.builtin.command")},
    ),
    "decide.yml": Playbook(
        constants=frozenset(),
        results={"gate": Result("Wait for opsctl's decision", "opsctl_gate", ("waited",))},
    ),
    "roll.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_serial", "opsctl_any_errors_fatal", "opsctl_network",
                             "opsctl_label_prefix", "opsctl_monitor", "opsctl_drain", "opsctl_pause",
                             "opsctl_standby", "opsctl_unlock", "opsctl_lock_token", "opsctl_run_id", "opsctl_prestart",
                             "opsctl_prestart_fatal"}),
        data=frozenset({"lb_hook", "proxy"}),
        decision=frozenset({"release", "version", "image", "extra_env", "services", "ledger", "ledger_hosts",
                            "env_file"}),
        results={
            "prestart": Result("Start new containers ahead", "opsctl_swap"),
            "swap": Result("Swap containers", "opsctl_swap"),
            "finish": Result("Finish the rollout", "opsctl_state"),
        },
    ),
    "discard.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_network", "opsctl_label_prefix", "opsctl_monitor",
                             "opsctl_drain", "opsctl_run_id"}),
        data=frozenset({"proxy"}),
        decision=frozenset({"release", "version", "image", "extra_env", "services", "env_file"}),
        results={"discard": Result("Remove containers started ahead", "opsctl_swap")},
    ),
    "state.yml": Playbook(
        constants=frozenset({"opsctl_lock", "opsctl_lock_token", "opsctl_state_hosts", "opsctl_ledger_hosts"}),
        data=frozenset({"holder", "ledger"}),
        optional=frozenset({"opsctl_lock_token", "opsctl_state_hosts", "opsctl_ledger_hosts", "holder", "ledger"}),
        results={"lock": _LOCK},
    ),
    "remove.yml": Playbook(
        constants=frozenset({"opsctl_targets", "opsctl_network", "opsctl_label_prefix", "opsctl_ingress_name",
                             "opsctl_ingress_dir", "opsctl_ingress_key", "opsctl_keep_ledger", "opsctl_lock_token"}),
        results={"remove": Result("Remove the app from the host", "opsctl_remove", ("removed",))},
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
        constants=frozenset({"opsctl_targets"}), data=frozenset({"health", "images", "ingress"}),
        optional=frozenset({"images", "ingress"}),
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


def combined(playbooks: list[str]) -> Playbook:
    """The contract of one run of several playbooks in order: the union of theirs."""
    parts = [PLAYBOOKS[name] for name in playbooks]
    return Playbook(
        constants=frozenset().union(*(p.constants for p in parts)),
        data=frozenset().union(*(p.data for p in parts)),
        optional=frozenset().union(*(p.optional for p in parts)),
        results={k: v for p in parts for k, v in p.results.items()},
        decision=frozenset().union(*(p.decision for p in parts)),
    )


def result_task(playbooks: list[str], name: str) -> str:
    """The task whose result `name` is, in a run of `playbooks`."""
    return combined(playbooks).results[name].task


def check_supplied(playbooks: list[str], constants: set[str], data: set[str],
                   decision: set[str] | None = None) -> None:
    """Refuse a run whose variables do not match its playbooks' contract (a programming error).
    `decision` is checked when it is known before the run (a gate's is checked when it is made)."""
    contract = combined(playbooks)
    problems = []
    checks = [("constant", constants - BASE, contract.constants), ("data key", data, contract.data)]
    if decision is not None:
        checks.append(("decision key", decision, contract.decision))
    for kind, given, declared in checks:
        problems += [f"undeclared {kind} {name}" for name in sorted(given - declared)]
        problems += [f"missing {kind} {name}" for name in sorted(declared - given - contract.optional)]
    if problems:
        raise ValueError(f"{'+'.join(playbooks)}: " + ", ".join(problems))
