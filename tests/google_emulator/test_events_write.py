"""Event writes: insert/patch/update/delete/quickAdd, etags, conference data, attendee copies."""

from __future__ import annotations

import re

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, http_error

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"


def body(summary="Meeting", start="2026-05-04T10:00:00+02:00", end="2026-05-04T11:00:00+02:00", **extra):
    return {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}


def test_insert_fills_server_fields(world):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body(description="d")).execute()
    assert re.fullmatch(r"[0-9a-v]{5,1024}", ev["id"])
    assert ev["kind"] == "calendar#event"
    assert ev["iCalUID"] == f"{ev['id']}@google.com"
    assert ev["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")
    assert re.fullmatch(r'"\d+"', ev["etag"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ev["updated"])
    assert ev["created"] and ev["status"] == "confirmed" and ev["sequence"] == 0
    assert ev["creator"] == {"email": ALICE, "self": True}
    assert ev["organizer"] == {"email": ALICE, "self": True}
    assert ev["eventType"] == "default" and ev["reminders"] == {"useDefault": True}
    assert svc.events().get(calendarId="primary", eventId=ev["id"]).execute() == ev
    assert svc.events().get(calendarId=ALICE, eventId=ev["id"]).execute()["id"] == ev["id"]


def test_client_supplied_id_and_duplicate(world):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body(id="hub0123456789abcdef")).execute()
    assert ev["id"] == "hub0123456789abcdef"
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body=body(id="hub0123456789abcdef")).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (409, "The requested identifier already exists.", "duplicate")
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body=body(id="Not_Base32!")).execute()
    assert info.value.resp.status == 400


def test_start_end_validation(world):
    svc = world.calendar()
    cases = [
        ({"summary": "x", "start": {"dateTime": "2026-05-04T10:00:00Z"}}, (400, "Missing end time.", "required")),
        ({"start": {"date": "2026-05-04"}, "end": {"dateTime": "2026-05-04T11:00:00Z"}},
         (400, "Start and end times must either both be date or both be dateTime.", "invalid")),
        (body(start="2026-05-04T12:00:00Z", end="2026-05-04T11:00:00Z"),
         (400, "The specified time range is empty.", "timeRangeEmpty")),
    ]
    for payload, expected in cases:
        with pytest.raises(HttpError) as info:
            svc.events().insert(calendarId="primary", body=payload).execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"]) == expected


def test_all_day_and_time_zone_events(world):
    svc = world.calendar()
    allday = svc.events().insert(calendarId="primary", body={
        "summary": "Holiday", "start": {"date": "2026-05-01"}, "end": {"date": "2026-05-02"}}).execute()
    assert allday["start"] == {"date": "2026-05-01"}
    local = svc.events().insert(calendarId="primary", body={
        "start": {"dateTime": "2026-05-04T10:00:00", "timeZone": "Asia/Seoul"},
        "end": {"dateTime": "2026-05-04T11:00:00", "timeZone": "Asia/Seoul"}}).execute()
    assert local["start"] == {"dateTime": "2026-05-04T10:00:00+09:00", "timeZone": "Asia/Seoul"}


def test_etag_changes_and_if_match(world):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body()).execute()
    patched = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v2"}).execute()
    assert patched["etag"] != ev["etag"]
    assert patched["updated"] >= ev["updated"]
    req = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v3"})
    req.headers["If-Match"] = ev["etag"]
    with pytest.raises(HttpError) as info:
        req.execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"], item["location"]) == (412, "Precondition Failed", "conditionNotMet",
                                                                   "If-Match")
    req = svc.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "v3"})
    req.headers["If-Match"] = patched["etag"]
    assert req.execute()["summary"] == "v3"


def test_delete_semantics(world, ctl):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body()).execute()
    before = ctl.get("/requests")["next"]
    assert svc.events().delete(calendarId="primary", eventId=ev["id"]).execute() == ""
    log = ctl.get(f"/requests?since={before}")["requests"]
    assert [(r["method"], r["status"]) for r in log] == [("DELETE", 204)]
    got = svc.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["status"] == "cancelled" and got["summary"] == "Meeting"
    with pytest.raises(HttpError) as info:
        svc.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (410, "Resource has been deleted", "deleted")
    with pytest.raises(HttpError) as info:
        svc.events().delete(calendarId="primary", eventId="nosuchevent1").execute()
    assert info.value.resp.status == 404


