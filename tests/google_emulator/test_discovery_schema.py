"""Every emulator response fits the discovery documents shipped in google-api-python-client.

The responses come through the real client (``execute()`` returns the parsed JSON as sent). The emulator's
routing table is checked against the same documents: each route's path matches the method's path and its
accepted scopes are exactly the method's scopes.
"""

from __future__ import annotations

import re

import pytest

from google_emulator import calendar_api, workspace_api

from . import discovery
from .helpers import CAL, DOMAIN, RESOURCE_RO, A, event

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROOM = "c_schema@resource.calendar.google.com"

CALENDAR = discovery.load("calendar.v3")
DIRECTORY = discovery.load("admin.directory_v1")
GMAIL = discovery.load("gmail.v1")
REQUIRED = {
    "calendar": ("calendar.events.insert", "calendar.acl.insert"),
    "directory": ("directory.resources.calendars.insert", "directory.users.insert"),
}
WRITE_ONLY = {"User.password"}


def fits(doc: discovery.Discovery, method_id: str, value, required=()) -> None:
    errors = doc.validate(value, doc.response(method_id), required_for=required, write_only=WRITE_ONLY)
    assert not errors, f"{method_id}:\n" + "\n".join(errors)


# ------------------------------------------------------------------ the validator itself


def test_validator_catches_what_it_should():
    good = {"kind": "calendar#aclRule", "id": "user:a@b.c", "role": "reader", "scope": {"type": "user",
                                                                                        "value": "a@b.c"}}
    assert CALENDAR.validate(good, "AclRule", required_for=REQUIRED["calendar"]) == []
    bad = {"kind": "calendar#acl", "id": 5, "role": "boss", "scope": {"type": "user", "extra": 1}, "more": True}
    problems = CALENDAR.validate(bad, "AclRule", required_for=REQUIRED["calendar"])
    assert any("$.kind" in p for p in problems)
    assert any("$.id: expected string" in p for p in problems)
    assert any("'boss' not one of" in p for p in problems)
    assert any("$.scope.extra: not a field" in p for p in problems)
    assert any("$.more: not a field of AclRule" in p for p in problems)
    assert CALENDAR.validate({"kind": "calendar#aclRule"}, "AclRule", required_for=REQUIRED["calendar"]) == [
        "$.role: required (calendar.acl.insert)", "$.scope: required (calendar.acl.insert)"]
    assert CALENDAR.validate({"expiration": 1426325213000}, "Channel") == [
        "$.expiration: expected string, got 1426325213000"]
    assert CALENDAR.validate({"start": {"dateTime": "2026-05-04 10:00"}, "attendees": [{"email": "x",
                                                                                        "resource": "yes"}]},
                             "Event") == ["$.start.dateTime: '2026-05-04 10:00' is not an RFC 3339 date-time",
                                          "$.attendees[0].resource: expected boolean, got 'yes'"]
    assert DIRECTORY.validate({"capacity": "8", "featureInstances": [{"anything": 1}]}, "CalendarResource") == [
        "$.capacity: expected integer, got '8'"]  # featureInstances is typed "any"


# ------------------------------------------------------------------ responses


@pytest.fixture
def seeded(world, ctl):
    world.resource(ROOM, name="Board", capacity=12, building_id="HQ", floor_name="3", floor_section="East",
                   features=["Whiteboard", "VC"], description="admins only", user_visible_description="Big",
                   resource_type="Room")
    world.resource(name="Projector", category="OTHER", resource_type="Equipment")
    ctl.put(f"/users/{BOB}/vacation", {"enableAutoReply": True, "responseSubject": "Away",
                                       "responseBodyHtml": "<p>x</p>", "startTime": 1767225600000,
                                       "endTime": 1767830400000, "restrictToContacts": False})
    ctl.patch(f"/users/{BOB}", {"custom_schemas": {"Hub": {"room": "A1"}}, "aliases": [f"robert@{DOMAIN}"]})
    return world


