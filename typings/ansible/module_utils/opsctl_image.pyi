# On a host Ansible ships opsctl/playbooks/module_utils/opsctl_image.py as ansible.module_utils.opsctl_image;
# mypy checks the modules that import it against the very same source.
from opsctl.playbooks.module_utils.opsctl_image import *
