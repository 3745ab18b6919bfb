"""Periodic work of the control side, declared in code; `manage.py install_schedules` installs it."""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "domains.reverify",
        "func": "controlhub.domains.tasks.domains_reverify_all",
        "schedule_type": Schedule.HOURLY,
    },
    {
        # Validations whose backoff has expired (and Pending people whose task was lost) run again.
        "name": "people.activation_retry_due",
        "func": "controlhub.people.tasks.activation_retry_due",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
]