def test_patch_semantics(world):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body(
        description="keep me", location="Room A",
        attendees=[{"email": "x@partner.org"}, {"email": "y@partner.org"}],
        extendedProperties={"private": {"a": "1", "b": "2"}, "shared": {"s": "1"}})).execute()
    patched = svc.events().patch(calendarId="primary", eventId=ev["id"], body={
        "summary": "renamed", "attendees": [{"email": "z@partner.org"}],
        "extendedProperties": {"private": {"b": "20", "c": "3"}}}).execute()
    assert patched["summary"] == "renamed"
    assert patched["description"] == "keep me" and patched["location"] == "Room A"
    assert [a["email"] for a in patched["attendees"]] == ["z@partner.org"]
    assert patched["attendees"][0]["responseStatus"] == "needsAction"
    assert patched["extendedProperties"] == {"private": {"a": "1", "b": "20", "c": "3"}, "shared": {"s": "1"}}
    assert patched["start"] == ev["start"]


def test_update_is_full_replacement(world):
    svc = world.calendar()
    ev = svc.events().insert(calendarId="primary", body=body(description="gone", location="Room A",
                                                             extendedProperties={"private": {"a": "1"}})).execute()
    replaced = svc.events().update(calendarId="primary", eventId=ev["id"], body=body(summary="new")).execute()
    assert replaced["summary"] == "new"
    assert "description" not in replaced and "location" not in replaced and "extendedProperties" not in replaced
    assert replaced["id"] == ev["id"] and replaced["created"] == ev["created"]
    assert replaced["iCalUID"] == ev["iCalUID"]


def test_conference_data_requires_version_1(world):
    svc = world.calendar()
    conf = {"createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    plain = svc.events().insert(calendarId="primary", body=body(conferenceData=conf)).execute()
    assert "conferenceData" not in plain and "hangoutLink" not in plain
    with_conf = svc.events().insert(calendarId="primary", conferenceDataVersion=1,
                                    body=body(conferenceData=conf)).execute()
    data = with_conf["conferenceData"]
    assert data["createRequest"]["status"]["statusCode"] == "success"
    assert data["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert with_conf["hangoutLink"] == data["entryPoints"][0]["uri"]
    assert re.fullmatch(r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}", with_conf["hangoutLink"])
    # an explicit conference is stored as given with version 1, ignored on patch without it
    given = {"entryPoints": [{"entryPointType": "video", "uri": "https://meet.example/abc"}],
             "conferenceSolution": {"key": {"type": "addOn"}, "name": "Example"}}
    patched = svc.events().patch(calendarId="primary", eventId=plain["id"], body={"conferenceData": given}).execute()
    assert "conferenceData" not in patched
    patched = svc.events().patch(calendarId="primary", eventId=plain["id"], conferenceDataVersion=1,
                                 body={"conferenceData": given}).execute()
    assert patched["conferenceData"] == given
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", conferenceDataVersion=1, body=body(conferenceData={
            "createRequest": {"requestId": "r2", "conferenceSolutionKey": {"type": "bogus"}}})).execute()
    assert http_error(info.value)[:2] == (400, "Invalid conference type value.")


def test_quick_add(world):
    svc = world.calendar()
    ev = svc.events().quickAdd(calendarId="primary", text="Lunch with Bob 2026-05-04 12:30").execute()
    assert ev["summary"] == "Lunch with Bob"
    assert ev["start"]["dateTime"] == "2026-05-04T12:30:00+02:00"
    assert ev["end"]["dateTime"] == "2026-05-04T13:30:00+02:00"
    other = svc.events().quickAdd(calendarId="primary", text="Think").execute()
    assert other["summary"] == "Think" and "dateTime" in other["start"]


