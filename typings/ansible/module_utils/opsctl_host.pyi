# On a host Ansible ships opsctl/playbooks/module_utils/opsctl_host.py as ansible.module_utils.opsctl_host;
# mypy checks the modules that import it against the very same source.
from opsctl.playbooks.module_utils.opsctl_host import *
