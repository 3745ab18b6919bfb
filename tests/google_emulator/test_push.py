"""events.watch / channels.stop and push delivery to a local receiver."""

from __future__ import annotations

import email.utils
import time

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, PROJECT, http_error, wait_until

ALICE = f"alice@{DOMAIN}"
EVENT = {"summary": "x", "start": {"dateTime": "2026-05-04T10:00:00Z"}, "end": {"dateTime": "2026-05-04T11:00:00Z"}}


def watch(svc, receiver, cid="chan-1", **extra):
    body = {"id": cid, "type": "web_hook", "address": receiver.url, **extra}
    return svc.events().watch(calendarId="primary", body=body).execute()


def drain(ctl):
    assert ctl.post("/pushes/wait", {"timeout": 10})["idle"]


def test_watch_response_and_sync_message(world, ctl, receiver):
    svc = world.calendar()
    before = time.time()
    channel = watch(svc, receiver, token="target=hub")
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
    assert isinstance(channel["expiration"], str)
    expiration_ms = int(channel["expiration"])
    assert abs(expiration_ms / 1000 - (before + 604800)) < 30
    assert channel["resourceUri"].startswith("https://www.googleapis.com/calendar/v3/calendars/alice%40example.com/events")
    assert channel["token"] == "target=hub"
    sync = wait_until(lambda: receiver.messages("chan-1"), message="sync push")[0]
    headers = sync["headers"]
    assert sync["body"] == b"" and sync["path"] == "/hook"
    assert headers["X-Goog-Channel-ID"] == "chan-1"
    assert headers["X-Goog-Message-Number"] == "1"
    assert headers["X-Goog-Resource-State"] == "sync"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    assert headers["X-Goog-Resource-URI"] == channel["resourceUri"]
    assert headers["X-Goog-Channel-Token"] == "target=hub"
    assert headers["User-Agent"] == "APIs-Google"
    assert headers["Content-Length"] == "0"
    assert email.utils.parsedate_to_datetime(headers["X-Goog-Channel-Expiration"]).timestamp() == expiration_ms // 1000
    # a second channel on the same calendar shares the resourceId
    other = watch(svc, receiver, cid="chan-2")
    assert other["resourceId"] == channel["resourceId"]
    assert "token" not in other
    msg = wait_until(lambda: receiver.messages("chan-2"), message="second sync")[0]
    assert "X-Goog-Channel-Token" not in msg["headers"]


def test_exists_on_every_change_with_increasing_numbers(world, ctl, receiver):
    svc = world.calendar()
    watch(svc, receiver)
    ev = svc.events().insert(calendarId="primary", body=EVENT).execute()
    ctl.patch(f"/users/{ALICE}/events/{ev['id']}", {"summary": "y"})
    ctl.delete(f"/users/{ALICE}/events/{ev['id']}")
    msgs = wait_until(lambda: len(receiver.messages("chan-1")) >= 4 and receiver.messages("chan-1"),
                      message="four pushes")
    states = [m["headers"]["X-Goog-Resource-State"] for m in msgs]
    numbers = [int(m["headers"]["X-Goog-Message-Number"]) for m in msgs]
    assert states == ["sync", "exists", "exists", "exists"]
    assert numbers[0] == 1 and numbers == sorted(numbers) and len(set(numbers)) == 4
    # The emulator counts a push once the receiver has answered it, just after the receiver recorded it.
    def counted():
        stats = ctl.get("/stats")
        return stats if stats["pushes_sent"] >= 4 else None

    stats = wait_until(counted, message="four pushes counted")
    assert [c["event_id"] for c in stats["changes"]] == [ev["id"]] * 3
    # changes to another calendar do not notify this channel
    world.add_event(f"bob@{DOMAIN}", EVENT)
    drain(ctl)
    assert len(receiver.messages("chan-1")) == 4


def test_watch_errors(world, ctl, receiver):
    svc = world.calendar()
    watch(svc, receiver)
    with pytest.raises(HttpError) as info:
        watch(svc, receiver)
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (400, "Channel id chan-1 not unique", "channelIdNotUnique")
    ctl.put("/config", {"allow_insecure_webhooks": False})
    with pytest.raises(HttpError) as info:
        watch(svc, receiver, cid="chan-3")
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (400, f"WebHook callback must be HTTPS: {receiver.url}",
                                                 "push.webhookUrlNotHttps")
    with pytest.raises(HttpError) as info:
        svc.events().watch(calendarId=f"nobody@{DOMAIN}", body={
            "id": "chan-4", "type": "web_hook", "address": "https://hub.example/hook"}).execute()
    assert info.value.resp.status == 404


def test_ttl_default_and_cap(world, receiver):
    svc = world.calendar()
    now = time.time()
    capped = watch(svc, receiver, cid="long", params={"ttl": "99999999"})
    assert abs(int(capped["expiration"]) / 1000 - (now + 2592000)) < 30
    short = watch(svc, receiver, cid="short", params={"ttl": "60"})
    assert abs(int(short["expiration"]) / 1000 - (now + 60)) < 30


def test_channels_stop(world, ctl, receiver):
    svc = world.calendar()
    channel = watch(svc, receiver)
    assert [c["id"] for c in ctl.get("/channels")["channels"]] == ["chan-1"]
    before = ctl.get("/requests")["next"]
    assert svc.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute() == ""
    assert [(r["path"], r["status"]) for r in ctl.get(f"/requests?since={before}")["requests"]] == [
        ("/calendar/v3/channels/stop", 204)]
    assert ctl.get("/channels")["channels"] == []
    drain(ctl)
    count = len(receiver.messages("chan-1"))
    svc.events().insert(calendarId="primary", body=EVENT).execute()
    drain(ctl)
    assert len(receiver.messages("chan-1")) == count
    number = ctl.get(f"/projects/{PROJECT}")["number"]
    for payload in ({"id": "chan-1", "resourceId": channel["resourceId"]}, {"id": "nope", "resourceId": "x"}):
        with pytest.raises(HttpError) as info:
            svc.channels().stop(body=payload).execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"]) == (
            404, f"Channel '{payload['id']}' not found for project '{number}'", "notFound")


def test_channel_expiry_by_clock(world, ctl, receiver):
    svc = world.calendar()
    watch(svc, receiver, params={"ttl": "60"})
    wait_until(lambda: receiver.messages("chan-1"), message="sync")
    ctl.post("/clock", {"advance_seconds": 61})
    assert ctl.get("/channels")["channels"] == []
    world.add_event(ALICE, EVENT)
    drain(ctl)
    assert len(receiver.messages("chan-1")) == 1


def test_delivery_retries_on_5xx_and_gives_up_on_4xx(world, ctl, receiver):
    svc = world.calendar()
    receiver.statuses = [503, 502]
    watch(svc, receiver)
    msgs = wait_until(lambda: receiver.messages("chan-1"), message="sync after retries")
    assert len(msgs) == 1
    assert [m["status"] for m in receiver.received] == [503, 502, 200]
    receiver.statuses = [404]
    world.add_event(ALICE, EVENT)
    drain(ctl)
    assert [m["status"] for m in receiver.received] == [503, 502, 200, 404]
    assert ctl.get("/stats")["push_failures"] == 1
