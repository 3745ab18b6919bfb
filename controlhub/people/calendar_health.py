"""What a person's page and the People list say about their calendar sync, from what the sync engine reports.

The engine sends ``calendar_sync.sync.sources.source_health`` after every failed run of a source and once when
it recovers; it never knows who owns the source. Here the owner, when it is a person, shows it:

- a failure only an admin can fix (delegation revoked, key deleted, user deleted, API disabled...): an Activated
  person goes to *Error* with the catalogue's code, the description of the failure and the catalogue's fix, and
  a history entry, exactly like a failed activation;
- a transient failure (Google unavailable, rate limits, timeouts): the person stays *Activated*; the code and
  description are shown as "retrying since …" (the source's ``retrying_since``) until the next success;
- recovery: the engine keeps retrying a failing calendar (every 15 minutes at most), so once the cause is fixed
  the next run succeeds and the person is *Activated* again, with a history entry; nobody has to click Reactivate.

Only an Error that sync put there is lifted by sync (the last history entry says so): an activation error waits
for the admin as before. Receivers run after the engine's commit and must never raise into it.
"""

import logging

from django.db import transaction
from django.utils import timezone

from calendar_sync.sync.sources import FAILING, RECOVERED, RETRYING
from controlhub.people.models import Person, PersonHistory

logger = logging.getLogger(__name__)

State = Person.CalendarState

# History messages are stored as written (the code column carries the machine-readable part).
MSG_SYNC_FAILING = "Calendar sync failing"
MSG_SYNC_RECOVERED = "Calendar sync recovered"


def _failed_by_sync(person):
    last = PersonHistory.objects.filter(person=person).order_by("-at", "-id").values_list("message", flat=True)
    message = last.first() or ""
    return message.startswith(MSG_SYNC_FAILING)


def person_calendar_failing(*, person_id, error_code, detail=""):
    """A failure only an admin can fix: Activated → Error (with history); an Error sync put there keeps
    the latest code. Returns the person's state."""
    now = timezone.now()
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            return None
        if person.calendar_state == State.ACTIVATED:
            Person.objects.filter(pk=person.pk).update(
                calendar_state=State.ERROR, state_changed_at=now, error_code=error_code[:40], error_detail=detail,
                activation_attempts=0, next_retry_at=None,
            )
            PersonHistory.objects.create(person=person, at=now, message=f"{MSG_SYNC_FAILING}: {error_code}"[:300],
                                         code=error_code[:40])
            logger.info("person %s: calendar sync failing (%s)", person.pk, error_code)
            return State.ERROR
        if person.calendar_state == State.ERROR and person.error_code != error_code and _failed_by_sync(person):
            Person.objects.filter(pk=person.pk).update(error_code=error_code[:40], error_detail=detail)
            PersonHistory.objects.create(person=person, at=now, message=f"{MSG_SYNC_FAILING}: {error_code}"[:300],
                                         code=error_code[:40])
        return person.calendar_state


def person_calendar_retrying(*, person_id, error_code, detail=""):
    """A transient failure: an Activated person stays Activated and shows what is being retried."""
    Person.objects.filter(pk=person_id, calendar_state=State.ACTIVATED).exclude(
        error_code=error_code[:40], error_detail=detail).update(error_code=error_code[:40], error_detail=detail)


def person_calendar_recovered(*, person_id):
    """The calendar synced again: an Error sync put there is lifted (Activated, with history); a retrying
    Activated person's code is cleared. Returns the person's state."""
    now = timezone.now()
    with transaction.atomic():
        person = Person.objects.select_for_update().filter(pk=person_id).first()
        if person is None:
            return None
        if person.calendar_state == State.ERROR and _failed_by_sync(person):
            Person.objects.filter(pk=person.pk).update(
                calendar_state=State.ACTIVATED, state_changed_at=now, error_code="", error_detail="",
                activation_attempts=0, next_retry_at=None,
            )
            PersonHistory.objects.create(person=person, at=now, message=MSG_SYNC_RECOVERED)
            logger.info("person %s: calendar sync recovered", person.pk)
            return State.ACTIVATED
        if person.calendar_state == State.ACTIVATED and (person.error_code or person.error_detail):
            Person.objects.filter(pk=person.pk).update(error_code="", error_detail="")
        return person.calendar_state


def person_on_source_health(sender=None, *, source_id, health, error_code="", detail="", **kwargs):
    """Receiver of ``source_health``: does nothing for a source no person owns (a room's)."""
    person_id = Person.objects.filter(source_id=source_id).values_list("pk", flat=True).first()
    if person_id is None:
        return
    if health == FAILING:
        person_calendar_failing(person_id=person_id, error_code=error_code, detail=detail)
    elif health == RETRYING:
        person_calendar_retrying(person_id=person_id, error_code=error_code, detail=detail)
    elif health == RECOVERED:
        person_calendar_recovered(person_id=person_id)
