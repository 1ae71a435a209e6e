"""What a rollout does after its hosts were swapped: the failure policy. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

SUCCEEDED = "succeeded"  # every host switched
TOLERATED = "tolerated"  # some hosts failed, no more than max_failures: the release stands
ROLL_BACK = "roll back"  # failure_action rollback: the touched hosts go back to the previous release
REMOVE = "remove"  # failure_action rollback with no previous release: the new containers go
PAUSE = "pause"  # failure_action pause (or nothing touched): leave the fleet as it is, for a human


@dataclass(frozen=True)
class Verdict:
    action: str
    touched: list[str] = field(default_factory=list)  # hosts that switched or failed, plan order


def judge(*, hosts: list[str], switched: list[str], failed: list[str], run_ok: bool,
          max_failures: int, failure_action: str, has_previous: bool,
          lost: list[str] | None = None) -> Verdict:
    """Decide from a roll's outcome.

    `failed` are hosts whose tasks failed or were unreachable; `run_ok` is false also when Ansible
    itself stopped (an error no host is to blame for), which is never tolerated. `lost` hosts (the
    unreachable ones) count as failed but are not touched again: nothing can reach them.
    """
    touched = [h for h in hosts if (h in switched or h in failed) and h not in (lost or [])]
    if not failed:
        return Verdict(SUCCEEDED if run_ok else _on_failure(failure_action, touched, has_previous), touched)
    if max_failures > 0 and len(failed) <= max_failures:
        return Verdict(TOLERATED, touched)
    return Verdict(_on_failure(failure_action, touched, has_previous), touched)


def _on_failure(failure_action: str, touched: list[str], has_previous: bool) -> str:
    if failure_action != "rollback" or not touched:
        return PAUSE
    return ROLL_BACK if has_previous else REMOVE
