"""Periodic work of the control side, declared in code; `manage.py install_schedules` installs it."""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "domains.reverify",
        "func": "controlhub.tasks.domains.domains_reverify_all",
        "schedule_type": Schedule.HOURLY,
    },
]
