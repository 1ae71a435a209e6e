from typing import Any

class _Task:
    args: dict[str, Any]

class ActionBase:
    TRANSFERS_FILES: bool
    _task: _Task
    def run(self, tmp: Any = ..., task_vars: dict[str, Any] | None = ...) -> dict[str, Any]: ...
