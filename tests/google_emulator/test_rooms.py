"""Room calendars: Directory resources.calendars, the control API, and the room's own auto-accept."""

from __future__ import annotations

import json
import urllib.request

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, RESOURCE_RO, A, event, http_error

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROOM = "c_board@resource.calendar.google.com"
OTHER = "partner.org"


def rooms_api(world, subject=ALICE, scopes=(RESOURCE_RO,)):
    return world.directory(subject=subject, scopes=scopes).resources().calendars()


def room_status(ev: dict, room: str = ROOM) -> str:
    return {a["email"]: a for a in ev["attendees"]}[room]["responseStatus"]


def book(svc, start, end, room=ROOM, calendar="primary", **fields):
    return svc.events().insert(calendarId=calendar, body=event(start, end, attendees=[{"email": room}],
                                                               **fields)).execute()


# ------------------------------------------------------------------ Directory resources.calendars


@pytest.fixture
def directory_rooms(world, ctl):
    board = world.resource(ROOM, name="Board", capacity=12, building_id="HQ", building_name="Head Office",
                           floor_name="3", floor_section="East", features=["VC", "Whiteboard"],
                           description="admins only", user_visible_description="Big table", resource_type="Room",
                           resource_id="100")
    huddle = world.resource(name="Huddle", capacity=4, building_id="HQ", floor_name="2", features=["VC"],
                            resource_id="200")
    cart = world.resource(name="AV cart", category="OTHER", resource_type="Equipment", resource_id="300")
    ctl.post("/users", {"email": f"admin@{OTHER}", "is_admin": True})
    ctl.post("/resources", {"name": "Elsewhere", "domain": OTHER, "resource_id": "900"})
    return board, huddle, cart


def test_resource_fields(world, directory_rooms):
    board, huddle, cart = directory_rooms
    assert board["email"] == ROOM and board["generated_resource_name"] == "Head Office-3-East-Board (12)"
    assert huddle["email"].startswith("c_1") and huddle["email"].endswith("@resource.calendar.google.com")
    api = rooms_api(world)
    got = api.get(customer="my_customer", calendarResourceId="100").execute()
    etag = got.pop("etags")
    assert etag.startswith('"') and etag.endswith('"')
    assert got == {"kind": "admin#directory#resources#calendars#CalendarResource", "resourceId": "100",
                   "resourceName": "Board", "generatedResourceName": "Head Office-3-East-Board (12)",
                   "resourceEmail": ROOM, "resourceCategory": "CONFERENCE_ROOM", "resourceType": "Room",
                   "resourceDescription": "admins only", "userVisibleDescription": "Big table", "capacity": 12,
                   "buildingId": "HQ", "floorName": "3", "floorSection": "East",
                   "featureInstances": [{"feature": {"name": "VC"}}, {"feature": {"name": "Whiteboard"}}]}
    minimal = api.get(customer="my_customer", calendarResourceId="300").execute()
    assert minimal["resourceCategory"] == "OTHER" and minimal["generatedResourceName"] == "AV cart"
    assert not {"capacity", "buildingId", "floorName", "featureInstances"} & set(minimal)
    # the room's calendar is named after the generated name, and so is the room attendee
    listed = world.calendar().events().list(calendarId=ROOM).execute()
    assert listed["summary"] == "Head Office-3-East-Board (12)" and listed["accessRole"] == "owner"
    ev = book(world.calendar(), "2026-05-04T10:00", "2026-05-04T11:00")
    room = {a["email"]: a for a in ev["attendees"]}[ROOM]
    assert room == {"email": ROOM, "displayName": "Head Office-3-East-Board (12)", "resource": True,
                    "responseStatus": "accepted"}


