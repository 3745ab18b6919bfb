"""Periodic work of the sync side, declared in code; `manage.py install_schedules` installs it."""

SCHEDULES = []
