"""Meetings: create, get, PUT, PATCH, delete, list (integration tags, windows, pages), personal rooms."""

from __future__ import annotations

import re

from .conftest import iso_in
from .helpers import SITE, Api, request


def _create(world, meeting_body, api=None, **fields):
    resp = (api or world.admin)("POST", "/v1/meetings", meeting_body(**fields))
    assert resp.status == 200, resp.body
    return resp.body


def test_create_returns_the_meeting_object(world, meeting_body):
    body = meeting_body(
        agenda="Q3 roadmap",
        integrationTags=["calhub:evt-1"],
        invitees=[{"email": "bob@acme.test", "displayName": "Bob"}],
        enabledAutoRecordMeeting=True,
    )
    resp = world.admin("POST", "/v1/meetings", body)
    assert resp.status == 200
    m = resp.body
    assert re.fullmatch(r"[0-9a-f]{32}", m["id"])
    assert re.fullmatch(r"\d{11}", m["meetingNumber"])
    assert m["title"] == "Design review" and m["agenda"] == "Q3 roadmap"
    assert m["meetingType"] == "meetingSeries" and m["state"] == "active" and m["scheduledType"] == "meeting"
    assert m["start"] == body["start"] and m["end"] == body["end"] and m["timezone"] == "UTC"
    assert m["hostEmail"] == "ana@acme.test" and m["hostDisplayName"] == "Ana Lima"
    assert m["hostUserId"] and re.fullmatch(r"\d{6}", m["hostKey"])
    assert m["siteUrl"] == SITE
    assert re.fullmatch(rf"https://{re.escape(SITE)}/acme/j\.php\?MTID=m[0-9a-f]{{32}}", m["webLink"])
    assert m["sipAddress"] == f"{m['meetingNumber']}@{SITE}"
    pw = m["password"]
    assert any(c.isupper() for c in pw) and any(c.islower() for c in pw)
    assert re.fullmatch(r"\d{8}", m["phoneAndVideoSystemPassword"])
    assert m["integrationTags"] == ["calhub:evt-1"]
    assert m["enabledAutoRecordMeeting"] is True and m["enabledJoinBeforeHost"] is False
    assert m["telephony"]["accessCode"] == m["meetingNumber"] and m["telephony"]["callInNumbers"]
    assert m["meetingOptions"]["enabledChat"] is True
    assert "invitees" not in m and "recurrence" not in m


def test_create_keeps_a_given_password_and_local_times(world, meeting_body):
    m = _create(
        world,
        meeting_body,
        password="Blue42sky",
        timezone="Europe/Paris",
        start="2031-06-01 10:00:00",
        end="2031-06-01T10:45:00+02:00",
    )
    assert m["password"] == "Blue42sky" and m["phoneAndVideoSystemPassword"] == "25834275"
    assert m["timezone"] == "Europe/Paris"
    assert m["start"] == "2031-06-01T10:00:00+02:00" and m["end"] == "2031-06-01T10:45:00+02:00"


def test_start_is_accurate_to_the_minute(world, meeting_body):
    start = iso_in(60).replace(":00Z", ":41.657Z")
    m = _create(world, meeting_body, start=start)
    assert m["start"].endswith(":00Z") and m["start"][:16] == start[:16]


def test_user_token_creates_for_its_own_user(world, meeting_body):
    m = _create(world, meeting_body, api=world.ana, hostEmail="bob@acme.test")
    assert m["hostEmail"] == "ana@acme.test"  # hostEmail only counts with an admin scope


def test_get_meeting(world, meeting_body):
    created = _create(world, meeting_body)
    got = world.admin("GET", f"/v1/meetings/{created['id']}?hostEmail=ana@acme.test")
    assert got.status == 200 and got.body == created
    as_ana = world.ana("GET", f"/v1/meetings/{created['id']}")
    assert as_ana.status == 200 and as_ana.body["id"] == created["id"]


def test_get_meeting_in_the_timezone_header(world, meeting_body):
    created = _create(world, meeting_body, start="2031-06-01T08:00:00Z", end="2031-06-01T09:00:00Z")
    got = world.admin("GET", f"/v1/meetings/{created['id']}", headers={"timezone": "Asia/Shanghai"})
    assert got.body["start"] == "2031-06-01T16:00:00+08:00" and got.body["timezone"] == "Asia/Shanghai"


