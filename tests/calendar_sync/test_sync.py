"""Full and incremental sync against the emulator, compared with the emulator's own truth."""

import datetime as dt

import pytest
from django.utils import timezone

from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.sync.sources import source_run
from controlhub.people.calendar import person_calendar_start
from tests.calendar_sync.conftest import assert_mirrors, event_at, soon

pytestmark = pytest.mark.django_db


def sync(person):
    return source_run(source_id=CalendarSource.objects.get(person=person).pk)


def test_full_then_incremental_create_move_rename_delete(google, activated):
    ana = activated("ana@acme.test")
    a = google.create_event(ana.email, event_at("Budget review", soon(), attendees=[
        {"email": "bo@acme.test", "displayName": "Bo", "responseStatus": "accepted"}],
        location="https://acme.webex.com/meet/ana"))
    b = google.create_event(ana.email, event_at("Standup", soon(26)))
    outcome = person_calendar_start(person_id=ana.pk)
    assert outcome.full and outcome.calls == 1
    assert_mirrors(google, ana)
    row = Meeting.objects.get(google_event_id=a["id"])
    assert row.join_provider == "webex" and row.attendee_count == 1
    values = decrypt_fields(ana.organization, row)
    assert values["join_url"] == "https://acme.webex.com/meet/ana"
    assert values["attendees"][0]["email"] == "bo@acme.test"

    google.patch_event(ana.email, a["id"], {"summary": "Budget review (moved)", **{
        k: v for k, v in event_at("x", soon(50)).items() if k in ("start", "end")}})
    google.delete_event(ana.email, b["id"])
    c = google.create_event(ana.email, event_at("New one", soon(5)))
    outcome = sync(ana)
    assert not outcome.full and outcome.calls == 1
    truth = assert_mirrors(google, ana)
    assert set(truth) == {a["id"], c["id"]}
    assert Meeting.objects.get(google_event_id=a["id"]).start == soon(50)


def test_the_source_a_run_reads_is_the_orm_s_with_its_org_and_what_waits(google, activated,
                                                                         django_assert_num_queries):
    """``source_for_run`` (compiled once per database) gives what the ORM gives: every column converted (times,
    flags, JSON), the organization already there, whether outbox entries wait and the newest key's version."""
    from calendar_sync.sync.models import OutboxEntry
    from calendar_sync.sync.sources import source_for_run
    from controlhub.tenancy.keys import org_cipher
    from controlhub.tenancy.models import OrgDataKey

    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    sync(ana)
    orm = CalendarSource.objects.select_related("organization").get(person=ana)
    org_cipher(orm.organization)
    OutboxEntry.objects.create(source=orm, effect="keywords", google_event_id="e1", token=1)
    with django_assert_num_queries(1):
        read = source_for_run(orm.pk)
        organization = read.organization
    fields = [f.attname for f in CalendarSource._meta.concrete_fields]
    assert {f: getattr(read, f) for f in fields} == {f: getattr(orm, f) for f in fields}
    assert read.last_synced_at is not None and read.last_synced_at.tzinfo is not None
    org_fields = [f.attname for f in organization._meta.concrete_fields]
    assert {f: getattr(organization, f) for f in org_fields} == \
        {f: getattr(orm.organization, f) for f in org_fields}
    assert read.outbox_waiting is True
    newest = OrgDataKey.objects.filter(organization=orm.organization).order_by("-version").first().version
    assert read.newest_key_version == newest
    assert not read._state.adding and read._state.db == orm._state.db

    OutboxEntry.objects.filter(source=orm).update(state=OutboxEntry.State.FAILED)
    assert source_for_run(orm.pk).outbox_waiting is False
    with pytest.raises(CalendarSource.DoesNotExist):
        source_for_run(orm.pk + 1000)


