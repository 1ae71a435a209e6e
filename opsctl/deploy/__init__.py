"""Deploy, rollback and fleet state: Python plans and records; playbooks act on the hosts."""
