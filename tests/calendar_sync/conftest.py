"""Fixtures of the sync engine tests: activated people on an emulated tenant, and the DB-vs-Google check."""

import datetime as dt

import pytest
from django.utils import timezone

from calendar_sync.sync.engine import sync_window
from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import Meeting
from controlhub.people.models import Person
from controlhub.tenancy.models import Domain


@pytest.fixture
def activated(org, google_tenant):
    """Make an activated person of ``org`` for an emulated user (created in the tenant if needed)."""

    def _make(email="ana@acme.test", **fields):
        if email not in ("ana@acme.test", "bo@acme.test", "admin@acme.test"):
            google_tenant.user(email, **fields)
        # Only the org's own tenant is ever impersonated: the person's domain is one the org verified.
        Domain.objects.get_or_create(organization=org, name=email.rsplit("@", 1)[1],
                                     defaults={"state": Domain.State.VERIFIED})
        return Person.objects.create(organization=org, email=email, calendar_state=Person.CalendarState.ACTIVATED)

    return _make


def iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def google_truth(google, email):
    """{event id: (title, start UTC, end UTC)} of the emulator's expanded instances inside our window."""
    start, end = sync_window()
    items = google.expanded(email, iso(start), iso(end))["items"]
    truth = {}
    for ev in items:
        truth[ev["id"]] = ev.get("summary")
    return truth


def mirror(person):
    """{event id: title} of our decrypted rows for ``person``."""
    rows = Meeting.objects.filter(source__person=person)
    return {m.google_event_id: decrypt_fields(person.organization, m, ("title",))["title"] for m in rows}


def assert_mirrors(google, person):
    truth = google_truth(google, person.email)
    assert mirror(person) == truth
    return truth


def event_at(summary, start, minutes=60, tz="UTC", **extra):
    """An emulator event body with a timed start in zone ``tz``."""
    end = start + dt.timedelta(minutes=minutes)
    return {"summary": summary, "start": {"dateTime": start.isoformat(), "timeZone": tz},
            "end": {"dateTime": end.isoformat(), "timeZone": tz}, **extra}


def soon(hours=2):
    return (timezone.now() + dt.timedelta(hours=hours)).replace(microsecond=0, second=0, minute=0)
