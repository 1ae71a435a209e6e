"""The examples that end every command's --help (constants only: nothing here is formatted with input).

Click rewraps help paragraphs; the `\\b` line before the examples keeps each one on its own line.
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[str, ...]] = {
    "opsctl": ("opsctl init", "opsctl deploy v42 -e production", "opsctl --install-completion bash"),
    "init": ("opsctl init shop", "opsctl init --force"),
    "check": ("opsctl check", "opsctl -c deploy/opsctl.yml check --json"),
    "config": ("opsctl config -e staging", "opsctl config -e production --json"),
    "build": ("opsctl build v42", "opsctl build v42 --no-push --build-arg GIT_SHA=$(git rev-parse HEAD)"),
    "deploy": (
        "opsctl deploy v42 -e production -m 'fix checkout'",
        "opsctl deploy -e staging --services web,worker --dry-run",
        "opsctl deploy v42 -e production --skip-hosts web3 --lock-wait 300 --json",
    ),
    "rollback": ("opsctl rollback -e production", "opsctl rollback v41 -e production --json",
                 "opsctl rollback -e production --skip-hosts web3"),
    "releases": ("opsctl releases -e production", "opsctl releases -e production --json",
                 "opsctl releases -e production --repair"),
    "status": ("opsctl status -e production", "opsctl status -e staging --json"),
    "logs": ("opsctl logs web -e production -n 50", "opsctl logs worker -e staging --hosts app1,app2"),
    "exec": ("opsctl exec -e production -- bin/migrate --status", "opsctl exec -e staging --host app2 -- env"),
    "lock": ("opsctl lock status -e production", "opsctl lock acquire -e production -m 'database upgrade'"),
    "lock status": ("opsctl lock status -e production", "opsctl lock status -e production --json"),
    "lock acquire": ("opsctl lock acquire -e production -m 'database upgrade'",),
    "lock release": ("opsctl lock release -e production",),
    "provision": ("opsctl provision plan -e staging", "opsctl provision apply -e staging --yes"),
    "provision plan": (
        "opsctl provision plan -e production",
        "opsctl provision plan -e production --detailed-exitcode --json",
    ),
    "provision apply": ("opsctl provision apply -e staging", "opsctl provision apply -e production --yes --json"),
    "provision destroy": (
        "opsctl provision destroy -e staging",
        "opsctl provision destroy -e staging --allow-destroy shop-staging --yes",
    ),
    "bootstrap": ("opsctl bootstrap -e production", "opsctl bootstrap -e production --hosts app3", "opsctl bootstrap --local"),
    "lab": ("opsctl lab up", "opsctl lab status --json", "opsctl lab down"),
    "lab up": ("opsctl lab up", "opsctl lab up --hosts 5 --json"),
    "lab down": ("opsctl lab down", "opsctl lab down --purge"),
    "lab status": ("opsctl lab status", "opsctl lab status --json"),
    "dev": ("opsctl dev up", "opsctl dev status", "opsctl dev down"),
    "dev up": ("opsctl dev up", "opsctl dev up --version wip --port 9000", "opsctl -c app/opsctl.yml dev up --json"),
    "dev down": ("opsctl dev down", "opsctl dev down --yes"),
    "remove": ("opsctl remove -e staging", "opsctl remove -e staging --yes --keep-ledger"),
    "dev status": ("opsctl dev status", "opsctl dev status --json"),
    "graph": ("opsctl graph -e production --format svg -o production.svg", "opsctl graph -e staging --format mermaid",
              "opsctl graph -e production --live"),
    "dashboard": ("opsctl dashboard -e production", "opsctl dashboard -e staging --port 8765"),
    "watch": ("opsctl watch -e production --interval 5",
              "opsctl watch --install -e production --push opsctl:0.1.0", "opsctl watch --uninstall -e production"),
}


def epilog(command: str) -> str | None:
    """The `Examples:` block for `command` ("deploy", "lock status", ...), or None if it has none."""
    examples = EXAMPLES.get(command)
    if not examples:
        return None
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples)
