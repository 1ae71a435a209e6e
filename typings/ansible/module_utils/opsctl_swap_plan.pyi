# On a host Ansible ships opsctl/playbooks/module_utils/opsctl_swap_plan.py as ansible.module_utils.opsctl_swap_plan;
# mypy checks the modules that import it against the very same source.
from opsctl.playbooks.module_utils.opsctl_swap_plan import *
