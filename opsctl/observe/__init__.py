"""Seeing the system: status lights and the fleet summary, merged logs, the dashboard, the health watch."""
