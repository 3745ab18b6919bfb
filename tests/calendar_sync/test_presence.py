"""Out of office from the Gmail vacation responder (emulated Gmail) and Calendar outOfOffice events."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calendar_sync.presence.services import (
    OPEN_START,
    person_presence_refresh,
    presence_poll_due,
    presence_refresh_if_stale,
    vacation_period,
)
from controlhub.people.models import Person
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

pytestmark = pytest.mark.django_db


def ms(value):
    return str(int(value.timestamp() * 1000))


@pytest.fixture
def ana(org, google_tenant):
    return make_person(org, "ana@acme.test")


def test_vacation_sets_out_of_office_for_its_period(ana, google):
    start = timezone.now() - timedelta(hours=2)
    end = timezone.now() + timedelta(days=3)
    google.vacation("ana@acme.test", {"enableAutoReply": True, "responseSubject": "Away",
                                      "startTime": ms(start), "endTime": ms(end)})
    presence = person_presence_refresh(person=ana)
    ana.refresh_from_db()
    assert presence.out_of_office and ana.is_out_of_office()
    assert ana.ooo_source == "gmail" and ana.ooo_checked_at is not None
    assert abs((ana.ooo_start - start).total_seconds()) < 1 and abs((ana.ooo_end - end).total_seconds()) < 1
    assert not ana.is_out_of_office(end + timedelta(seconds=1))


def test_disabled_responder_is_not_ooo(ana, google):
    google.vacation("ana@acme.test", {"enableAutoReply": False, "startTime": ms(timezone.now() - timedelta(days=1))})
    assert person_presence_refresh(person=ana).out_of_office is False
    ana.refresh_from_db()
    assert ana.ooo_start is None and ana.ooo_checked_at is not None


def test_open_ended_responder(ana, google):
    google.vacation("ana@acme.test", {"enableAutoReply": True})
    assert person_presence_refresh(person=ana).out_of_office
    ana.refresh_from_db()
    assert ana.ooo_start == OPEN_START and ana.ooo_end is None


def test_future_vacation_is_stored_but_not_current(ana, google):
    start = timezone.now() + timedelta(days=2)
    google.vacation("ana@acme.test", {"enableAutoReply": True, "startTime": ms(start),
                                      "endTime": ms(start + timedelta(days=5))})
    assert person_presence_refresh(person=ana).out_of_office is False
    ana.refresh_from_db()
    assert ana.is_out_of_office(start + timedelta(hours=1))


def test_calendar_out_of_office_event(ana, google):
    sub = make_source(ana)
    make_meeting(sub, title="Away", event_type="outOfOffice", start=timezone.now() - timedelta(hours=1), minutes=240)
    presence = person_presence_refresh(person=ana)
    assert presence.out_of_office and presence.source == "calendar"
    ana.refresh_from_db()
    assert ana.ooo_source == "calendar" and ana.is_out_of_office()


def test_google_errors_never_raise(ana, google):
    google.fault(path_regex="settings/vacation", status=500, count=20)
    assert person_presence_refresh(person=ana) is None
    ana.refresh_from_db()
    assert ana.ooo_checked_at is not None


def test_poll_and_stale_refresh_run_for_activated_people(org, ana, google, django_capture_on_commit_callbacks):
    google.vacation("ana@acme.test", {"enableAutoReply": True})
    make_person(org, "off@acme.test", state=Person.CalendarState.OFF)
    with django_capture_on_commit_callbacks(execute=True):
        assert presence_poll_due() == 1  # enqueued after commit; tasks run inline in tests
    ana.refresh_from_db()
    assert ana.is_out_of_office()
    assert presence_refresh_if_stale(person=ana) is False  # fresh now
    ana.ooo_checked_at = timezone.now() - timedelta(minutes=20)
    assert presence_refresh_if_stale(person=ana) is True


def test_vacation_period_parsing():
    assert vacation_period({"enableAutoReply": False}) is None
    assert vacation_period(None) is None
    start, end = vacation_period({"enableAutoReply": True, "startTime": "1735689600000", "endTime": "1736294400000"})
    assert start == datetime(2025, 1, 1, tzinfo=UTC) and end == datetime(2025, 1, 8, tzinfo=UTC)
    assert vacation_period({"enableAutoReply": True, "endTime": "1736294400000"})[0] == OPEN_START


def test_presence_badge_snippet_for_the_people_list(ana):
    from django.template.loader import render_to_string

    assert "Out of office" not in render_to_string("calendar_sync/_presence_badge.html", {"person": ana})
    ana.ooo_start = timezone.now() - timedelta(hours=1)
    ana.ooo_end = timezone.now() + timedelta(days=1)
    html = render_to_string("calendar_sync/_presence_badge.html", {"person": ana})
    assert 'data-presence="out_of_office"' in html and "Out of office until" in html
