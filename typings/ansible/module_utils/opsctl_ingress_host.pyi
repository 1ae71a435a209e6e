# On a host Ansible ships opsctl/playbooks/module_utils/opsctl_ingress_host.py as ansible.module_utils.opsctl_ingress_host;
# mypy checks the modules that import it against the very same source.
from opsctl.playbooks.module_utils.opsctl_ingress_host import *
