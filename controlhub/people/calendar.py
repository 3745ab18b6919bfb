"""A person's calendar as the sync engine knows it: the person owns a calendar source, started on activation
and stopped on deactivation. The engine (``calendar_sync.sync.sources``) knows nothing of people; this is
the one place that turns a person into a source (calendar = the primary calendar, subject = the person).
"""

import django.dispatch
from django.db import transaction

from calendar_sync.sync import sources
from calendar_sync.sync.models import CalendarSource
from controlhub.people.models import Person

# Sent after a person's source ran its first sync: presence (out of office) listens, people never import it.
person_calendar_started = django.dispatch.Signal()


def person_calendar_source(*, person, active=True):
    """The person's source, linked to the person: created or reactivated (due now); with ``active=False`` only
    made sure to exist (stopped when new: a device token can be given before activation)."""
    with transaction.atomic():
        source = sources.source_ensure(
            organization=person.organization, kind=CalendarSource.Kind.PERSON, calendar_id=person.email,
            subject=person.email, name=person.name or person.email, language=person.effective_language,
            active=active,
        )
        if person.source_id != source.pk:
            Person.objects.filter(pk=person.pk).update(source=source)
            person.source = source
    return source


def person_calendar_start(*, person_id):
    """Activation done: first full sync and push channel of the person's calendar, then the listeners."""
    person = Person.objects.select_related("organization").filter(pk=person_id).first()
    if person is None or person.calendar_state != Person.CalendarState.ACTIVATED:
        return None
    source = person_calendar_source(person=person)
    outcome = sources.source_start(source_id=source.pk)
    person_calendar_started.send(sender=Person, person_id=person.pk)
    return outcome


def person_calendars_disable(*, person_ids):
    """Deactivation, in the caller's transaction: the people's sources stop being read at once."""
    ids = Person.objects.filter(pk__in=list(person_ids), source__isnull=False).values_list("source_id", flat=True)
    return sources.sources_disable(source_ids=list(ids))


def person_calendar_stop(*, person_id):
    """Deactivation, in the background: close the channels and purge the mirrored meetings."""
    source_id = Person.objects.filter(pk=person_id).values_list("source_id", flat=True).first()
    if source_id:
        sources.source_stop(source_id=source_id)


# --- background entry points (django-q2: positional ids only) ------------------------------------------------
def person_calendar_start_task(person_id):
    person_calendar_start(person_id=person_id)


def person_calendar_stop_task(person_id):
    person_calendar_stop(person_id=person_id)
