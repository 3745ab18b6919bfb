"""Nothing waits inside a worker: a sync's Google calls are one attempt each (no sleeping retries, token requests
included), in-call retries elsewhere are short and never sleep through a long Retry-After, and the scheduler's
per-minute task is one claim pass."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from calendar_sync.google import errors
from calendar_sync.google import gateway as gateway_module
from calendar_sync.google.gateway import SCOPE_CALENDAR, RetryPolicy, gateway_for_key, single_attempt
from calendar_sync.google.keys import parse_service_account_key
from calendar_sync.sync import scheduler
from calendar_sync.sync.models import CalendarSource
from calendar_sync.sync.sources import source_run
from controlhub.people.calendar import person_calendar_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(gateway_module.time, "sleep", slept.append)
    return slept


def _gateway(google):
    key = parse_service_account_key(google.key_file.read_text())
    return gateway_for_key(key, endpoint=google.base_url, retry=RetryPolicy(max_attempts=3, base=0.5, cap=2.0))


def _calls(google, since, path):
    return [r for r in google.requests(since)["requests"] if r["path"].endswith(path)]


def test_a_sync_call_is_one_attempt_and_never_sleeps(google_tenant, sleeps):
    gw = _gateway(google_tenant)
    gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    google_tenant.fault(path_regex="/events$", status=503, count=5)
    since = google_tenant.requests()["next"]
    with single_attempt(), pytest.raises(errors.GoogleUnavailable):
        gw.events_list("ana@acme.test")
    assert len(_calls(google_tenant, since, "/events")) == 1 and sleeps == []
    # Outside (a person waits for the answer): a short in-call retry.
    with pytest.raises(errors.GoogleUnavailable):
        gw.events_list("ana@acme.test")
    assert len(_calls(google_tenant, since, "/events")) == 4 and len(sleeps) == 2 and max(sleeps) <= 2.0


def test_a_token_request_is_one_attempt_too(google_tenant, sleeps, monkeypatch):
    from google.auth import _exponential_backoff

    auth_sleeps = []
    monkeypatch.setattr(_exponential_backoff.time, "sleep", auth_sleeps.append)
    google_tenant.fault(path_regex="/token$", status=503, count=5)
    since = google_tenant.requests()["next"]
    with single_attempt(), pytest.raises(errors.GoogleUnavailable):
        _gateway(google_tenant).events_list("bo@acme.test")
    assert len(_calls(google_tenant, since, "/token")) == 1 and auth_sleeps == [] and sleeps == []
    google_tenant.clear_faults()
    google_tenant.fault(path_regex="/token$", status=429, count=1, headers={"Retry-After": "30"})
    with single_attempt(), pytest.raises(errors.RateLimited) as info:
        _gateway(google_tenant).events_list("bo@acme.test")
    assert info.value.retry_after == "30"


def test_a_long_retry_after_is_never_slept_in_place(google_tenant, sleeps):
    gw = _gateway(google_tenant)
    gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    google_tenant.fault(path_regex="/events$", status=429, count=5, headers={"Retry-After": "16"})
    since = google_tenant.requests()["next"]
    with pytest.raises(errors.RateLimited) as info:
        gw.events_list("ana@acme.test")
    assert info.value.retry_after == "16" and sleeps == []
    assert len(_calls(google_tenant, since, "/events")) == 1


def test_a_timeout_holds_the_worker_one_attempt_only(activated, google, settings):
    settings.GOOGLE_HTTP_TIMEOUT = 0.5
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    from calendar_sync.google.gateway import forget_gateways

    forget_gateways()
    google.fault(path_regex="/events$", method="GET", status=0, delay_ms=1500, count=-1)
    started = time.monotonic()
    assert source_run(source_id=CalendarSource.objects.get(person=ana).pk) is None
    assert time.monotonic() - started < 1.4  # one attempt of 0.5 s (plus the token), not 4 x 20 s
    source = CalendarSource.objects.get(person=ana)
    assert source.error_code == "google_unavailable" and source.next_sync_at > timezone.now()


def test_the_per_minute_schedule_is_one_claim_pass(activated, google, django_capture_on_commit_callbacks):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    CalendarSource.objects.update(next_sync_at=timezone.now() - dt.timedelta(seconds=1))
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert scheduler.scheduler_pass() == 1
        assert scheduler.scheduler_loop() == 0  # a schedule still naming the old loop: one pass as well
    assert time.monotonic() - started < 1.0 and len(enqueued) == 1


def test_a_lease_left_by_a_dead_worker_runs_out_after_the_lease(activated, google, settings,
                                                                django_capture_on_commit_callbacks):
    settings.SYNC_LEASE_SECONDS = 0.5
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    source = CalendarSource.objects.get(person=ana)
    from calendar_sync.sync.sources import _acquire

    now = timezone.now()
    assert _acquire(source.pk, now)  # a worker took it and died: no heartbeat renews the lease
    CalendarSource.objects.filter(pk=source.pk).update(next_sync_at=now)
    with django_capture_on_commit_callbacks(execute=False):
        assert scheduler.sources_claim_due(now=now) == []
        assert scheduler.sources_claim_due(now=now + dt.timedelta(seconds=0.6)) == [source.pk]
