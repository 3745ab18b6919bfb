"""Gmail vacation, Directory users, settings, ACL on resource calendars, freeBusy."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, A, http_error

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROOM = "c_room1@resource.calendar.google.com"


# ------------------------------------------------------------------ Gmail


def test_vacation_default_get_and_update(world, ctl):
    gmail = world.gmail(subject=BOB)
    assert gmail.users().settings().getVacation(userId="me").execute() == {"enableAutoReply": False}
    ctl.put(f"/users/{BOB}/vacation", {"enableAutoReply": True, "responseSubject": "Away",
                                       "responseBodyPlainText": "Back soon", "startTime": 1767225600000,
                                       "endTime": "1767830400000", "restrictToDomain": True})
    got = gmail.users().settings().getVacation(userId=BOB).execute()
    assert got == {"enableAutoReply": True, "responseSubject": "Away", "responseBodyPlainText": "Back soon",
                   "restrictToDomain": True, "startTime": "1767225600000", "endTime": "1767830400000"}
    writer = world.gmail(subject=BOB, scopes=[A + "gmail.settings.basic"])
    updated = writer.users().settings().updateVacation(userId="me", body={"enableAutoReply": False}).execute()
    assert updated == {"enableAutoReply": False}
    assert ctl.get(f"/users/{BOB}/vacation") == {"enableAutoReply": False}


def test_vacation_scopes_and_delegation(world):
    reader = world.gmail(subject=BOB, scopes=[A + "gmail.readonly"])
    reader.users().settings().getVacation(userId="me").execute()
    with pytest.raises(HttpError) as info:
        reader.users().settings().updateVacation(userId="me", body={"enableAutoReply": True}).execute()
    assert http_error(info.value)[2]["reason"] == "insufficientPermissions"
    with pytest.raises(HttpError) as info:
        reader.users().settings().getVacation(userId=CAROL).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (403, f"Delegation denied for {BOB}", "forbidden")


# ------------------------------------------------------------------ Directory


def test_directory_get_user(world, ctl):
    ctl.patch(f"/users/{BOB}", {"custom_schemas": {"Hub": {"room": "A1"}}})
    directory = world.directory()
    user = directory.users().get(userKey=BOB).execute()
    assert user["kind"] == "admin#directory#user"
    assert user["primaryEmail"] == BOB and user["id"] == world.bob["id"]
    assert user["name"] == {"givenName": "Bob", "familyName": "Builder", "fullName": "Bob Builder"}
    assert user["isAdmin"] is False and user["suspended"] is False
    assert user["emails"][0] == {"address": BOB, "primary": True}
    assert user["customerId"].startswith("C0") and user["orgUnitPath"] == "/"
    assert user["lastLoginTime"] == "1970-01-01T00:00:00.000Z"
    assert "customSchemas" not in user
    assert directory.users().get(userKey=BOB, projection="full").execute()["customSchemas"] == {"Hub": {"room": "A1"}}
    assert directory.users().get(userKey=world.bob["id"]).execute()["primaryEmail"] == BOB
    ctl.patch(f"/users/{BOB}", {"suspended": True})
    suspended = directory.users().get(userKey=BOB).execute()
    assert suspended["suspended"] is True and suspended["suspensionReason"] == "ADMIN"


def test_directory_errors(world, ctl):
    with pytest.raises(HttpError) as info:
        world.directory().users().get(userKey=f"ghost@{DOMAIN}").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (404, "Resource Not Found: userKey", "notFound")
    with pytest.raises(HttpError) as info:
        world.directory(subject=BOB).users().get(userKey=CAROL).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (403, "Not Authorized to access this resource/api", "forbidden")
    with pytest.raises(HttpError) as info:
        world.directory(scopes=[A + "calendar"]).users().get(userKey=BOB).execute()
    assert http_error(info.value)[2]["reason"] == "insufficientPermissions"


def test_directory_list_paging(world, ctl):
    for n in range(5):
        ctl.post("/users", {"email": f"user{n}@{DOMAIN}"})
    ctl.post("/users", {"email": "someone@other.org"})
    directory = world.directory()
    emails, token, pages = [], None, 0
    while True:
        resp = directory.users().list(domain=DOMAIN, maxResults=3, pageToken=token).execute()
        assert resp["kind"] == "admin#directory#users"
        emails += [u["primaryEmail"] for u in resp["users"]]
        pages += 1
        token = resp.get("nextPageToken")
        if not token:
            break
    assert pages == 3
    assert emails == sorted([ALICE, BOB, CAROL] + [f"user{n}@{DOMAIN}" for n in range(5)])
    assert len(directory.users().list(customer="my_customer").execute()["users"]) == 8
    with pytest.raises(HttpError) as info:
        directory.users().list(domain="other.org").execute()
    assert info.value.resp.status == 403


# ------------------------------------------------------------------ settings


def test_settings(world):
    alice = world.calendar(scopes=[A + "calendar.settings.readonly"])
    assert alice.settings().get(setting="timezone").execute() == {
        "kind": "calendar#setting", "etag": alice.settings().get(setting="timezone").execute()["etag"],
        "id": "timezone", "value": "Europe/Paris"}
    assert alice.settings().get(setting="locale").execute()["value"] == "fr"
    bob = world.calendar(subject=BOB, scopes=[A + "calendar.readonly"])
    assert bob.settings().get(setting="timezone").execute()["value"] == "Etc/GMT"
    assert bob.settings().get(setting="locale").execute()["value"] == "en"
    assert bob.settings().get(setting="weekStart").execute()["value"] == "0"
    assert bob.settings().get(setting="format24HourTime").execute()["value"] == "false"
    with pytest.raises(HttpError) as info:
        bob.settings().get(setting="noSuchSetting").execute()
    assert info.value.resp.status == 404


# ------------------------------------------------------------------ ACL on resource calendars, freeBusy


def test_acl_on_resource_calendar(world, ctl):
    ctl.post("/resources", {"email": ROOM, "name": "Room 1", "capacity": 8, "domain": DOMAIN})
    bob = world.calendar(subject=BOB)
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId=ROOM).execute()
    assert info.value.resp.status == 404
    # a non-admin cannot grant access; the tenant admin can
    with pytest.raises(HttpError) as info:
        bob.acl().insert(calendarId=ROOM, body={"role": "reader", "scope": {"type": "user", "value": BOB}}).execute()
    assert info.value.resp.status == 404
    alice = world.calendar(scopes=[A + "calendar.acls"])
    rule = alice.acl().insert(calendarId=ROOM, body={"role": "writer",
                                                     "scope": {"type": "user", "value": BOB}}).execute()
    assert rule["kind"] == "calendar#aclRule" and rule["id"] == f"user:{BOB}" and rule["role"] == "writer"
    resp = bob.events().list(calendarId=ROOM).execute()
    assert resp["accessRole"] == "writer" and resp["summary"] == "Room 1 (8)"  # the generated resource name
    bob.events().insert(calendarId=ROOM, body={"summary": "booked", "start": {"dateTime": "2026-05-04T10:00:00Z"},
                                               "end": {"dateTime": "2026-05-04T11:00:00Z"}}).execute()
    assert alice.acl().delete(calendarId=ROOM, ruleId=rule["id"]).execute() == ""
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId=ROOM).execute()
    assert info.value.resp.status == 404
    with pytest.raises(HttpError) as info:
        alice.acl().delete(calendarId=ROOM, ruleId=rule["id"]).execute()
    assert info.value.resp.status == 404


def test_room_attendee_gets_a_copy(world, ctl):
    ctl.post("/resources", {"email": ROOM, "name": "Room 1", "capacity": 8, "domain": DOMAIN})
    ev = world.calendar().events().insert(calendarId="primary", body={
        "summary": "in room", "start": {"dateTime": "2026-05-04T10:00:00Z"},
        "end": {"dateTime": "2026-05-04T11:00:00Z"}, "attendees": [{"email": ROOM}]}).execute()
    room = {a["email"]: a for a in ev["attendees"]}[ROOM]
    assert room["resource"] is True and room["responseStatus"] == "accepted"
    stored = ctl.get(f"/users/{ROOM}/events")["items"]
    assert [e["id"] for e in stored] == [ev["id"]]


def test_freebusy(world, ctl):
    ctl.post("/resources", {"email": ROOM, "name": "Room 1", "capacity": 8, "domain": DOMAIN})
    world.add_event(BOB, {"start": {"dateTime": "2026-05-04T09:00:00Z"}, "end": {"dateTime": "2026-05-04T10:00:00Z"}})
    world.add_event(BOB, {"start": {"dateTime": "2026-05-04T09:30:00Z"}, "end": {"dateTime": "2026-05-04T11:00:00Z"}})
    world.add_event(BOB, {"start": {"dateTime": "2026-05-04T12:00:00Z"}, "end": {"dateTime": "2026-05-04T13:00:00Z"},
                          "transparency": "transparent"})
    gone = world.add_event(BOB, {"start": {"dateTime": "2026-05-04T14:00:00Z"},
                                 "end": {"dateTime": "2026-05-04T15:00:00Z"}})
    ctl.delete(f"/users/{BOB}/events/{gone['id']}")
    world.add_event(ROOM, {"start": {"dateTime": "2026-05-04T07:00:00Z"}, "end": {"dateTime": "2026-05-04T08:30:00Z"}})
    world.add_event(ALICE, {"start": {"dateTime": "2026-05-04T16:00:00", "timeZone": "Europe/Paris"},
                            "end": {"dateTime": "2026-05-04T17:00:00", "timeZone": "Europe/Paris"},
                            "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]})
    svc = world.calendar(scopes=[A + "calendar.readonly"])
    resp = svc.freebusy().query(body={"timeMin": "2026-05-04T08:00:00Z", "timeMax": "2026-05-06T00:00:00Z",
                                      "items": [{"id": BOB}, {"id": ROOM}, {"id": "primary"},
                                                {"id": "nobody@elsewhere.org"}]}).execute()
    assert resp["kind"] == "calendar#freeBusy"
    assert resp["timeMin"] == "2026-05-04T08:00:00.000Z"
    cals = resp["calendars"]
    assert cals[BOB] == {"busy": [{"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T11:00:00Z"}]}
    assert cals[ROOM] == {"busy": [{"start": "2026-05-04T08:00:00Z", "end": "2026-05-04T08:30:00Z"}]}
    assert cals["primary"]["busy"] == [{"start": "2026-05-04T14:00:00Z", "end": "2026-05-04T15:00:00Z"},
                                       {"start": "2026-05-05T14:00:00Z", "end": "2026-05-05T15:00:00Z"}]
    assert cals["nobody@elsewhere.org"] == {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    with pytest.raises(HttpError) as info:
        svc.freebusy().query(body={"timeMin": "2026-05-04T08:00:00Z", "timeMax": "2026-05-04T08:00:00Z",
                                   "items": []}).execute()
    assert http_error(info.value)[2]["reason"] == "timeRangeEmpty"
