"""Periodic work of the sync side, declared in code; `manage.py install_schedules` installs it.

django-q2 schedules have one-minute granularity: ``scheduler_pass`` claims the due sources once (milliseconds)
and frees its worker; ``manage.py run_workers`` claims every 2 s besides (see ``calendar_sync.sync.scheduler``).
"""

from django_q.models import Schedule

from calendar_sync.presence.services import presence_poll_due
from calendar_sync.scheduling.keywords import keyword_meetings_release_pending
from calendar_sync.sync.scheduler import scheduler_pass
from calendar_sync.workspaces.services import rooms_periodic
from controlhub.tenancy.queue import task_name

SCHEDULES = [
    {
        "name": "calendar_sync.scheduler",
        "func": task_name(scheduler_pass),
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
        "repeats": -1,
    },
    {
        # Meetings whose deletion on the meeting service failed (429, 5xx) are deleted again.
        "name": "scheduling.release_pending",
        "func": task_name(keyword_meetings_release_pending),
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
        "repeats": -1,
    },
    {
        "name": "presence.poll",
        "func": task_name(presence_poll_due),
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
        "repeats": -1,
    },
    {
        "name": "workspaces.rooms",
        "func": task_name(rooms_periodic),
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
        "repeats": -1,
    },
]
