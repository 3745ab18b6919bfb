"""Real pushes from the emulator to a live server: changes become visible, forged pushes change nothing."""

import pytest
from django.test import Client

from calendar_sync.sync.models import CalendarSource, Channel, Meeting
from calendar_sync.sync.sources import source_mark_changed
from controlhub.people.calendar import person_calendar_start
from tests.calendar_sync.conftest import assert_mirrors, event_at, google_truth, mirror, soon
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushed(settings, live_server, google, activated):
    """Ana activated with her channel pointing at the live server."""
    settings.WEBHOOK_BASE_URL = live_server.url
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
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
    channel = Channel.objects.get(source__person=ana, state="active")
    sub = CalendarSource.objects.get(person=ana)
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
    sub = CalendarSource.objects.get(person=ana)
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)  # keep the task in the queue (ORM or Redis) instead of running it

    broker = get_broker()
    broker.purge_queue()
    enqueued = sum(source_mark_changed(source_id=sub.pk) for _ in range(100))
    assert enqueued == 1 and broker.queue_size() == 1
    broker.purge_queue()
    sub.refresh_from_db()
    assert sub.queued_at is not None and sub.dirty


def test_duplicated_and_reordered_pushes_are_harmless(google, pushed):
    ana = pushed
    ev = google.create_event(ana.email, event_at("Twice", soon()))
    wait_until(lambda: ev["id"] in mirror(ana), message="first sync")
    channel = Channel.objects.get(source__person=ana, state="active")
    client = Client()
    for number in ("9", "3", "9"):
        client.post("/google/notifications", headers={
            "X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": number,
            "X-Goog-Channel-Token": channel.token})
    assert Meeting.objects.filter(source__person=ana).count() == len(google_truth(google, ana.email))
    assert_mirrors(google, ana)


def _push(channel, number, state="exists"):
    headers = {"X-Goog-Channel-ID": channel.channel_id, "X-Goog-Resource-ID": channel.resource_id,
               "X-Goog-Resource-State": state, "X-Goog-Channel-Token": channel.token}
    if number is not None:
        headers["X-Goog-Message-Number"] = number
    return headers


def _settled_channel(person):
    """The active channel once the emulator's ``sync`` message (number 1) is recorded: a later read is stable."""
    channel = Channel.objects.get(source__person=person, state="active")
    wait_until(lambda: Channel.objects.get(pk=channel.pk).last_message_number >= 1, message="the sync message")
    channel.refresh_from_db()
    return channel


def _list_calls(google, since):
    return [r for r in google.requests(since)["requests"] if r["api_method"] == "calendar.v3.Events.List"]


def test_replayed_push_syncs_once(google, pushed):
    """A captured valid push replayed 10 times: the first one syncs, the nine replays change nothing."""
    ana = pushed
    channel = Channel.objects.get(source__person=ana, state="active")
    since = google.requests()["next"]
    client = Client()
    answers = [client.post("/google/notifications", headers=_push(channel, "1000")).status_code
               for _ in range(10)]
    assert all(status in (200, 204) for status in answers)
    assert len(_list_calls(google, since)) == 1
    channel.refresh_from_db()
    assert channel.last_message_number == 1000
    # An older number arriving late (out of order) is dropped too; a newer one syncs again.
    client.post("/google/notifications", headers=_push(channel, "999"))
    assert len(_list_calls(google, since)) == 1
    client.post("/google/notifications", headers=_push(channel, "1001"))
    assert len(_list_calls(google, since)) == 2


def test_concurrent_deliveries_of_one_number_count_once(google, pushed, live_server):
    """Eight simultaneous deliveries of the same message number over real HTTP: one sync."""
    import threading
    import urllib.request

    ana = pushed
    channel = Channel.objects.get(source__person=ana, state="active")
    since = google.requests()["next"]
    barrier = threading.Barrier(8)
    statuses = []

    def deliver():
        request = urllib.request.Request(live_server.url + "/google/notifications", data=b"", method="POST",
                                         headers=_push(channel, "5000"))
        barrier.wait()
        with urllib.request.urlopen(request, timeout=10) as response:
            statuses.append(response.status)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 8
    assert len(_list_calls(google, since)) == 1


@pytest.mark.parametrize("number", [None, "", "abc", "-3", "0", "1.5", "²", "99999999999999999999"])
def test_push_without_a_valid_message_number_is_refused(google, pushed, number):
    ana = pushed
    channel = _settled_channel(ana)
    sub = CalendarSource.objects.get(person=ana)
    before = (sub.next_sync_at, sub.queued_at, sub.dirty, channel.last_message_number, channel.last_message_at)
    since = google.requests()["next"]
    response = Client().post("/google/notifications", headers=_push(channel, number))
    assert response.status_code == 400
    sub.refresh_from_db()
    channel.refresh_from_db()
    assert (sub.next_sync_at, sub.queued_at, sub.dirty, channel.last_message_number, channel.last_message_at) == before
    assert _list_calls(google, since) == []


def test_a_replay_costs_the_lookup_and_one_conditional_update(google, pushed):
    """The replay check adds no statement of its own: the channel look-up, then the one UPDATE that also records
    the last push (it matches no row for a replay, so nothing is enqueued and nothing else is written)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    channel = _settled_channel(pushed)
    client = Client()
    client.post("/google/notifications", headers=_push(channel, "77"))
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/google/notifications", headers=_push(channel, "77")).status_code == 200
    statements = [q["sql"] for q in queries if q["sql"].split()[0] in ("SELECT", "UPDATE", "INSERT", "DELETE")]
    assert len(statements) == 2 and statements[0].startswith('SELECT "calendar_sync_channel"')
    assert statements[1].startswith('UPDATE "calendar_sync_channel"') and '"last_message_number" < 77' in statements[1]


def test_a_fresh_push_costs_the_lookup_two_updates_and_no_savepoint(google, pushed, monkeypatch):
    """A push that makes the calendar due: the channel look-up, the replay-check UPDATE and the claim UPDATE in one
    transaction (the claim joins the webhook's transaction: no savepoint round trips), then one task."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calendar_sync.sync import sources

    channel = _settled_channel(pushed)
    CalendarSource.objects.filter(pk=channel.source_id).update(queued_at=None, lease_until=None)
    enqueued = []
    monkeypatch.setattr(sources, "_enqueue_sync", enqueued.append)
    with CaptureQueriesContext(connection) as queries:
        assert Client().post("/google/notifications", headers=_push(channel, "90")).status_code == 200
    statements = [q["sql"] for q in queries if q["sql"].split()[0] in ("SELECT", "UPDATE", "INSERT", "DELETE")]
    assert [s.split()[0] for s in statements] == ["SELECT", "UPDATE", "UPDATE"]
    assert statements[2].startswith('UPDATE "calendar_sync_calendarsource"')
    assert not [q for q in queries if "SAVEPOINT" in q["sql"].upper()]
    assert enqueued == [channel.source_id]
