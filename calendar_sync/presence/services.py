"""Out of office: the Gmail vacation responder and Calendar ``outOfOffice`` events.

The responder is read on a schedule (``presence_poll_due``) and when a user opens their meetings page with a
stale reading (enqueued, never blocking the page). The reading is stored on ``Person.ooo_*`` so lists of people
show it without calling Google. Calendar ``outOfOffice`` events are already in the synced ``Meeting`` rows: pages
that have the rows fold them in with ``presence_of``; the refresh also folds the current (or next) one into
``Person.ooo_*`` so the people list shows it too.

https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.settings/getVacation
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.google import errors as gerrors
from calendar_sync.sync.models import Meeting
from controlhub.people.models import Person
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.queue import enqueue_after_commit, enqueue_each_after_commit

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=15)
SOURCE_GMAIL = "gmail"
SOURCE_CALENDAR = "calendar"
OPEN_START = datetime(1970, 1, 1, tzinfo=UTC)  # a responder without startTime: on since "always"


@dataclass(frozen=True)
class Presence:
    out_of_office: bool
    start: datetime | None = None
    end: datetime | None = None
    source: str = ""

    @property
    def status(self):
        return "out_of_office" if self.out_of_office else "available"

    @property
    def label(self):
        return _("Out of office") if self.out_of_office else _("Available")


def _ms(value):
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def vacation_period(settings):
    """``(start, end)`` of an enabled responder (either may be None = open), or None when it is off."""
    if not settings or not settings.get("enableAutoReply"):
        return None
    start, end = _ms(settings.get("startTime")), _ms(settings.get("endTime"))
    return (start or OPEN_START, end)


def presence_of(person, *, meetings=(), at=None):
    """The person's presence at ``at``: the stored reading, or an ``outOfOffice`` event among ``meetings``."""
    at = at or timezone.now()
    if person.is_out_of_office(at):
        return Presence(True, person.ooo_start, person.ooo_end, person.ooo_source)
    for meeting in meetings:
        if meeting.event_type == "outOfOffice" and meeting.status != "cancelled" and meeting.start <= at < meeting.end:
            return Presence(True, meeting.start, meeting.end, SOURCE_CALENDAR)
    return Presence(False)


def _calendar_ooo(person, at):
    """The current, else the next, ``outOfOffice`` event of the person (one indexed query)."""
    return (
        Meeting.objects.filter(source__person=person, event_type="outOfOffice", end__gt=at)
        .exclude(status="cancelled")
        .order_by("start")
        .only("start", "end")
        .first()
    )


@transaction.atomic
def person_presence_record(*, person, vacation, at=None):
    """Store a responder reading (``vacation``: the VacationSettings dict or None) merged with Calendar OOO."""
    at = at or timezone.now()
    periods = []
    period = vacation_period(vacation)
    if period and (period[1] is None or period[1] > at):
        periods.append((period[0], period[1], SOURCE_GMAIL))
    event = _calendar_ooo(person, at)
    if event is not None:
        periods.append((event.start, event.end, SOURCE_CALENDAR))
    current = [p for p in periods if p[0] <= at]
    chosen = current[0] if current else (min(periods, key=lambda p: p[0]) if periods else (None, None, ""))
    Person.objects.filter(pk=person.pk).update(
        ooo_start=chosen[0], ooo_end=chosen[1], ooo_source=chosen[2], ooo_checked_at=at
    )
    person.ooo_start, person.ooo_end, person.ooo_source, person.ooo_checked_at = (*chosen, at)
    return presence_of(person, at=at)


def person_presence_refresh(*, person, gateway=None):
    """Read the Gmail responder of an activated person and store the result. Google errors are logged, not
    raised: presence is a nicety and must never break a page or a worker loop."""
    if person.calendar_state != Person.CalendarState.ACTIVATED:
        return None
    try:
        if gateway is None:
            gateway = org_gateway(person.organization)
        vacation = gateway.vacation_get(person.email)
    except gerrors.MailServiceNotEnabled:
        vacation = None
    except Exception as exc:  # noqa: BLE001 - any failure (Google, key file, network) is logged, never raised
        logger.info("vacation read failed for person %s: %s", person.pk, getattr(exc, "error_code", type(exc)))
        Person.objects.filter(pk=person.pk).update(ooo_checked_at=timezone.now())
        return None
    return person_presence_record(person=person, vacation=vacation)


def presence_is_stale(person, at=None):
    at = at or timezone.now()
    return person.ooo_checked_at is None or at - person.ooo_checked_at > STALE_AFTER


def presence_refresh_if_stale(*, person):
    """Enqueue a refresh after commit when the reading is older than 15 minutes (the page never waits)."""
    if person.calendar_state != Person.CalendarState.ACTIVATED or not presence_is_stale(person):
        return False
    enqueue_after_commit(presence_refresh_task, person.pk)
    return True


# --- tasks (take ids) -----------------------------------------------------------------------------------------
def presence_refresh_task(person_id):
    person = Person.objects.select_related("organization").filter(pk=person_id).first()
    if person is not None:
        person_presence_refresh(person=person)


def presence_on_calendar_started(sender, *, person_id, **kwargs):
    """A person's calendar started syncing (activation): read their out of office now."""
    presence_refresh_task(person_id)


def presence_poll_due(limit=5000):
    """Scheduled: enqueue a refresh for activated people whose reading is stale (oldest first, bounded)."""
    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        Person.objects.filter(calendar_state=Person.CalendarState.ACTIVATED)
        .filter(Q(ooo_checked_at__isnull=True) | Q(ooo_checked_at__lt=cutoff))
        .order_by("ooo_checked_at")
        .values_list("pk", flat=True)[:limit]
    )
    enqueue_each_after_commit(presence_refresh_task, ids)
    return len(ids)