def test_resource_list_paging_order_query(world, ctl, directory_rooms):
    api = rooms_api(world)
    customer_id = ctl.get(f"/users/{ALICE}")["email"] and world.directory().users().get(
        userKey=ALICE).execute()["customerId"]
    full = api.list(customer=customer_id).execute()
    assert full["kind"] == "admin#directory#resources#calendars#calendarResourcesList"
    assert [r["resourceName"] for r in full["items"]] == ["AV cart", "Board", "Huddle"]  # other tenant's not here
    assert "nextPageToken" not in full
    names, token, pages = [], None, 0
    while True:
        page = api.list(customer="my_customer", maxResults=2, pageToken=token).execute()
        names += [r["resourceName"] for r in page["items"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    assert (pages, names) == (2, ["AV cart", "Board", "Huddle"])

    def ids(**kw):
        return [r["resourceId"] for r in api.list(customer="my_customer", **kw).execute().get("items", [])]

    assert ids(orderBy="capacity desc") == ["100", "200", "300"]
    assert ids(orderBy="buildingId, floorName desc") == ["100", "200", "300"]
    assert ids(orderBy="resourceId desc") == ["300", "200", "100"]
    assert ids(query="buildingId=HQ") == ["100", "200"]
    assert ids(query="featureInstances.feature.name:Whiteboard") == ["100"]
    assert ids(query="buildingId=HQ AND NOT featureInstances.feature.name:Whiteboard") == ["200"]
    assert ids(query="name:Hud*") == ["200"]
    assert ids(query="generatedResourceName:Head*") == ["100"]
    assert ids(query="capacity>=10") == ["100"]
    assert ids(query="resourceCategory=OTHER") == ["300"]
    assert ids(query=f'resourceEmail="{ROOM}"') == ["100"]
    assert ids(query="floorName!=3 AND buildingId=HQ") == ["200"]
    assert ids(query="buildingId=Nowhere") == []
    for bad in ({"query": "colour=red"}, {"query": "buildingId=HQ OR name=x"}, {"orderBy": "colour"},
                {"maxResults": 0}, {"maxResults": 501}, {"pageToken": "garbage!"}):
        with pytest.raises(HttpError) as info:
            api.list(customer="my_customer", **bad).execute()
        assert http_error(info.value)[0] == 400, bad


def test_resource_access(world, ctl, directory_rooms):
    with pytest.raises(HttpError) as info:
        rooms_api(world, subject=BOB).list(customer="my_customer").execute()
    assert json.loads(info.value.content)["error"] == {
        "code": 403, "message": "Not Authorized to access this resource/api", "status": "PERMISSION_DENIED",
        "errors": [{"domain": "global", "reason": "forbidden",
                    "message": "Not Authorized to access this resource/api"}]}
    with pytest.raises(HttpError) as info:
        rooms_api(world, subject=BOB).get(customer="my_customer", calendarResourceId="100").execute()
    assert http_error(info.value)[:2] == (403, "Not Authorized to access this resource/api")
    # another tenant's customer id, or its resource id
    other_customer = ctl.get("/tenants")["tenants"]
    other_customer = next(t["customer_id"] for t in other_customer if t["domain"] == OTHER)
    with pytest.raises(HttpError) as info:
        rooms_api(world).list(customer=other_customer).execute()
    assert info.value.resp.status == 403
    with pytest.raises(HttpError) as info:
        rooms_api(world).get(customer="my_customer", calendarResourceId="900").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (404, "Resource Not Found: calendarResourceId", "notFound")
    # the read/write scope works too; a users scope does not
    assert rooms_api(world, scopes=[A + "admin.directory.resource.calendar"]).list(
        customer="my_customer").execute()["items"]
    with pytest.raises(HttpError) as info:
        rooms_api(world, scopes=[A + "admin.directory.user.readonly"]).list(customer="my_customer").execute()
    assert http_error(info.value)[2]["reason"] == "insufficientPermissions"


def test_resource_control_lifecycle(world, ctl, directory_rooms):
    changed = ctl.patch(f"/resources/{ROOM}", {"floor_name": "4", "capacity": 14, "features": ["VC"]})
    assert changed["generated_resource_name"] == "Head Office-4-East-Board (14)" and changed["features"] == ["VC"]
    assert ctl.get("/resources/100")["email"] == ROOM  # by resource id as well
    api = rooms_api(world)
    got = api.get(customer="my_customer", calendarResourceId="100").execute()
    assert got["floorName"] == "4" and got["featureInstances"] == [{"feature": {"name": "VC"}}]
    assert world.calendar().events().list(calendarId=ROOM).execute()["summary"] == "Head Office-4-East-Board (14)"
    assert ctl.delete(f"/resources/{ROOM}") == {"ok": True, "email": ROOM, "resource_id": "100"}
    assert [r["resourceId"] for r in api.list(customer="my_customer").execute()["items"]] == ["300", "200"]
    with pytest.raises(HttpError) as info:
        api.get(customer="my_customer", calendarResourceId="100").execute()
    assert info.value.resp.status == 404
    with pytest.raises(HttpError) as info:
        world.calendar().events().list(calendarId=ROOM).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (404, "Not Found", "notFound")
    fb = world.calendar().freebusy().query(body={"timeMin": "2026-05-04T00:00:00Z",
                                                 "timeMax": "2026-05-05T00:00:00Z", "items": [{"id": ROOM}]}).execute()
    assert fb["calendars"][ROOM] == {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
    ctl.get(f"/resources/{ROOM}", expect=404)
    ctl.delete(f"/resources/{ROOM}", expect=404)
    ctl.post("/resources", {"email": BOB, "name": "x", "domain": DOMAIN}, expect=409)
    ctl.post("/resources", {"name": "x", "domain": DOMAIN, "category": "KITCHEN"}, expect=400)
    ctl.post("/resources", {"name": "x", "domain": DOMAIN, "resource_id": "200"}, expect=409)
    ctl.post("/resources", {"name": "x"}, expect=400)
    ctl.post("/resources", {"name": "x", "domain": DOMAIN, "time_zone": "Mars/Olympus"}, expect=400)
    ctl.patch("/resources/200", {"capacity": "many"}, expect=400)


def test_directory_resources_listing_is_empty_without_rooms(world):
    resp = rooms_api(world).list(customer="my_customer").execute()
    assert "items" not in resp and resp["kind"] == "admin#directory#resources#calendars#calendarResourcesList"


# ------------------------------------------------------------------ auto-accept


@pytest.fixture
def room(world):
    return world.resource(ROOM, name="Board", capacity=8)


def test_room_accepts_when_free_declines_on_conflict(world, ctl, room):
    alice, bob, carol = world.calendar(), world.calendar(subject=BOB), world.calendar(subject=CAROL)
    first = book(alice, "2026-05-04T10:00", "2026-05-04T11:00", summary="first")
    assert room_status(first) == "accepted"
    assert room_status(alice.events().get(calendarId="primary", eventId=first["id"]).execute()) == "accepted"
    clash = book(bob, "2026-05-04T10:30", "2026-05-04T11:30", summary="clash")
    assert room_status(clash) == "declined"
    # the room's calendar holds both copies with its own answer (self) on each
    copies = {e["summary"]: e for e in ctl.get(f"/users/{ROOM}/events")["items"]}
    assert {k: [a for a in v["attendees"] if a.get("self")][0]["responseStatus"] for k, v in copies.items()} == {
        "first": "accepted", "clash": "declined"}
    # a declined booking does not hold the room; back-to-back is no conflict
    assert room_status(book(carol, "2026-05-04T11:00", "2026-05-04T11:30")) == "accepted"
    fb = alice.freebusy().query(body={"timeMin": "2026-05-04T00:00:00Z", "timeMax": "2026-05-05T00:00:00Z",
                                      "items": [{"id": ROOM}]}).execute()
    assert fb["calendars"][ROOM]["busy"] == [{"start": "2026-05-04T10:00:00Z", "end": "2026-05-04T11:30:00Z"}]
    # the attendees' copies show the room's answer too
    ev = book(alice, "2026-05-05T09:00", "2026-05-05T10:00")
    alice.events().patch(calendarId="primary", eventId=ev["id"], body={
        "attendees": [{"email": ROOM}, {"email": BOB}]}).execute()
    assert room_status(bob.events().get(calendarId="primary", eventId=ev["id"]).execute()) == "accepted"


def test_room_answers_again_when_the_event_moves(world, ctl, room):
    alice, bob = world.calendar(), world.calendar(subject=BOB)
    held = book(alice, "2026-05-04T10:00", "2026-05-04T11:00")
    clash = book(bob, "2026-05-04T10:00", "2026-05-04T11:00")
    assert room_status(clash) == "declined"
    # a change that does not move the event keeps the answer (even if the organizer sends another one)
    same = bob.events().patch(calendarId="primary", eventId=clash["id"], body={
        "summary": "renamed", "attendees": [{"email": ROOM, "responseStatus": "accepted"}]}).execute()
    assert room_status(same) == "declined"
    moved = bob.events().patch(calendarId="primary", eventId=clash["id"],
                               body=event("2026-05-04T12:00", "2026-05-04T13:00")).execute()
    assert room_status(moved) == "accepted"
    into = alice.events().patch(calendarId="primary", eventId=held["id"],
                                body=event("2026-05-04T12:30", "2026-05-04T13:30")).execute()
    assert room_status(into) == "declined"
    # removing the room (or deleting the event) frees it
    bob.events().patch(calendarId="primary", eventId=clash["id"], body={"attendees": []}).execute()
    assert ctl.get(f"/users/{ROOM}/events/{clash['id']}")["status"] == "cancelled"
    moved_again = alice.events().patch(calendarId="primary", eventId=held["id"],
                                       body=event("2026-05-04T12:00", "2026-05-04T13:00")).execute()
    assert room_status(moved_again) == "accepted"
    alice.events().delete(calendarId="primary", eventId=held["id"]).execute()
    assert room_status(book(bob, "2026-05-04T12:00", "2026-05-04T12:30")) == "accepted"
    # an update (PUT) that re-adds the room is a new invitation
    full = alice.events().update(calendarId="primary", eventId=held["id"], body=event(
        "2026-05-04T12:15", "2026-05-04T12:45", status="confirmed", attendees=[{"email": ROOM}])).execute()
    assert room_status(full) == "declined"


def test_room_booking_permission(world, ctl, room):
    ctl.post("/users", {"email": f"eve@{OTHER}"})
    ctl.put(f"/tenants/{OTHER}/delegation/{world.client_id}", {"scopes": [A + "calendar"]})
    eve = world.calendar(subject=f"eve@{OTHER}")
    assert room_status(book(eve, "2026-05-04T08:00", "2026-05-04T09:00")) == "declined"  # not shared with eve
    world.calendar().acl().insert(calendarId=ROOM, body={"role": "freeBusyReader",
                                                         "scope": {"type": "user", "value": f"eve@{OTHER}"}}).execute()
    assert room_status(book(eve, "2026-05-04T08:00", "2026-05-04T09:00")) == "accepted"
    # a room the tenant may not book by default: only rules (and admins) let users book it
    ctl.patch(f"/resources/{ROOM}", {"domain_can_book": False})
    bob = world.calendar(subject=BOB)
    assert room_status(book(bob, "2026-05-05T08:00", "2026-05-05T09:00")) == "declined"
    assert room_status(book(world.calendar(), "2026-05-05T10:00", "2026-05-05T11:00")) == "accepted"  # admin
    ctl.post(f"/calendars/{ROOM}/acl", {"scope": {"type": "user", "value": BOB}, "role": "reader"})
    assert room_status(book(bob, "2026-05-05T08:00", "2026-05-05T09:00")) == "accepted"


def test_room_and_recurring_series(world, ctl, room):
    alice, bob = world.calendar(), world.calendar(subject=BOB)
    book(alice, "2030-06-03T09:00", "2030-06-03T10:00")  # one Monday taken

    def series(count, start="2030-06-03T09:30:00"):
        return bob.events().insert(calendarId="primary", body={
            "summary": f"series {count}", "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": start[:11] + "10:15:00", "timeZone": "UTC"},
            "recurrence": [f"RRULE:FREQ=DAILY;COUNT={count}"], "attendees": [{"email": ROOM}]}).execute()

    assert room_status(series(3)) == "accepted"  # 1 of 3 occurrences conflicts: the series is kept
    # that series now holds 09:30-10:15 for three days, so a second identical series conflicts everywhere
    assert room_status(series(3)) == "declined"
    # more than 8 conflicting occurrences decline a long series even if most are free
    for day in range(6, 15):
        world.add_event(ROOM, event(f"2030-06-{day:02d}T09:00", f"2030-06-{day:02d}T09:45"))
    assert room_status(series(40, start="2030-06-06T09:30:00")) == "declined"  # 9 of 40 conflict
    assert room_status(series(40, start="2030-06-07T09:30:00")) == "accepted"  # 8 of 40: still accepted
    assert room_status(series(20, start="2030-06-20T09:30:00")) == "declined"  # all 20 taken by the last one
    assert room_status(series(20, start="2030-07-17T09:30:00")) == "accepted"  # after it ends


def test_direct_booking_on_the_room_calendar(world, ctl, room):
    bob = world.calendar(subject=BOB)
    with pytest.raises(HttpError) as info:
        bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:00", "2026-05-04T11:00")).execute()
    assert info.value.resp.status == 404
    ctl.post(f"/calendars/{ROOM}/acl", {"scope": {"type": "user", "value": BOB}, "role": "reader"})
    with pytest.raises(HttpError) as info:
        bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:00", "2026-05-04T11:00")).execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"], item["domain"]) == (
        403, "You need to have writer access to this calendar.", "requiredAccessLevel", "calendar")
    ctl.post(f"/calendars/{ROOM}/acl", {"scope": {"type": "user", "value": BOB}, "role": "writer"})
    direct = bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:00", "2026-05-04T11:00",
                                                             summary="held")).execute()
    assert direct["organizer"] == {"email": ROOM, "displayName": "Board (8)", "self": True}
    assert direct["creator"] == {"email": BOB}
    # a direct entry is written as is (no invitation to answer) and holds the room
    again = bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:30", "2026-05-04T11:00")).execute()
    assert "attendees" not in again
    assert room_status(book(world.calendar(subject=CAROL), "2026-05-04T10:45", "2026-05-04T11:15")) == "declined"
    # quickAdd on the room calendar is a direct entry as well
    quick = bob.events().quickAdd(calendarId=ROOM, text="Cleaning 2026-05-04 18:00").execute()
    assert quick["organizer"]["email"] == ROOM and quick["start"]["dateTime"] == "2026-05-04T18:00:00Z"


