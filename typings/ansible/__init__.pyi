# The slice of Ansible that opsctl's modules use, typed for mypy (ansible-core ships no types).