def test_event_responses_fit(seeded, ctl):
    svc = seeded.calendar()
    made = svc.events().insert(calendarId="primary", conferenceDataVersion=1, body=event(
        "2026-05-04T10:00", "2026-05-04T11:00", summary="Board", location="HQ", description="d",
        attendees=[{"email": BOB, "displayName": "Bob"}, {"email": ROOM}, {"email": "ext@partner.org",
                                                                           "optional": True}],
        extendedProperties={"private": {"a": "1"}, "shared": {"b": "2"}}, colorId="5", visibility="private",
        reminders={"useDefault": False, "overrides": [{"method": "popup", "minutes": 5}]},
        conferenceData={"createRequest": {"requestId": "r1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}},
        source={"title": "Hub", "url": "https://hub.example.com"}, guestsCanModify=True)).execute()
    fits(CALENDAR, "calendar.events.insert", made, REQUIRED["calendar"])
    series = svc.events().insert(calendarId="primary", body={
        "summary": "daily", "start": {"dateTime": "2026-05-04T09:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-05-04T09:30:00", "timeZone": "Europe/Paris"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]}).execute()
    svc.events().delete(calendarId="primary", eventId=f"{series['id']}_20260505T070000Z").execute()
    svc.events().insert(calendarId="primary", body={"summary": "all day", "start": {"date": "2026-05-06"},
                                                    "end": {"date": "2026-05-07"}, "transparency": "transparent",
                                                    "eventType": "default"}).execute()
    gone = svc.events().insert(calendarId="primary", body=event("2026-05-07T10:00", "2026-05-07T11:00")).execute()
    svc.events().delete(calendarId="primary", eventId=gone["id"]).execute()
    patched = svc.events().patch(calendarId="primary", eventId=made["id"], body={"summary": "Board v2"}).execute()
    fits(CALENDAR, "calendar.events.patch", patched, REQUIRED["calendar"])
    fits(CALENDAR, "calendar.events.get", svc.events().get(calendarId="primary", eventId=made["id"]).execute(),
         REQUIRED["calendar"])
    fits(CALENDAR, "calendar.events.get", svc.events().get(calendarId="primary", eventId=gone["id"]).execute(),
         REQUIRED["calendar"])
    for kwargs in ({}, {"singleEvents": True, "orderBy": "startTime"}, {"showDeleted": True}, {"maxResults": 2}):
        listed = svc.events().list(calendarId="primary", **kwargs).execute()
        fits(CALENDAR, "calendar.events.list", listed, REQUIRED["calendar"])
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    svc.events().delete(calendarId="primary", eventId=made["id"]).execute()
    fits(CALENDAR, "calendar.events.list", svc.events().list(calendarId="primary", syncToken=token).execute(),
         REQUIRED["calendar"])
    fits(CALENDAR, "calendar.events.instances", svc.events().instances(calendarId="primary",
                                                                         eventId=series["id"]).execute(),
         REQUIRED["calendar"])
    fits(CALENDAR, "calendar.events.quickAdd", svc.events().quickAdd(
        calendarId="primary", text="Lunch at Cafe tomorrow noon").execute(), REQUIRED["calendar"])
    # the attendee's copy and the room's copy
    bob = seeded.calendar(subject=BOB)
    fits(CALENDAR, "calendar.events.list", bob.events().list(calendarId="primary", showDeleted=True).execute(),
         REQUIRED["calendar"])
    fits(CALENDAR, "calendar.events.list", svc.events().list(calendarId=ROOM, showDeleted=True).execute(),
         REQUIRED["calendar"])
    channel = svc.events().watch(calendarId="primary", body={"id": "schema-1", "type": "web_hook",
                                                             "address": "https://hooks.example.com/x",
                                                             "token": "t", "params": {"ttl": "60"}}).execute()
    fits(CALENDAR, "calendar.events.watch", channel)


def test_freebusy_acl_settings_fit(seeded, ctl):
    seeded.add_event(BOB, event("2026-05-04T09:00", "2026-05-04T10:00"))
    ctl.put(f"/calendars/{CAROL}/freebusy-error", {"reason": "internalError"})
    svc = seeded.calendar()
    resp = svc.freebusy().query(body={"timeMin": "2026-05-04T00:00:00Z", "timeMax": "2026-05-05T00:00:00Z",
                                      "timeZone": "Europe/Paris",
                                      "items": [{"id": BOB}, {"id": ROOM}, {"id": CAROL}, {"id": "primary"},
                                                {"id": "nobody@elsewhere.org"}]}).execute()
    fits(CALENDAR, "calendar.freebusy.query", resp)
    rule = svc.acl().insert(calendarId="primary", body={"role": "reader", "scope": {"type": "user",
                                                                                      "value": BOB}}).execute()
    fits(CALENDAR, "calendar.acl.insert", rule, REQUIRED["calendar"])
    svc.acl().insert(calendarId="primary", body={"role": "freeBusyReader", "scope": {"type": "default"}}).execute()
    svc.acl().insert(calendarId="primary", body={"role": "writer", "scope": {"type": "domain",
                                                                             "value": DOMAIN}}).execute()
    fits(CALENDAR, "calendar.acl.patch", svc.acl().patch(calendarId="primary", ruleId=rule["id"],
                                                         body={"role": "writer"}).execute(), REQUIRED["calendar"])
    fits(CALENDAR, "calendar.acl.get", svc.acl().get(calendarId="primary", ruleId=rule["id"]).execute(),
         REQUIRED["calendar"])
    svc.acl().delete(calendarId="primary", ruleId="default").execute()
    fits(CALENDAR, "calendar.acl.list", svc.acl().list(calendarId="primary").execute(), REQUIRED["calendar"])
    fits(CALENDAR, "calendar.acl.list", svc.acl().list(calendarId="primary", showDeleted=True,
                                                       maxResults=1).execute(), REQUIRED["calendar"])
    fits(CALENDAR, "calendar.acl.list", svc.acl().list(calendarId=ROOM).execute(), REQUIRED["calendar"])
    settings = seeded.calendar(scopes=[A + "calendar.settings.readonly"]).settings()
    fits(CALENDAR, "calendar.settings.get", settings.get(setting="timezone").execute())
    fits(CALENDAR, "calendar.settings.list", settings.list().execute())


def test_directory_and_gmail_fit(seeded):
    rooms = seeded.directory(scopes=[RESOURCE_RO]).resources().calendars()
    listed = rooms.list(customer="my_customer").execute()
    fits(DIRECTORY, "directory.resources.calendars.list", listed, REQUIRED["directory"])
    assert len(listed["items"]) == 2
    paged = rooms.list(customer="my_customer", maxResults=1, orderBy="resourceName desc",
                       query="resourceCategory=CONFERENCE_ROOM").execute()
    fits(DIRECTORY, "directory.resources.calendars.list", paged, REQUIRED["directory"])
    for item in listed["items"]:
        one = rooms.get(customer="my_customer", calendarResourceId=item["resourceId"]).execute()
        fits(DIRECTORY, "directory.resources.calendars.get", one, REQUIRED["directory"])
    users = seeded.directory()
    for projection in ("basic", "full"):
        fits(DIRECTORY, "directory.users.get", users.users().get(userKey=BOB, projection=projection).execute(),
             REQUIRED["directory"])
        fits(DIRECTORY, "directory.users.list", users.users().list(customer="my_customer", projection=projection,
                                                                   maxResults=2).execute(), REQUIRED["directory"])
    gmail = seeded.gmail(subject=BOB)
    fits(GMAIL, "gmail.users.settings.getVacation", gmail.users().settings().getVacation(userId="me").execute())
    fits(GMAIL, "gmail.users.settings.getVacation",
         seeded.gmail(subject=CAROL).users().settings().getVacation(userId="me").execute())


# ------------------------------------------------------------------ the routing table


def _calendar_method_id(name: str) -> str:
    _, _, resource, method = name.split(".")
    return f"calendar.{resource[0].lower() + resource[1:]}.{method[0].lower() + method[1:]}"


ROUTES = ([(m, rx, name, scopes, CALENDAR, "/calendar/v3/", _calendar_method_id(name))
           for m, rx, _fn, name, scopes in calendar_api.ROUTES]
          + [(m, rx, name, scopes, GMAIL if name.startswith("gmail.") else DIRECTORY, "/", name)
             for m, rx, _fn, name, scopes, _svc in workspace_api.ROUTES])


@pytest.mark.parametrize("method,rx,name,scopes,doc,root,method_id", ROUTES, ids=[r[2] for r in ROUTES])
def test_route_matches_discovery(method, rx, name, scopes, doc, root, method_id):
    spec = doc.methods[method_id]
    assert spec["httpMethod"] == method
    example = root + re.sub(r"\{\+?(\w+)\}", lambda m: m.group(1) + "-value", spec["path"])
    assert rx.match(example), (example, rx.pattern)
    assert scopes == set(spec["scopes"]), sorted(set(spec["scopes"]) ^ scopes)


def test_helpers_scopes_are_real():
    known = set()
    for doc in (CALENDAR, DIRECTORY, GMAIL):
        known |= set(doc.doc["auth"]["oauth2"]["scopes"])
    from .helpers import ALL_SCOPES
    assert set(ALL_SCOPES) <= known and CAL in known