def test_delete_instance_creates_cancelled_exception(world):
    svc = world.calendar()
    master = svc.events().insert(calendarId="primary", body={
        "summary": "daily", "start": {"dateTime": "2026-05-04T09:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-05-04T10:00:00", "timeZone": "Europe/Paris"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]}).execute()
    iid = f"{master['id']}_20260505T070000Z"
    svc.events().delete(calendarId="primary", eventId=iid).execute()
    stored = {e["id"]: e for e in world.ctl.get(f"/users/{ALICE}/events")["items"]}
    assert stored[iid]["status"] == "cancelled" and stored[iid]["recurringEventId"] == master["id"]
    assert stored[iid]["originalStartTime"]["dateTime"] == "2026-05-05T09:00:00+02:00"
    with pytest.raises(HttpError) as info:
        svc.events().get(calendarId="primary", eventId=f"{master['id']}_20260505T080000Z").execute()
    assert info.value.resp.status == 404
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body={
            "start": {"dateTime": "2026-05-04T09:00:00Z"}, "end": {"dateTime": "2026-05-04T10:00:00Z"},
            "recurrence": ["RRULE:FREQ=DAILY"]}).execute()
    assert http_error(info.value)[:2] == (400, "Missing time zone definition for start time.")


def test_attendee_copies(world, ctl):
    alice = world.calendar()
    ev = alice.events().insert(calendarId="primary", body=body(
        summary="Sync", attendees=[{"email": BOB}, {"email": "ext@partner.org"}],
        extendedProperties={"private": {"hub": "1"}, "shared": {"s": "1"}})).execute()
    organizer_view = {a["email"]: a for a in ev["attendees"]}
    assert organizer_view[BOB]["responseStatus"] == "needsAction"
    bob = world.calendar(subject=BOB)
    copy = bob.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert copy["iCalUID"] == ev["iCalUID"] and copy["summary"] == "Sync"
    assert copy["organizer"] == {"email": ALICE}
    assert {a["email"]: a.get("self") for a in copy["attendees"]}[BOB] is True
    assert copy["extendedProperties"] == {"shared": {"s": "1"}}
    # attendee cannot change shared properties
    with pytest.raises(HttpError) as info:
        bob.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "hijack"}).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (
        403, "Shared properties can only be changed by the organizer of the event.", "forbiddenForNonOrganizer")
    # but may answer and keep private properties
    answered = bob.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": BOB, "responseStatus": "accepted"}, {"email": "ext@partner.org"}],
        "extendedProperties": {"private": {"mine": "1"}}}).execute()
    assert answered["extendedProperties"]["private"] == {"mine": "1"}
    refreshed = alice.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert {a["email"]: a["responseStatus"] for a in refreshed["attendees"]}[BOB] == "accepted"
    # organizer changes flow to the copy; private properties stay per copy
    alice.events().patch(calendarId="primary", eventId=ev["id"], body={
        "summary": "Sync v2", "attendees": [{"email": BOB}, {"email": CAROL}]}).execute()
    copy = bob.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert copy["summary"] == "Sync v2" and copy["extendedProperties"]["private"] == {"mine": "1"}
    carol = world.calendar(subject=CAROL)
    assert carol.events().get(calendarId="primary", eventId=ev["id"]).execute()["summary"] == "Sync v2"
    # removing an attendee cancels their copy; deleting cancels all
    alice.events().patch(calendarId="primary", eventId=ev["id"], body={"attendees": [{"email": CAROL}]}).execute()
    assert bob.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == "cancelled"
    alice.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert carol.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == "cancelled"


def test_writer_acl_on_other_calendar(world, ctl):
    bob = world.calendar(subject=BOB)
    with pytest.raises(HttpError) as info:
        bob.events().insert(calendarId=ALICE, body=body()).execute()
    assert info.value.resp.status == 404
    world.calendar().acl().insert(calendarId="primary", body={
        "role": "reader", "scope": {"type": "user", "value": BOB}}).execute()
    bob.events().list(calendarId=ALICE).execute()
    with pytest.raises(HttpError) as info:
        bob.events().insert(calendarId=ALICE, body=body()).execute()
    assert http_error(info.value)[:2] == (403, "You need to have writer access to this calendar.")
    world.calendar().acl().insert(calendarId="primary", body={
        "role": "writer", "scope": {"type": "user", "value": BOB}}).execute()
    ev = bob.events().insert(calendarId=ALICE, body=body()).execute()
    assert ev["organizer"] == {"email": ALICE, "self": True}  # flags are relative to the calendar holding the copy
    assert ev["creator"] == {"email": BOB}
