# On a host Ansible ships opsctl/playbooks/module_utils/opsctl_engine.py as ansible.module_utils.opsctl_engine;
# mypy checks the modules that import it against the very same source.
from opsctl.playbooks.module_utils.opsctl_engine import *