def test_recurring_series_with_moved_and_cancelled_instance(google, activated):
    ana = activated("ana@acme.test")
    first = soon(3)
    series = google.create_event(ana.email, event_at("Weekly", first, tz="Europe/Paris",
                                                     recurrence=["RRULE:FREQ=DAILY;COUNT=10"]))
    person_calendar_start(person_id=ana.pk)
    truth = assert_mirrors(google, ana)
    assert len(truth) == 10
    ids = sorted(truth)
    google.delete_event(ana.email, ids[2])
    google.patch_event(ana.email, ids[4], {k: v for k, v in event_at("Weekly", first + dt.timedelta(days=4, hours=2),
                                                                      tz="Europe/Paris").items()
                                           if k in ("start", "end")} | {"summary": "Weekly (moved)"})
    sync(ana)
    truth = assert_mirrors(google, ana)
    assert len(truth) == 9 and ids[2] not in truth
    moved = Meeting.objects.get(google_event_id=ids[4])
    assert moved.recurring_event_id == series["id"] and moved.original_start is not None
    google.delete_event(ana.email, series["id"])
    sync(ana)
    assert_mirrors(google, ana)
    assert not Meeting.objects.filter(recurring_event_id=series["id"]).exists()


def test_all_day_and_window_edges_in_several_time_zones(google, activated):
    ana = activated("ana@acme.test")
    from calendar_sync.sync.engine import sync_window

    start, end = sync_window()
    day = (timezone.now() + dt.timedelta(days=2)).date()
    google.create_event(ana.email, {"summary": "Holiday", "start": {"date": day.isoformat()},
                                    "end": {"date": (day + dt.timedelta(days=1)).isoformat()}})
    for tz in ("Pacific/Auckland", "America/Los_Angeles", "Asia/Seoul"):
        google.create_event(ana.email, event_at(f"edge-start {tz}", start - dt.timedelta(minutes=30), tz=tz))
        google.create_event(ana.email, event_at(f"edge-end {tz}", end - dt.timedelta(minutes=30), tz=tz))
        google.create_event(ana.email, event_at(f"outside {tz}", start - dt.timedelta(hours=3), tz=tz))
        google.create_event(ana.email, event_at(f"after {tz}", end + dt.timedelta(minutes=1), tz=tz))
    person_calendar_start(person_id=ana.pk)
    truth = assert_mirrors(google, ana)
    titles = set(truth.values())
    assert "Holiday" in titles and not any(t.startswith(("outside", "after")) for t in titles)
    holiday = Meeting.objects.get(all_day=True)
    assert holiday.start_date == day and holiday.end_date == day + dt.timedelta(days=1)
    # An instance moved out of the window by an incremental change is deleted.
    edge = next(i for i, t in truth.items() if t == "edge-end Asia/Seoul")
    google.patch_event(ana.email, edge, {k: v for k, v in event_at("x", end + dt.timedelta(days=3)).items()
                                         if k in ("start", "end")})
    sync(ana)
    assert_mirrors(google, ana)


def test_sync_token_invalidated_mid_life_resyncs_without_duplicates(google, activated):
    ana = activated("ana@acme.test")
    a = google.create_event(ana.email, event_at("Keep", soon()))
    b = google.create_event(ana.email, event_at("Drop", soon(4)))
    person_calendar_start(person_id=ana.pk)
    google.delete_event(ana.email, b["id"])
    google.invalidate_sync_tokens(ana.email)
    google.patch_event(ana.email, a["id"], {"summary": "Keep (renamed)"})
    outcome = sync(ana)
    assert outcome.full
    truth = assert_mirrors(google, ana)
    assert list(truth.values()) == ["Keep (renamed)"]
    assert Meeting.objects.count() == 1


def test_unchanged_events_are_skipped_by_etag(google, activated):
    ana = activated("ana@acme.test")
    for i in range(5):
        google.create_event(ana.email, event_at(f"E{i}", soon(i + 1)))
    person_calendar_start(person_id=ana.pk)
    google.invalidate_sync_tokens(ana.email)
    outcome = sync(ana)
    assert outcome.full and outcome.skipped == 5 and outcome.upserted == 0


def _list_calls(google, since):
    return [r for r in google.requests(since)["requests"] if r["method"] == "GET" and r["path"].endswith("/events")]