def test_invitee_sees_the_meeting(world, meeting_body):
    created = _create(world, meeting_body, hostEmail="bob@acme.test", invitees=[{"email": "ana@acme.test"}])
    assert world.ana("GET", f"/v1/meetings/{created['id']}").status == 200
    resp = world.ana("PATCH", f"/v1/meetings/{created['id']}", {"title": "Mine now"})
    assert resp.status == 403
    alone = _create(world, meeting_body, hostEmail="bob@acme.test")
    resp = world.ana("GET", f"/v1/meetings/{alone['id']}")
    assert resp.status == 404 and resp.description == "The meeting is not found."


def test_put_replaces_the_meeting(world, meeting_body):
    created = _create(
        world, meeting_body, agenda="Old agenda", enabledJoinBeforeHost=True, integrationTags=["calhub:evt-2"]
    )
    body = {
        "title": "Design review v2",
        "password": "NewPass12",
        "start": iso_in(120),
        "end": iso_in(180),
        "hostEmail": "ana@acme.test",
    }
    resp = world.admin("PUT", f"/v1/meetings/{created['id']}", body)
    assert resp.status == 200
    m = resp.body
    assert (m["id"], m["meetingNumber"], m["webLink"]) == (
        created["id"],
        created["meetingNumber"],
        created["webLink"],
    )
    assert m["title"] == "Design review v2" and m["password"] == "NewPass12"
    assert m["start"] == body["start"] and m["end"] == body["end"]
    assert "agenda" not in m and m["enabledJoinBeforeHost"] is False
    assert m["integrationTags"] == ["calhub:evt-2"]


def test_put_needs_the_whole_meeting(world, meeting_body):
    created = _create(world, meeting_body)
    resp = world.admin(
        "PUT",
        f"/v1/meetings/{created['id']}",
        {"title": "x", "start": iso_in(120), "end": iso_in(180), "hostEmail": "ana@acme.test"},
    )
    assert resp.status == 400 and resp.description == "'password' cannot be empty."


def test_patch_changes_only_what_it_names(world, meeting_body):
    created = _create(
        world, meeting_body, agenda="Keep?", enabledJoinBeforeHost=True, integrationTags=["calhub:evt-3"]
    )
    resp = world.admin(
        "PATCH", f"/v1/meetings/{created['id']}", {"title": "Renamed", "hostEmail": "ana@acme.test"}
    )
    assert resp.status == 200
    assert resp.body["title"] == "Renamed" and resp.body["agenda"] == "Keep?"
    assert resp.body["enabledJoinBeforeHost"] is True and resp.body["start"] == created["start"]
    resp = world.admin("PATCH", f"/v1/meetings/{created['id']}", {"agenda": None, "integrationTags": []})
    assert "agenda" not in resp.body and "integrationTags" not in resp.body
    resp = world.admin("PATCH", f"/v1/meetings/{created['id']}", {"end": iso_in(65)})
    assert resp.status == 400 and "shorter than 10 minutes" in resp.description


def test_delete_meeting(world, meeting_body):
    created = _create(world, meeting_body)
    resp = world.admin("DELETE", f"/v1/meetings/{created['id']}?hostEmail=ana@acme.test&sendEmail=false")
    assert resp.status == 204 and resp.body is None
    resp = world.admin("GET", f"/v1/meetings/{created['id']}")
    assert resp.status == 404
    assert resp.body["message"] == "The requested resource could not be found."
    assert resp.description == "The meeting is not found."
    assert world.admin("DELETE", f"/v1/meetings/{created['id']}").status == 404


def test_list_by_integration_tag_finds_a_meeting_created_before(world, meeting_body):
    first = _create(world, meeting_body, integrationTags=["calhub:evt-9"])
    _create(world, meeting_body, integrationTags=["calhub:evt-10"])
    resp = world.admin("GET", "/v1/meetings?integrationTag=calhub:evt-9&hostEmail=ana@acme.test")
    assert resp.status == 200
    assert [m["id"] for m in resp.body["items"]] == [first["id"]]
    assert resp.body["items"][0]["integrationTags"] == ["calhub:evt-9"]


def test_integration_tags_belong_to_the_client_that_set_them(world, meeting_body):
    created = _create(world, meeting_body, integrationTags=["calhub:evt-11"])
    other = Api(
        world.base,
        world.ctl("POST", "/service-apps", {"scopes": ["meeting:admin_schedule_read"], "siteUrls": [SITE]}),
    )
    resp = other("GET", "/v1/meetings?integrationTag=calhub:evt-11&hostEmail=ana@acme.test")
    assert resp.body == {"items": []}
    got = other("GET", f"/v1/meetings/{created['id']}")
    assert got.status == 200 and "integrationTags" not in got.body


