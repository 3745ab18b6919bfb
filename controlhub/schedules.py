"""Periodic work of the control side, declared in code; `manage.py install_schedules` installs it."""

from django_q.models import Schedule

from controlhub.domains.services import domains_reverify_due
from controlhub.people.activation import activation_retry_due
from controlhub.tenancy.queue import task_name

SCHEDULES = [
    {
        "name": "domains.reverify",
        "func": task_name(domains_reverify_due),
        "schedule_type": Schedule.HOURLY,
    },
    {
        # Validations whose backoff has expired (and Pending people whose task was lost) run again.
        "name": "people.activation_retry_due",
        "func": task_name(activation_retry_due),
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
]
