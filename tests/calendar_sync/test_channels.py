"""Channels: renewed before expiry with overlap, recovered after expiry, stopped on deactivation."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from calendar_sync.sync.models import CalendarSource, Channel, Meeting
from calendar_sync.sync.sources import source_run
from controlhub.people.calendar import person_calendar_start, person_calendar_stop
from tests.calendar_sync.conftest import assert_mirrors, event_at, mirror, soon
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushed(settings, live_server, google, activated):
    settings.WEBHOOK_BASE_URL = live_server.url
    settings.CHANNEL_TTL_SECONDS = 3600
    settings.CHANNEL_RENEW_BEFORE_SECONDS = 600
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    return ana


def run_at(person, seconds_ahead):
    sub = CalendarSource.objects.get(person=person)
    return source_run(source_id=sub.pk, now=timezone.now() + dt.timedelta(seconds=seconds_ahead))


def test_channel_renewed_before_expiry_with_overlap(google, pushed):
    ana = pushed
    old = Channel.objects.get(source__person=ana, state="active")
    sub = CalendarSource.objects.get(person=ana)
    # Due again at the safety poll or the renewal time, whichever comes first.
    assert sub.next_sync_at <= old.expiration - dt.timedelta(seconds=600)
    google.advance_clock(3100)
    run_at(ana, 3100)
    new = Channel.objects.get(source__person=ana, state="active")
    assert new.pk != old.pk and Channel.objects.get(pk=old.pk).state == "stopped"
    assert [c["id"] for c in google.channels()["channels"]] == [new.channel_id]
    google.advance_clock(600)  # the old channel would have expired now; the new one carries on
    ev = google.create_event(ana.email, event_at("After renewal", soon()))
    wait_until(lambda: ev["id"] in mirror(ana), message="push through the renewed channel")


def test_expired_channel_is_replaced_and_missed_changes_caught_up(google, pushed):
    ana = pushed
    google.advance_clock(3700)  # expired at Google: pushes stop
    ev = google.create_event(ana.email, event_at("While expired", soon()))
    assert google.channels()["channels"] == []
    run_at(ana, 3700)
    assert len(google.channels()["channels"]) == 1
    assert ev["id"] in mirror(ana)
    ev2 = google.create_event(ana.email, event_at("Pushed again", soon(4)))
    wait_until(lambda: ev2["id"] in mirror(ana), message="push through the new channel")
    assert_mirrors(google, ana)


def test_deactivation_stops_channels_purges_and_ignores_late_pushes(google, pushed):
    ana = pushed
    google.create_event(ana.email, event_at("Secret", soon()))
    wait_until(lambda: Meeting.objects.filter(source__person=ana).exists(), message="synced")
    channel = Channel.objects.get(source__person=ana, state="active")
    person_calendar_stop(person_id=ana.pk)
    assert google.channels()["channels"] == []
    assert not Meeting.objects.filter(source__person=ana).exists()
    assert CalendarSource.objects.get(person=ana).state == "stopped"
    response = Client().post("/google/notifications", headers={
        "X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-State": "exists", "X-Goog-Channel-Token": channel.token})
    assert response.status_code == 200
    sub = CalendarSource.objects.get(person=ana)
    assert sub.next_sync_at is None and not Meeting.objects.exists()