def test_list_window_defaults_to_the_next_seven_days(world, meeting_body):
    soon = _create(world, meeting_body)
    later = _create(
        world,
        meeting_body,
        start=iso_in(10 * 1440),
        end=iso_in(10 * 1440 + 30),
        integrationTags=["calhub:later"],
    )
    resp = world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test")
    assert [m["id"] for m in resp.body["items"]] == [soon["id"]]
    resp = world.admin("GET", "/v1/meetings?integrationTag=calhub:later&hostEmail=ana@acme.test")
    assert resp.body["items"] == []  # from/to apply to an integrationTag query too
    resp = world.admin(
        "GET",
        f"/v1/meetings?integrationTag=calhub:later&hostEmail=ana@acme.test"
        f"&from={iso_in(0)}&to={iso_in(30 * 1440)}",
    )
    assert [m["id"] for m in resp.body["items"]] == [later["id"]]


def test_list_recurring_series_overlapping_the_window(world, meeting_body):
    weekly = _create(world, meeting_body, recurrence="FREQ=WEEKLY;INTERVAL=1;COUNT=10")
    resp = world.admin(
        "GET", f"/v1/meetings?hostEmail=ana@acme.test&from={iso_in(20 * 1440)}&to={iso_in(27 * 1440)}"
    )
    assert [m["id"] for m in resp.body["items"]] == [weekly["id"]]
    assert resp.body["items"][0]["recurrence"] == "FREQ=WEEKLY;INTERVAL=1;COUNT=10"


def test_list_pages_with_a_link_header(world, meeting_body):
    ids = [_create(world, meeting_body, start=iso_in(60 + i), end=iso_in(90 + i))["id"] for i in range(3)]
    resp = world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test&max=2")
    assert [m["id"] for m in resp.body["items"]] == ids[:2]
    link = resp.headers["Link"]
    next_url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
    resp = request(next_url, "GET", "", token=world.admin.token)
    assert [m["id"] for m in resp.body["items"]] == ids[2:] and "Link" not in resp.headers


def test_list_by_meeting_number_and_host(world, meeting_body):
    ana = _create(world, meeting_body)
    _create(world, meeting_body, hostEmail="bob@acme.test")
    resp = world.admin("GET", f"/v1/meetings?meetingNumber={ana['meetingNumber']}")
    assert [m["id"] for m in resp.body["items"]] == [ana["id"]]
    resp = world.admin("GET", "/v1/meetings?hostEmail=bob@acme.test")
    assert [m["hostEmail"] for m in resp.body["items"]] == ["bob@acme.test"]
    assert len(world.ana("GET", "/v1/meetings").body["items"]) == 1


def test_expired_series_state(world, meeting_body):
    created = _create(world, meeting_body)
    world.ctl("POST", "/clock", {"advance_seconds": 3 * 3600})
    token = world.admin.refresh().body["access_token"]
    got = world.admin("GET", f"/v1/meetings/{created['id']}", token=token)
    assert got.body["state"] == "expired"
    resp = world.admin("PATCH", f"/v1/meetings/{created['id']}", {"title": "late"}, token=token)
    assert resp.status == 400


def test_personal_meeting_room(world):
    resp = world.admin("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=ana@acme.test")
    assert resp.status == 200
    room = resp.body
    assert room["topic"] == "Ana Lima's Personal Room"
    assert room["personalMeetingRoomLink"] == f"https://{SITE}/meet/ana.lima"
    assert room["sipAddress"] == f"ana.lima@{SITE}"
    assert re.fullmatch(r"\d{4}", room["hostPin"]) and room["telephony"]["accessCode"]
    assert room["coHosts"] == [] and room["enabledAutoLock"] is False
    mine = world.ana("GET", "/v1/meetingPreferences/personalMeetingRoom")
    assert mine.status == 200 and mine.body == room


def test_personal_room_of_another_user_needs_an_admin_scope(world):
    resp = world.ana("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=bob@acme.test")
    assert resp.status == 403
    assert resp.body["message"] == "Not permitted to view or change other user's preferences"
    assert resp.description == "Not permitted to view or change other user's preferences"


def test_personal_room_of_an_unknown_user(world):
    resp = world.admin("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=nobody@acme.test")
    assert resp.status == 404 and resp.description == "User not found."
    resp = world.admin("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=dan@other.test")
    assert resp.status == 403