def test_google_503_storm_is_retried_by_schedule_never_in_place(google, activated):
    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at("Storm", soon()))
    google.fault(path_regex="/events$", method="GET", status=503, count=100)
    since = google.requests()["next"]
    started = timezone.now()
    person_calendar_start(person_id=ana.pk)
    sub = CalendarSource.objects.get(person=ana)
    # One attempt, recorded with its reason and the time of the next one; the worker is free at once.
    assert len(_list_calls(google, since)) == 1
    assert sub.attempts == 1 and sub.error_code == "google_unavailable" and sub.last_error
    assert sub.next_sync_at > timezone.now() and sub.lease_until is None and sub.retrying_since >= started
    for _ in range(6):
        sync(ana)
    sub.refresh_from_db()
    # A storm is transient: the calendar stays active and says since when it is retrying.
    assert sub.state == CalendarSource.State.ACTIVE and sub.attempts == 7 and sub.retrying_since <= started + (
        dt.timedelta(seconds=5))
    assert len(_list_calls(google, since)) == 7
    google.clear_faults()
    sync(ana)
    sub.refresh_from_db()
    assert sub.state == CalendarSource.State.ACTIVE and sub.attempts == 0 and sub.last_error == ""
    assert sub.retrying_since is None
    assert_mirrors(google, ana)


def test_retry_after_sets_the_next_attempt_and_a_push_does_not_cut_it_short(google, activated,
                                                                             django_capture_on_commit_callbacks):
    from calendar_sync.sync.sources import source_mark_changed

    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    sub = CalendarSource.objects.get(person=ana)
    google.fault(path_regex="/events$", method="GET", status=429, count=1, headers={"Retry-After": "40"})
    before = timezone.now()
    sync(ana)
    sub.refresh_from_db()
    assert sub.error_code == "rate_limited" and sub.state == CalendarSource.State.ACTIVE
    assert before + dt.timedelta(seconds=39) <= sub.next_sync_at <= timezone.now() + dt.timedelta(seconds=41)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert source_mark_changed(source_id=sub.pk) is False
    assert callbacks == []
    sub.refresh_from_db()
    assert sub.next_sync_at >= before + dt.timedelta(seconds=39)


def test_a_failure_only_an_admin_can_fix_is_failing_at_once_and_recovers_by_itself(google, activated):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    google.revoke("acme.test", google.client_id)
    from calendar_sync.google.gateway import forget_gateways

    forget_gateways()  # no cached token: the next run asks Google for one
    sync(ana)
    sub = CalendarSource.objects.get(person=ana)
    assert sub.state == CalendarSource.State.FAILING and sub.error_code == "delegation_not_authorized"
    assert timezone.now() + dt.timedelta(seconds=25) <= sub.next_sync_at <= timezone.now() + dt.timedelta(
        seconds=61)
    google.delegate("acme.test", google.client_id, ["https://www.googleapis.com/auth/calendar",
                                                    "https://www.googleapis.com/auth/gmail.settings.basic"])
    sync(ana)
    sub.refresh_from_db()
    assert sub.state == CalendarSource.State.ACTIVE and sub.error_code == "" and sub.retrying_since is None


def test_an_incremental_run_reads_the_source_once_and_skips_what_is_not_waiting(google, activated):
    """One query reads the source, its org, whether outbox entries wait and the newest key's version: a run with
    nothing waiting reads neither the outbox nor the key row (its cipher is cached), and the channel once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    google.create_event(ana.email, event_at("New", soon(3)))
    with CaptureQueriesContext(connection) as queries:
        outcome = sync(ana)
    assert outcome.upserted == 1
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert not [s for s in reads if s.startswith('SELECT "calendar_sync_outboxentry"')]
    assert not [s for s in reads if s.startswith('SELECT "controlhub_orgdatakey"')]
    assert len([s for s in reads if s.startswith('SELECT "calendar_sync_channel"')]) == 1
    assert_mirrors(google, ana)
