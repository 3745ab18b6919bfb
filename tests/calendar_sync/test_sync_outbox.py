"""After-commit work of a sync is durable: a keyword revealed by a page is written to the outbox with the page,
answered after the commit, and answered exactly once even when the worker dies in between or the answer fails."""

import datetime as dt

import pytest
from django.utils import timezone

from calendar_sync.scheduling.keywords import JOIN_BLOCK_START
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.sync import engine
from calendar_sync.sync.models import CalendarSource, Meeting, OutboxEntry
from calendar_sync.sync.scheduler import sources_claim_due
from calendar_sync.sync.sources import source_mark_changed, source_run
from controlhub.people.calendar import person_calendar_start
from tests.calendar_sync.conftest import event_at, soon

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it."""


def patches(google, since):
    return [r for r in google.requests(since)["requests"] if r["method"] == "PATCH"]


def answered(google, email, event_id):
    event = next(e for e in google.events(email)["items"] if e["id"] == event_id)
    return (event.get("description") or "").count(JOIN_BLOCK_START)


def source_of(person):
    return CalendarSource.objects.get(person=person)


def run_killed_at(monkeypatch, module, name, source):
    """A run of ``source`` whose worker dies (as by SIGKILL) where it calls ``module.name``."""
    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(module, name, killed)
    with pytest.raises(WorkerKilled):
        source_run(source_id=source.pk)
    monkeypatch.undo()


def test_a_keyword_is_answered_after_the_page_commits_and_leaves_nothing_behind(google, activated):
    ana = activated("ana@acme.test")
    event = google.create_event(ana.email, event_at("Planning", soon(), location="@webex"))
    since = google.requests()["next"]
    outcome = person_calendar_start(person_id=ana.pk)
    assert outcome.effects_done == 1 and outcome.effects_failed == 0
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).count() == 1
    assert len(patches(google, since)) == 1 and answered(google, ana.email, event["id"]) == 1
    assert not OutboxEntry.objects.exists()
    # Our own PATCH comes back: not even selected again (its etag is the one we recorded).
    outcome = source_run(source_id=source_of(ana).pk)
    assert outcome.effects_done == 0 and len(patches(google, since)) == 1


def test_a_worker_killed_between_the_page_commit_and_the_answer_leaves_it_to_the_next_run(
        google, activated, monkeypatch, django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    event = google.create_event(ana.email, event_at("Planning", soon(), location="Room 4 @webex"))
    sub = source_of(ana)

    run_killed_at(monkeypatch, engine, "_outbox_after_commit", sub)
    # The page is committed (meeting row and sync token) and so is the work it implies; nothing was answered.
    sub.refresh_from_db()
    assert Meeting.objects.filter(source=sub, google_event_id=event["id"]).exists() and sub.sync_token
    entry = OutboxEntry.objects.get(source=sub)
    assert (entry.effect, entry.google_event_id, entry.state) == ("keywords", event["id"], "pending")
    assert not KeywordMeeting.objects.exists()
    # The dead worker's lease runs out; an unrelated change triggers the next run, which answers the keyword.
    CalendarSource.objects.filter(pk=sub.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    google.create_event(ana.email, event_at("Unrelated", soon(5)))
    since = google.requests()["next"]
    with django_capture_on_commit_callbacks(execute=True):
        assert source_mark_changed(source_id=sub.pk)
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).count() == 1
    assert len(patches(google, since)) == 1 and answered(google, ana.email, event["id"]) == 1
    assert not OutboxEntry.objects.exists()
    # Exactly once: more runs, the scheduler, our PATCH coming back: no second meeting, no second block.
    for _ in range(2):
        source_run(source_id=sub.pk)
    later = timezone.now() + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        sources_claim_due(now=later)
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).count() == 1
    assert len(patches(google, since)) == 1 and answered(google, ana.email, event["id"]) == 1


def test_a_worker_killed_while_it_makes_the_meeting_leaves_it_to_the_next_run_of_the_calendar(
        google, activated, monkeypatch, django_capture_on_commit_callbacks):
    """Killed after the meeting service made the meeting and before the row names it: the row stays claimed by a
    worker that is gone. The next run of the calendar (it holds the lease, so no other run of it is alive) takes
    the claim over at once, finds that meeting and answers: no waiting for the claim to run out, no second one."""
    from calendar_sync.scheduling import keywords

    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    event = google.create_event(ana.email, event_at("Planning", soon(), location="@webex"))
    sub = source_of(ana)

    run_killed_at(monkeypatch, keywords, "_after_remote_create", sub)
    km = KeywordMeeting.objects.get(google_event_id=event["id"])
    assert km.claimed_until > timezone.now() + dt.timedelta(seconds=30) and km.create_sent_at and not km.meeting_id
    # Only the dead worker's lease runs out (20 s); its claim would still stand for another minute and more.
    CalendarSource.objects.filter(pk=sub.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    since = google.requests()["next"]
    with django_capture_on_commit_callbacks(execute=True):
        assert source_mark_changed(source_id=sub.pk)
    km.refresh_from_db()
    assert km.meeting_id and km.claimed_until is None
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).count() == 1
    assert len(patches(google, since)) == 1 and answered(google, ana.email, event["id"]) == 1
    assert not OutboxEntry.objects.exists()


def test_a_failing_answer_is_retried_with_backoff_until_done(google, activated, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    sub = source_of(ana)
    event = google.create_event(ana.email, event_at("Planning", soon(), location="@webex"))
    # An unexpected error in keyword processing, then Google refusing the PATCH: both retried, never lost.
    from calendar_sync.scheduling import keywords

    real = keywords._handle_event

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(keywords, "_handle_event", broken)
    before = timezone.now()
    outcome = source_run(source_id=sub.pk)
    assert outcome.effects_failed == 1
    entry = OutboxEntry.objects.get(source=sub)
    assert entry.attempts == 1 and entry.error_code == "internal_error" and entry.next_attempt_at > before
    sub.refresh_from_db()
    assert sub.next_sync_at <= entry.next_attempt_at + dt.timedelta(seconds=1)  # the calendar is due for it
    monkeypatch.setattr(keywords, "_handle_event", real)
    google.fault(method="PATCH", path_regex=event["id"], status=500, count=1)
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    source_run(source_id=sub.pk)
    entry.refresh_from_db()
    assert entry.attempts == 2 and entry.error_code == "google_unavailable"
    since = google.requests()["next"]
    OutboxEntry.objects.update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert sources_claim_due(now=timezone.now() + dt.timedelta(minutes=31)) == [sub.pk]
    assert not OutboxEntry.objects.exists()
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).count() == 1
    assert len(patches(google, since)) == 1 and answered(google, ana.email, event["id"]) == 1


def test_an_entry_for_an_event_deleted_meanwhile_releases_its_meeting(google, activated):
    ana = activated("ana@acme.test")
    event = google.create_event(ana.email, event_at("Planning", soon(), location="@webex"))
    person_calendar_start(person_id=ana.pk)
    sub = source_of(ana)
    km = KeywordMeeting.objects.get(google_event_id=event["id"])
    google.delete_event(ana.email, event["id"])
    # Left over from a dead worker: the event is re-read from Google (gone) and its meeting released.
    OutboxEntry.objects.create(source=sub, effect="keywords", google_event_id=event["id"], token=1)
    source_run(source_id=sub.pk)
    km.refresh_from_db()
    assert km.state != KeywordMeeting.State.ACTIVE and not OutboxEntry.objects.exists()


def test_the_outbox_holds_ids_only(google, activated, monkeypatch):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    google.create_event(ana.email, event_at("Secret board meeting", soon(), location="@webex Room 9",
                                            description="confidential agenda"))
    monkeypatch.setattr(engine, "_outbox_after_commit", lambda *a, **k: None)
    source_run(source_id=source_of(ana).pk)
    row = OutboxEntry.objects.values().get()
    text = " ".join(str(v) for v in row.values())
    assert "Secret" not in text and "Room 9" not in text and "agenda" not in text
