"""events.list / events.instances: time bounds, recurrence expansion, paging, incremental sync."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, http_error

ALICE = f"alice@{DOMAIN}"


def timed(summary: str, start: str, end: str, tz: str | None = None, **extra) -> dict:
    body = {"summary": summary, "start": {"dateTime": start}, "end": {"dateTime": end}, **extra}
    if tz:
        body["start"]["timeZone"] = tz
        body["end"]["timeZone"] = tz
    return body


def list_all(svc, **params) -> tuple[list[dict], dict]:
    items, pages = [], []
    token = None
    while True:
        resp = svc.events().list(calendarId="primary", pageToken=token, **params).execute()
        pages.append(resp)
        items += resp["items"]
        token = resp.get("nextPageToken")
        if not token:
            return items, resp


def test_collection_fields(world):
    resp = world.calendar().events().list(calendarId="primary").execute()
    assert resp["kind"] == "calendar#events"
    assert resp["etag"].startswith('"')
    assert resp["summary"] == ALICE
    assert resp["timeZone"] == "Europe/Paris"
    assert resp["accessRole"] == "owner"
    assert resp["defaultReminders"] == [{"method": "popup", "minutes": 10}]
    assert resp["items"] == [] and "updated" in resp and "nextSyncToken" in resp


def test_time_min_max_are_exclusive_bounds(world):
    for n, (s, e) in enumerate([("09", "10"), ("10", "11"), ("11", "12")]):
        world.add_event(ALICE, timed(f"e{n}", f"2026-02-02T{s}:00:00Z", f"2026-02-02T{e}:00:00Z"))
    svc = world.calendar()

    def summaries(**kw):
        return sorted(i["summary"] for i in svc.events().list(calendarId="primary", **kw).execute()["items"])

    assert summaries(timeMin="2026-02-02T10:00:00Z") == ["e1", "e2"]          # end == timeMin excluded
    assert summaries(timeMax="2026-02-02T11:00:00Z") == ["e0", "e1"]          # start == timeMax excluded
    assert summaries(timeMin="2026-02-02T10:00:00Z", timeMax="2026-02-02T11:00:00Z") == ["e1"]
    assert summaries(timeMin="2026-02-02T09:59:59+00:00", timeMax="2026-02-02T10:00:01Z") == ["e0", "e1"]
    for bounds in (("2026-02-02T10:00:00Z", "2026-02-02T10:00:00Z"), ("2026-02-03T00:00:00Z", "2026-02-02T00:00:00Z")):
        with pytest.raises(HttpError) as info:
            svc.events().list(calendarId="primary", timeMin=bounds[0], timeMax=bounds[1]).execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"], item["location"]) == (
            400, "The specified time range is empty.", "timeRangeEmpty", "timeMax")


def test_order_by_start_time_requires_single_events(world):
    svc = world.calendar()
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", orderBy="startTime").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"], item["location"]) == (
        400, "The requested ordering is not available for the particular query.", "invalid", "orderBy")
    svc.events().list(calendarId="primary", orderBy="startTime", singleEvents=True).execute()
    svc.events().list(calendarId="primary", orderBy="updated").execute()


def test_weekly_series_keeps_wall_clock_across_dst(world):
    master = world.add_event(ALICE, timed("standup", "2026-03-16T09:00:00", "2026-03-16T09:30:00", "Europe/Paris",
                                          recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"]))
    svc = world.calendar()
    items = svc.events().list(calendarId="primary", singleEvents=True, orderBy="startTime",
                              timeMin="2026-03-01T00:00:00Z", timeMax="2026-05-01T00:00:00Z").execute()["items"]
    assert [i["start"]["dateTime"] for i in items] == [
        "2026-03-16T09:00:00+01:00", "2026-03-23T09:00:00+01:00",
        "2026-03-30T09:00:00+02:00", "2026-04-06T09:00:00+02:00"]
    assert [i["id"] for i in items] == [f"{master['id']}_{d}" for d in (
        "20260316T080000Z", "20260323T080000Z", "20260330T070000Z", "20260406T070000Z")]
    for inst in items:
        assert inst["recurringEventId"] == master["id"]
        assert inst["originalStartTime"] == inst["start"]
        assert inst["iCalUID"] == master["iCalUID"]
        assert "recurrence" not in inst
        assert inst["end"]["dateTime"][11:16] == "09:30"
    # without singleEvents the master is returned once, with its recurrence
    plain = svc.events().list(calendarId="primary").execute()["items"]
    assert [(i["id"], i["recurrence"]) for i in plain] == [(master["id"], ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"])]


def test_rrule_variants(world, ctl):
    world.add_event(ALICE, timed("daily", "2026-01-01T10:00:00", "2026-01-01T11:00:00", "UTC",
                                 recurrence=["RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20260107T235959Z",
                                             "EXDATE;TZID=UTC:20260103T100000"]))
    world.add_event(ALICE, timed("monthly", "2026-01-30T15:00:00", "2026-01-30T16:00:00", "America/New_York",
                                 recurrence=["RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"]))
    world.add_event(ALICE, {"summary": "yearly", "start": {"date": "2024-02-29"}, "end": {"date": "2024-03-01"},
                            "recurrence": ["RRULE:FREQ=YEARLY;COUNT=3"]})
    world.add_event(ALICE, timed("weekly2", "2026-01-05T08:00:00", "2026-01-05T09:00:00", "Europe/Paris",
                                 recurrence=["RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=4"]))
    truth = ctl.get(f"/users/{ALICE}/events/expanded?timeMin=2024-01-01T00:00:00Z&timeMax=2035-01-01T00:00:00Z")
    by = {}
    for item in truth["items"]:
        by.setdefault(item["summary"], []).append(item["start"].get("dateTime") or item["start"]["date"])
    assert by["daily"] == ["2026-01-01T10:00:00Z", "2026-01-05T10:00:00Z", "2026-01-07T10:00:00Z"]
    assert by["monthly"] == ["2026-01-30T15:00:00-05:00", "2026-02-27T15:00:00-05:00", "2026-03-27T15:00:00-04:00"]
    assert by["yearly"] == ["2024-02-29", "2028-02-29", "2032-02-29"]
    assert by["weekly2"] == ["2026-01-05T08:00:00+01:00", "2026-01-07T08:00:00+01:00",
                             "2026-01-19T08:00:00+01:00", "2026-01-21T08:00:00+01:00"]
    yearly = [i for i in truth["items"] if i["summary"] == "yearly"]
    assert yearly[0]["id"].endswith("_20240229")


def test_exceptions_modified_and_cancelled(world):
    master = world.add_event(ALICE, timed("series", "2026-04-06T09:00:00", "2026-04-06T10:00:00", "Europe/Paris",
                                          recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    svc = world.calendar()
    second = f"{master['id']}_20260407T070000Z"
    third = f"{master['id']}_20260408T070000Z"
    got = svc.events().get(calendarId="primary", eventId=second).execute()
    assert got["recurringEventId"] == master["id"] and got["start"]["dateTime"] == "2026-04-07T09:00:00+02:00"
    moved = svc.events().patch(calendarId="primary", eventId=second, body={
        "summary": "moved", "start": {"dateTime": "2026-04-07T14:00:00+02:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-04-07T15:00:00+02:00", "timeZone": "Europe/Paris"}}).execute()
    assert moved["id"] == second and moved["originalStartTime"]["dateTime"] == "2026-04-07T09:00:00+02:00"
    assert svc.events().delete(calendarId="primary", eventId=third).execute() == ""
    params = {"calendarId": "primary", "timeMin": "2026-04-01T00:00:00Z", "timeMax": "2026-05-01T00:00:00Z"}
    single = svc.events().list(singleEvents=True, orderBy="startTime", **params).execute()["items"]
    assert [(i["id"], i.get("summary")) for i in single] == [
        (f"{master['id']}_20260406T070000Z", "series"), (second, "moved")]
    with_deleted = svc.events().list(singleEvents=True, showDeleted=True, **params).execute()["items"]
    cancelled = [i for i in with_deleted if i["status"] == "cancelled"]
    assert [(i["id"], i["recurringEventId"]) for i in cancelled] == [(third, master["id"])]
    assert cancelled[0]["originalStartTime"]["dateTime"] == "2026-04-08T09:00:00+02:00"
    # both false: master plus exceptions, cancelled exception included
    plain = svc.events().list(**params).execute()["items"]
    assert sorted(i["id"] for i in plain) == sorted([master["id"], second, third])
    # the instance can still be fetched (cancelled) by id
    assert svc.events().get(calendarId="primary", eventId=third).execute()["status"] == "cancelled"
    inst = svc.events().instances(calendarId="primary", eventId=master["id"]).execute()["items"]
    assert [i["id"] for i in inst] == [f"{master['id']}_20260406T070000Z", second]


def test_instances_bounds_and_unknown(world):
    master = world.add_event(ALICE, {"summary": "allday", "start": {"date": "2026-06-01"},
                                     "end": {"date": "2026-06-02"}, "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]})
    svc = world.calendar()
    items = svc.events().instances(calendarId="primary", eventId=master["id"], timeMin="2026-06-03T00:00:00Z",
                                   timeMax="2026-06-05T00:00:00Z").execute()["items"]
    assert [i["id"] for i in items] == [f"{master['id']}_20260602", f"{master['id']}_20260603",
                                        f"{master['id']}_20260604"]
    page = svc.events().instances(calendarId="primary", eventId=master["id"], maxResults=2).execute()
    assert len(page["items"]) == 2 and "nextPageToken" in page
    single = world.add_event(ALICE, timed("one", "2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"))
    for eid in (single["id"], "unknownid00"):
        with pytest.raises(HttpError) as info:
            svc.events().instances(calendarId="primary", eventId=eid).execute()
        assert info.value.resp.status == 404


def test_paging_and_sync_token_only_on_last_page(world):
    for n in range(7):
        world.add_event(ALICE, timed(f"e{n}", f"2026-03-0{n + 1}T10:00:00Z", f"2026-03-0{n + 1}T11:00:00Z"))
    svc = world.calendar()
    pages, token = [], None
    while True:
        resp = svc.events().list(calendarId="primary", maxResults=3, pageToken=token).execute()
        pages.append(resp)
        token = resp.get("nextPageToken")
        if not token:
            break
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert all("nextPageToken" not in p for p in pages[-1:])
    assert len({i["id"] for p in pages for i in p["items"]}) == 7


def test_default_and_maximum_page_size(world, ctl):
    for n in range(260):
        world.add_event(ALICE, timed(f"e{n}", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"))
    svc = world.calendar()
    first = svc.events().list(calendarId="primary").execute()
    assert len(first["items"]) == 250 and "nextPageToken" in first
    big = svc.events().list(calendarId="primary", maxResults=5000).execute()
    assert len(big["items"]) == 260 and "nextSyncToken" in big


def test_incremental_sync_with_cancellations(world, ctl):
    keep = world.add_event(ALICE, timed("keep", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"))
    change = world.add_event(ALICE, timed("change", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"))
    drop = world.add_event(ALICE, timed("drop", "2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z"))
    svc = world.calendar()
    items, last = list_all(svc)
    assert len(items) == 3
    token = last["nextSyncToken"]
    assert svc.events().list(calendarId="primary", syncToken=token).execute()["items"] == []

    ctl.patch(f"/users/{ALICE}/events/{change['id']}", {"summary": "changed"})
    ctl.delete(f"/users/{ALICE}/events/{drop['id']}")
    added = world.add_event(ALICE, timed("added", "2026-03-04T10:00:00Z", "2026-03-04T11:00:00Z"))
    resp = svc.events().list(calendarId="primary", syncToken=token).execute()
    by_id = {i["id"]: i for i in resp["items"]}
    assert set(by_id) == {change["id"], drop["id"], added["id"]}
    assert keep["id"] not in by_id
    assert by_id[change["id"]]["summary"] == "changed"
    assert by_id[drop["id"]]["status"] == "cancelled"
    assert set(by_id[drop["id"]]) <= {"kind", "etag", "id", "status"}
    token2 = resp["nextSyncToken"]
    assert token2 != token
    assert svc.events().list(calendarId="primary", syncToken=token2).execute()["items"] == []
    # the deleted event is not in a full list, only with showDeleted
    assert drop["id"] not in [i["id"] for i in list_all(svc)[0]]
    assert drop["id"] in [i["id"] for i in list_all(svc, showDeleted=True)[0]]


def test_incremental_sync_paginates(world, ctl):
    svc = world.calendar()
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    for n in range(5):
        world.add_event(ALICE, timed(f"e{n}", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"))
    first = svc.events().list(calendarId="primary", syncToken=token, maxResults=3).execute()
    assert len(first["items"]) == 3 and "nextSyncToken" not in first
    second = svc.events().list(calendarId="primary", syncToken=token, maxResults=3,
                               pageToken=first["nextPageToken"]).execute()
    assert len(second["items"]) == 2 and "nextSyncToken" in second and "nextPageToken" not in second


def test_incremental_sync_single_events(world, ctl):
    master = world.add_event(ALICE, timed("series", "2026-04-06T09:00:00", "2026-04-06T10:00:00", "Europe/Paris",
                                          recurrence=["RRULE:FREQ=DAILY;COUNT=3"]))
    single = world.add_event(ALICE, timed("single", "2026-04-06T12:00:00Z", "2026-04-06T13:00:00Z"))
    svc = world.calendar()
    full = svc.events().list(calendarId="primary", singleEvents=True).execute()
    assert len(full["items"]) == 4
    token = full["nextSyncToken"]
    second = f"{master['id']}_20260407T070000Z"
    ctl.patch(f"/users/{ALICE}/events/{second}", {"summary": "exception"})
    resp = svc.events().list(calendarId="primary", singleEvents=True, syncToken=token).execute()
    assert [(i["id"], i["summary"]) for i in resp["items"]] == [(second, "exception")]
    token = resp["nextSyncToken"]
    ctl.patch(f"/users/{ALICE}/events/{master['id']}", {"location": "Room 1"})
    resp = svc.events().list(calendarId="primary", singleEvents=True, syncToken=token).execute()
    assert sorted(i["id"] for i in resp["items"]) == [f"{master['id']}_20260406T070000Z",
                                                      f"{master['id']}_20260408T070000Z"]
    assert all(i["location"] == "Room 1" for i in resp["items"])
    token = resp["nextSyncToken"]
    ctl.delete(f"/users/{ALICE}/events/{master['id']}")
    resp = svc.events().list(calendarId="primary", singleEvents=True, syncToken=token).execute()
    assert sorted(i["id"] for i in resp["items"]) == sorted([f"{master['id']}_20260406T070000Z", second,
                                                             f"{master['id']}_20260408T070000Z"])
    assert {i["status"] for i in resp["items"]} == {"cancelled"}
    assert single["id"] not in [i["id"] for i in resp["items"]]


def test_sync_token_invalidation_and_garbage(world, ctl):
    svc = world.calendar()
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    ctl.post("/sync-tokens/invalidate", {"email": ALICE})
    for bad in (token, "1" + token, "garbage"):
        with pytest.raises(HttpError) as info:
            svc.events().list(calendarId="primary", syncToken=bad).execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"]) == (
            410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
    fresh = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    svc.events().list(calendarId="primary", syncToken=fresh).execute()


@pytest.mark.parametrize("param,value", [
    ("timeMin", "2026-01-01T00:00:00Z"), ("timeMax", "2026-01-01T00:00:00Z"), ("q", "x"), ("iCalUID", "x"),
    ("orderBy", "updated"), ("privateExtendedProperty", "a=b"), ("sharedExtendedProperty", "a=b"),
    ("updatedMin", "2026-01-01T00:00:00Z"),
])
def test_sync_token_rejects_incompatible_params(world, param, value):
    svc = world.calendar()
    token = svc.events().list(calendarId="primary").execute()["nextSyncToken"]
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary", syncToken=token, **{param: value}).execute()
    status, _, item = http_error(info.value)
    assert (status, item["reason"]) == (400, "invalid")


def test_filters(world):
    world.add_event(ALICE, timed("Quarterly review", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z",
                                 description="numbers", extendedProperties={"private": {"hub": "1", "k": "v"},
                                                                            "shared": {"s": "x"}}))
    world.add_event(ALICE, timed("Lunch", "2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z", location="Canteen",
                                 attendees=[{"email": "guest@partner.org", "displayName": "Guesty"}]))
    world.add_event(ALICE, timed("Focus", "2026-03-01T14:00:00Z", "2026-03-01T15:00:00Z", eventType="focusTime"))
    svc = world.calendar()

    def summaries(**kw):
        return sorted(i["summary"] for i in svc.events().list(calendarId="primary", **kw).execute()["items"])

    assert summaries(q="review") == ["Quarterly review"]
    assert summaries(q="canteen") == ["Lunch"]
    assert summaries(q="guesty") == ["Lunch"]
    assert summaries(privateExtendedProperty=["hub=1", "k=v"]) == ["Quarterly review"]
    assert summaries(privateExtendedProperty=["hub=1", "k=w"]) == []
    assert summaries(sharedExtendedProperty="s=x") == ["Quarterly review"]
    assert summaries(eventTypes=["focusTime"]) == ["Focus"]
    assert summaries(eventTypes=["default", "focusTime"]) == ["Focus", "Lunch", "Quarterly review"]
    uid = svc.events().list(calendarId="primary", q="lunch").execute()["items"][0]["iCalUID"]
    assert summaries(iCalUID=uid) == ["Lunch"]
    assert summaries(timeZone="America/New_York") == ["Focus", "Lunch", "Quarterly review"]


def test_updated_min_includes_deleted(world, ctl):
    old = world.add_event(ALICE, timed("old", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"))
    now = ctl.post("/clock", {"advance_seconds": 120})["now_rfc3339"]
    ctl.delete(f"/users/{ALICE}/events/{old['id']}")
    new = world.add_event(ALICE, timed("new", "2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z"))
    svc = world.calendar()
    items = svc.events().list(calendarId="primary", updatedMin=now).execute()["items"]
    assert {(i["id"], i["status"]) for i in items} == {(old["id"], "cancelled"), (new["id"], "confirmed")}


def test_long_url_uses_method_override(world, ctl):
    world.add_event(ALICE, timed("needle", "2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"))
    svc = world.calendar()
    before = ctl.get("/requests")["next"]
    long_q = "needle " + "x" * 3000
    assert svc.events().list(calendarId="primary", q=long_q).execute()["items"] == []
    assert [i["summary"] for i in svc.events().list(calendarId="primary", q="needle " * 400).execute()["items"]] \
        == ["needle"]
    log = [r for r in ctl.get(f"/requests?since={before}")["requests"] if r["path"] != "/token"]
    assert [(r["http_method"], r["method"], r["status"]) for r in log] == [("POST", "GET", 200)] * 2