def test_room_managed_by_a_person(world, ctl, room):
    ctl.patch(f"/resources/{ROOM}", {"auto_accept": False})
    ctl.post(f"/calendars/{ROOM}/acl", {"scope": {"type": "user", "value": CAROL}, "role": "writer"})
    ev = book(world.calendar(subject=BOB), "2026-05-04T10:00", "2026-05-04T11:00")
    assert room_status(ev) == "needsAction"
    manager = world.calendar(subject=CAROL)
    answered = manager.events().patch(calendarId=ROOM, eventId=ev["id"], body={
        "attendees": [{"email": ROOM, "responseStatus": "accepted"}]}).execute()
    assert room_status(answered) == "accepted"
    assert room_status(world.calendar(subject=BOB).events().get(calendarId="primary",
                                                                eventId=ev["id"]).execute()) == "accepted"


def test_control_created_events_are_answered_too(world, ctl, room):
    first = world.add_event(BOB, event("2026-05-04T10:00", "2026-05-04T11:00", attendees=[{"email": ROOM}]))
    second = world.add_event(CAROL, event("2026-05-04T10:00", "2026-05-04T11:00", attendees=[{"email": ROOM}]))
    assert (room_status(first), room_status(second)) == ("accepted", "declined")


def test_emulator_control_client_helpers(world, emulator):
    from google_emulator.client import EmulatorControl

    control = EmulatorControl(emulator.base_url)
    made = control.resource(DOMAIN, "Focus", capacity=2, features=["Phone"])
    assert made["generated_resource_name"] == "Focus (2)"
    assert [r["email"] for r in control.resources()] == [made["email"]]
    assert control.patch_resource(made["resource_id"], floor_name="1")["generated_resource_name"] == "1-Focus (2)"
    rule = control.share(made["email"], "reader", "user", BOB)
    assert rule["id"] == f"user:{BOB}" and rule["role"] == "reader"
    control.freebusy_error(made["email"], "internalError")
    control.clear_freebusy_error(made["email"])
    assert control.delete_resource(made["email"])["ok"] is True
    with urllib.request.urlopen(emulator.base_url + "/_emulator/resources") as resp:
        assert json.loads(resp.read()) == {"resources": []}
