"""Helpers for meetings/keyword/presence tests: people, sources and encrypted Meeting rows."""

import itertools
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from calendar_sync.sync.meeting_fields import cipher_for_writes, encrypt_fields
from calendar_sync.sync.models import CalendarSource, Meeting
from controlhub.people.models import Person

_ids = itertools.count(1)


def make_person(org, email, *, user=None, state=Person.CalendarState.ACTIVATED, **fields):
    fields.setdefault("name", email.split("@")[0].capitalize())
    return Person.objects.create(organization=org, email=email, user=user, calendar_state=state, **fields)


def linked_source(person, **fields):
    """A person's calendar source row, linked to the person (what activation's ``person_calendar_source`` makes)."""
    fields.setdefault("organization", person.organization)
    fields.setdefault("calendar_id", person.email)
    fields.setdefault("subject", person.email)
    fields.setdefault("name", person.name)
    fields.setdefault("language", person.effective_language)
    source = CalendarSource.objects.create(**fields)
    Person.objects.filter(pk=person.pk).update(source=source)
    person.source = source
    return source


def make_source(person, **fields):
    fields.setdefault("last_synced_at", timezone.now())
    return linked_source(person, **fields)


def make_meeting(source, *, title="Meeting", start=None, end=None, minutes=30, all_day=False,
                 start_date=None, end_date=None, attendees=None, organizer_email=None, organizer_name="",
                 join_url=None, join_provider="", event_id=None, status="confirmed", event_type="default",
                 description="", location="", synced=True):
    """An encrypted row as a sync run writes it; ``synced`` also stamps the source's ``last_synced_at`` as
    every sync run does when it ends (what the meetings ETag follows)."""
    org = source.organization
    event_id = event_id or f"ev{next(_ids):06d}"
    if all_day:
        start_date = start_date or timezone.now().date()
        end_date = end_date or start_date + timedelta(days=1)
        start = datetime(start_date.year, start_date.month, start_date.day, tzinfo=UTC)
        end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=UTC)
    else:
        start = start or timezone.now() + timedelta(hours=1)
        end = end or start + timedelta(minutes=minutes)
    if attendees is None:
        attendees = [
            {"email": source.person.email, "name": source.person.name, "response_status": "accepted",
             "organizer": True, "resource": False, "self": True},
            {"email": "guest@example.com", "name": "Guest Example", "response_status": "needsAction",
             "organizer": False, "resource": False, "self": False},
        ]
    organizer_email = organizer_email or source.person.email
    values = {
        "title": title, "description": description, "location": location, "attendees": attendees,
        "organizer_email": organizer_email, "organizer_name": organizer_name or organizer_email,
        "join_url": join_url,
    }
    cipher = cipher_for_writes(org)
    enc = encrypt_fields(cipher, source_id=source.pk, google_event_id=event_id, values=values)
    meeting = Meeting.objects.create(
        organization=org, source=source, google_event_id=event_id, start=start, end=end,
        all_day=all_day, start_date=start_date if all_day else None, end_date=end_date if all_day else None,
        status=status, event_type=event_type, is_organizer=organizer_email == source.person.email,
        attendee_count=len(attendees), join_provider=join_provider, key_version=cipher.key_version, **enc,
    )
    if synced:
        source.last_synced_at = timezone.now()
        CalendarSource.objects.filter(pk=source.pk).update(last_synced_at=source.last_synced_at)
    return meeting


def test_helper_round_trip(org):
    from calendar_sync.sync.meeting_fields import decrypt_fields

    person = make_person(org, "helper@acme.test")
    meeting = make_meeting(make_source(person), title="Réunion", join_url="https://x.webex.com/meet/a")
    values = decrypt_fields(org, Meeting.objects.get(pk=meeting.pk))
    assert values["title"] == "Réunion"
    assert values["attendees"][1]["email"] == "guest@example.com"
