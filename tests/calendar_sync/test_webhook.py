"""Real pushes from the emulator to a live server: changes become visible, forged pushes change nothing."""

import pytest
from django.test import Client

from calendar_sync.models import CalendarSubscription, Channel, Meeting
from calendar_sync.services.subscriptions import subscription_mark_changed, subscription_start
from tests.calendar_sync.conftest import assert_mirrors, event_at, google_truth, mirror, soon
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushed(settings, live_server, google, activated):
    """Ana activated with her channel pointing at the live server."""
    settings.WEBHOOK_BASE_URL = live_server.url
    ana = activated("ana@acme.test")
    subscription_start(person_id=ana.pk)
    return ana


def test_pushes_make_changes_visible(google, pushed):
    ana = pushed
    channels = google.channels()["channels"]
    assert len(channels) == 1 and channels[0]["address"].endswith("/google/notifications")
    ev = google.create_event(ana.email, event_at("Pushed", soon()))
    wait_until(lambda: ev["id"] in mirror(ana), message="the pushed event in the mirror")
    google.patch_event(ana.email, ev["id"], {"summary": "Pushed, renamed"})
    wait_until(lambda: mirror(ana).get(ev["id"]) == "Pushed, renamed", message="rename")
    google.delete_event(ana.email, ev["id"])
    wait_until(lambda: ev["id"] not in mirror(ana), message="delete")
    assert_mirrors(google, ana)


def test_forged_and_malformed_notifications_change_nothing(google, pushed):
    ana = pushed
    channel = Channel.objects.get(subscription__person=ana, state="active")
    sub = CalendarSubscription.objects.get(person=ana)
    before = (sub.next_sync_at, sub.queued_at, sub.dirty)
    client = Client()
    url = "/google/notifications"
    headers = {"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
               "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "7"}
    assert client.post(url, headers={**headers, "X-Goog-Channel-Token": "wrong"}).status_code == 200
    assert client.post(url, headers={**headers, "X-Goog-Channel-Token": channel.token,
                                     "X-Goog-Resource-ID": "other"}).status_code == 200
    assert client.post(url, headers={**headers, "X-Goog-Channel-ID": "unknown",
                                     "X-Goog-Channel-Token": channel.token}).status_code == 200
    assert client.post(url, headers={"X-Goog-Resource-State": "exists"}).status_code == 400
    assert client.get(url).status_code == 405
    sub.refresh_from_db()
    assert (sub.next_sync_at, sub.queued_at, sub.dirty) == before


def test_burst_of_pushes_coalesces(google, pushed, monkeypatch):
    """100 notifications for one calendar while a sync is queued: one task, the rest only mark it dirty."""
    ana = pushed
    sub = CalendarSubscription.objects.get(person=ana)
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # keep the task in the queue (ORM or Redis) instead of running it

    broker = get_broker()
    broker.purge_queue()
    enqueued = sum(subscription_mark_changed(subscription_id=sub.pk) for _ in range(100))
    assert enqueued == 1 and broker.queue_size() == 1
    broker.purge_queue()
    sub.refresh_from_db()
    assert sub.queued_at is not None and sub.dirty


def test_duplicated_and_reordered_pushes_are_harmless(google, pushed):
    ana = pushed
    ev = google.create_event(ana.email, event_at("Twice", soon()))
    wait_until(lambda: ev["id"] in mirror(ana), message="first sync")
    channel = Channel.objects.get(subscription__person=ana, state="active")
    client = Client()
    for number in ("9", "3", "9"):
        client.post("/google/notifications", headers={
            "X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": number,
            "X-Goog-Channel-Token": channel.token})
    assert Meeting.objects.filter(subscription__person=ana).count() == len(google_truth(google, ana.email))
    assert_mirrors(google, ana)
