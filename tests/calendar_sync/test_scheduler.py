"""The backstop: safety poll without pushes, reclaim of a killed worker's lease, purges."""

import datetime as dt

import pytest
from django.utils import timezone

from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.sync.scheduler import sources_claim_due, sources_maintain
from controlhub.people.calendar import person_calendar_start
from controlhub.people.models import Person
from tests.calendar_sync.conftest import assert_mirrors, event_at, mirror, soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_pushes(settings):
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"  # nothing listens: every push is lost


def test_safety_poll_converges_when_pushes_are_lost(google, activated, no_pushes, settings,
                                                    django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    ev = google.create_event(ana.email, event_at("Lost push", soon()))
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_claim_due() == []  # not due yet
    assert ev["id"] not in mirror(ana)
    sub = CalendarSource.objects.get(person=ana)
    assert sub.next_sync_at <= timezone.now() + dt.timedelta(minutes=settings.SYNC_SAFETY_POLL_MINUTES)
    later = timezone.now() + dt.timedelta(minutes=settings.SYNC_SAFETY_POLL_MINUTES, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_claim_due(now=later) == [sub.pk]
    assert_mirrors(google, ana)


def test_lease_left_by_a_killed_worker_is_reclaimed_without_duplicates(google, activated, no_pushes,
                                                                       django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at("Before the crash", soon()))
    person_calendar_start(person_id=ana.pk)
    google.create_event(ana.email, event_at("After the crash", soon(3)))
    now = timezone.now()
    # A worker claimed the row, started syncing and was killed: its lease is still live.
    CalendarSource.objects.filter(person=ana).update(next_sync_at=now, queued_at=None,
                                                           lease_until=now + dt.timedelta(seconds=120))
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_claim_due(now=now) == []
    # The lease expires: the scheduler claims the row again.
    CalendarSource.objects.filter(person=ana).update(lease_until=now - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert len(sources_claim_due(now=now)) == 1
    truth = assert_mirrors(google, ana)
    assert len(truth) == 2 and Meeting.objects.count() == 2
    sub = CalendarSource.objects.get(person=ana)
    assert sub.lease_until is None and sub.queued_at is None


def test_a_lost_queued_task_is_claimed_again(google, activated, no_pushes, django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    now = timezone.now()
    CalendarSource.objects.filter(person=ana).update(next_sync_at=now, queued_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_claim_due(now=now) == []
        assert len(sources_claim_due(now=now + dt.timedelta(seconds=61))) == 1


def test_maintenance_purges_old_and_deactivated_data(google, activated, no_pushes):
    ana, bo = activated("ana@acme.test"), activated("bo@acme.test")
    google.create_event(ana.email, event_at("Ana's", soon()))
    google.create_event(bo.email, event_at("Bo's", soon()))
    person_calendar_start(person_id=ana.pk)
    person_calendar_start(person_id=bo.pk)
    assert Meeting.objects.count() == 2
    Person.objects.filter(pk=bo.pk).update(calendar_state=Person.CalendarState.OFF)
    # Eight days later Ana's meeting has left the window.
    result = sources_maintain(now=timezone.now() + dt.timedelta(days=9))
    assert result["purged"] == 2 and Meeting.objects.count() == 0


def test_calendars_retrying_after_failures_take_at_most_their_slots(google, activated, settings, no_pushes,
                                                                    django_capture_on_commit_callbacks):
    from calendar_sync.sync.sources import source_mark_changed

    settings.SYNC_RETRY_CONCURRENCY = 1
    people = [activated(f"user{i}@acme.test") for i in range(4)]
    for person in people:
        person_calendar_start(person_id=person.pk)
    sources = [CalendarSource.objects.get(person=p) for p in people]
    now = timezone.now()
    failing, healthy = sources[:3], sources[3]
    CalendarSource.objects.filter(pk__in=[s.pk for s in failing]).update(attempts=2, next_sync_at=now)
    CalendarSource.objects.filter(pk=healthy.pk).update(next_sync_at=now)
    # A push to a retrying calendar enqueues nothing: the scheduler decides when it runs.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert source_mark_changed(source_id=failing[0].pk, now=now) is False
    assert callbacks == []
    with django_capture_on_commit_callbacks(execute=False):
        claimed = sources_claim_due(now=now)
    # The healthy one, and one retrying calendar (the slot); the others wait for it.
    assert healthy.pk in claimed and len(claimed) == 2
    with django_capture_on_commit_callbacks(execute=False):
        assert sources_claim_due(now=now) == []
    # Its run ends (here: its queued task is presumed lost after 20 s): the next one gets the slot.
    with django_capture_on_commit_callbacks(execute=False):
        later = sources_claim_due(now=now + dt.timedelta(seconds=21))
    assert len([pk for pk in later if pk != healthy.pk]) == 1
