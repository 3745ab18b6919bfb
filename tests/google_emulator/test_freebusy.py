"""freeBusy.query: what counts as busy, and the per-calendar errors."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, A, event, http_error

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROOM = "c_fb@resource.calendar.google.com"
DAY = {"timeMin": "2026-05-04T00:00:00Z", "timeMax": "2026-05-05T06:00:00Z"}
NOT_FOUND = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}


def query(svc, *ids, **extra):
    return svc.freebusy().query(body={**DAY, **extra, "items": [{"id": i} for i in ids]}).execute()


def test_what_is_busy(world, ctl):
    add = world.add_event
    add(BOB, event("2026-05-04T09:00", "2026-05-04T10:00"))
    add(BOB, event("2026-05-04T10:00", "2026-05-04T11:00", transparency="transparent"))
    gone = add(BOB, event("2026-05-04T11:00", "2026-05-04T12:00"))
    ctl.delete(f"/users/{BOB}/events/{gone['id']}")
    declined = add(ALICE, event("2026-05-04T12:00", "2026-05-04T13:00", attendees=[{"email": BOB}]))
    world.calendar(subject=BOB).events().patch(calendarId="primary", eventId=declined["id"], body={
        "attendees": [{"email": BOB, "responseStatus": "declined"}]}).execute()
    add(ALICE, event("2026-05-04T13:00", "2026-05-04T14:00", attendees=[{"email": BOB}]))  # not answered: busy
    add(BOB, event("2026-05-04T14:00", "2026-05-04T15:00", status="tentative"))
    add(BOB, event("2026-05-04T15:00", "2026-05-04T16:00", eventType="workingLocation",
                   workingLocationProperties={"type": "homeOffice", "homeOffice": {}}))
    add(BOB, event("2026-05-04T16:00", "2026-05-04T17:00", eventType="outOfOffice"))
    add(BOB, {"start": {"date": "2026-05-05"}, "end": {"date": "2026-05-06"}})  # all day, clipped to timeMax
    svc = world.calendar(scopes=[A + "calendar.freebusy"])
    resp = query(svc, BOB, ALICE)
    assert resp["kind"] == "calendar#freeBusy"
    assert (resp["timeMin"], resp["timeMax"]) == ("2026-05-04T00:00:00.000Z", "2026-05-05T06:00:00.000Z")
    assert resp["calendars"][BOB] == {"busy": [
        {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T10:00:00Z"},
        {"start": "2026-05-04T13:00:00Z", "end": "2026-05-04T15:00:00Z"},
        {"start": "2026-05-04T16:00:00Z", "end": "2026-05-04T17:00:00Z"},
        {"start": "2026-05-05T00:00:00Z", "end": "2026-05-05T06:00:00Z"}]}
    # the organizer's own copy is busy whatever the guests answer
    assert resp["calendars"][ALICE]["busy"] == [{"start": "2026-05-04T12:00:00Z", "end": "2026-05-04T14:00:00Z"}]
    paris = query(svc, BOB, timeZone="Europe/Paris")["calendars"][BOB]["busy"][0]
    assert paris == {"start": "2026-05-04T11:00:00+02:00", "end": "2026-05-04T12:00:00+02:00"}


def test_who_sees_what(world, ctl):
    world.resource(ROOM, name="FB")
    world.add_event(ROOM, event("2026-05-04T08:00", "2026-05-04T09:00"))
    world.add_event(CAROL, event("2026-05-04T08:00", "2026-05-04T09:00"))
    ctl.post("/tenants", {"domain": DOMAIN, "secondary_domains": ["example.net"]})
    ctl.post("/users", {"email": "sam@example.net"})
    ctl.post("/users", {"email": "eve@partner.org"})
    ctl.post("/users", {"email": "gone@example.com"})
    ctl.delete("/users/gone@example.com")
    world.add_event("sam@example.net", event("2026-05-04T07:00", "2026-05-04T08:00"))
    world.add_event("eve@partner.org", event("2026-05-04T07:00", "2026-05-04T08:00"))
    svc = world.calendar(subject=BOB, scopes=[A + "calendar.readonly"])
    cals = query(svc, ROOM, CAROL, "sam@example.net", "eve@partner.org", "gone@example.com", "nobody@nowhere.org",
                 "PRIMARY")["calendars"]
    assert cals[ROOM]["busy"] == [{"start": "2026-05-04T08:00:00Z", "end": "2026-05-04T09:00:00Z"}]
    assert cals[CAROL]["busy"] == cals[ROOM]["busy"]
    assert cals["sam@example.net"]["busy"] == [{"start": "2026-05-04T07:00:00Z", "end": "2026-05-04T08:00:00Z"}]
    for other in ("eve@partner.org", "gone@example.com", "nobody@nowhere.org"):
        assert cals[other] == NOT_FOUND, other
    assert set(cals) == {ROOM, CAROL, "sam@example.net", "eve@partner.org", "gone@example.com",
                         "nobody@nowhere.org", "PRIMARY"}  # keys echo the ids as sent
    # an ACL rule (here the public scope) opens another tenant's calendar; rooms stay closed to outsiders
    ctl.post("/calendars/eve@partner.org/acl", {"scope": {"type": "default"}, "role": "freeBusyReader"})
    assert query(svc, "eve@partner.org")["calendars"]["eve@partner.org"]["busy"]
    ctl.put(f"/tenants/partner.org/delegation/{world.client_id}", {"scopes": [A + "calendar"]})
    eve = world.calendar(subject="eve@partner.org")
    assert query(eve, ROOM, BOB)["calendars"] == {ROOM: NOT_FOUND, BOB: NOT_FOUND}


def test_errors(world, ctl):
    svc = world.calendar()
    ctl.put(f"/calendars/{BOB}/freebusy-error", {"reason": "internalError"})
    assert query(svc, BOB)["calendars"][BOB] == {"errors": [{"domain": "global", "reason": "internalError"}],
                                                 "busy": []}
    ctl.delete(f"/calendars/{BOB}/freebusy-error")
    assert query(svc, BOB)["calendars"][BOB] == {"busy": []}
    many = query(svc, *[f"user{n}@{DOMAIN}" for n in range(51)])["calendars"]
    assert many[f"user50@{DOMAIN}"] == {"errors": [{"domain": "global", "reason": "tooManyCalendarsRequested"}],
                                        "busy": []}
    assert many[f"user49@{DOMAIN}"] == NOT_FOUND
    with pytest.raises(HttpError) as info:
        svc.freebusy().query(body={"timeMin": "2026-05-04T08:00:00Z", "timeMax": "2026-05-04T08:00:00Z"}).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"], item["domain"]) == (400, "The specified time range is empty.",
                                                                 "timeRangeEmpty", "calendar")
    with pytest.raises(HttpError) as info:
        svc.freebusy().query(body={"timeMax": "2026-05-04T08:00:00Z", "items": []}).execute()
    assert http_error(info.value)[:2] == (400, "Missing timeMin parameter.")
