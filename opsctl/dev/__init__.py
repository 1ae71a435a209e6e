"""`opsctl dev`: run the app on this machine through the deploy playbooks, with local stand-ins
for its AWS resources (plan.py decides, standins.py and up.py act)."""
