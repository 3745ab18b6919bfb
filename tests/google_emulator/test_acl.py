"""Calendar ACL: acl.list/get/insert/patch/update/delete and what each role may do."""

from __future__ import annotations

import json

import pytest
from googleapiclient.errors import HttpError

from .helpers import DOMAIN, A, event, http_error

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"
ROOM = "c_acl@resource.calendar.google.com"


def rule(role, stype="user", value=BOB):
    return {"role": role, "scope": {"type": "default"} if stype == "default" else {"type": stype, "value": value}}


def test_owner_manages_rules(world):
    svc = world.calendar(subject=BOB, scopes=[A + "calendar.acls"])
    made = svc.acl().insert(calendarId="primary", body=rule("reader", value="Carol@Example.com")).execute()
    assert {k: v for k, v in made.items() if k != "etag"} == {
        "kind": "calendar#aclRule", "id": f"user:{CAROL}", "scope": {"type": "user", "value": CAROL},
        "role": "reader"}
    assert made["etag"].startswith('"') and made["etag"].endswith('"')
    assert svc.acl().get(calendarId="primary", ruleId=f"user:{CAROL}").execute() == made
    assert svc.acl().get(calendarId=BOB, ruleId=f"user:{CAROL.upper()}").execute() == made
    # inserting a rule for the same scope replaces its role (same id, new etag)
    again = svc.acl().insert(calendarId="primary", body=rule("freeBusyReader", value=CAROL)).execute()
    assert again["id"] == made["id"] and again["role"] == "freeBusyReader" and again["etag"] != made["etag"]
    patched = svc.acl().patch(calendarId="primary", ruleId=made["id"], body={"role": "writer"}).execute()
    assert patched["role"] == "writer" and patched["scope"] == {"type": "user", "value": CAROL}
    updated = svc.acl().update(calendarId="primary", ruleId=made["id"], body=rule("reader", value=CAROL)).execute()
    assert updated["role"] == "reader"
    public = svc.acl().insert(calendarId="primary", body=rule("freeBusyReader", "default")).execute()
    assert public["id"] == "default" and public["scope"] == {"type": "default"}
    domain = svc.acl().insert(calendarId="primary", body=rule("reader", "domain", DOMAIN)).execute()
    assert domain["id"] == f"domain:{DOMAIN}"
    listed = svc.acl().list(calendarId="primary").execute()
    assert listed["kind"] == "calendar#acl" and "nextSyncToken" in listed
    assert {r["id"]: r["role"] for r in listed["items"]} == {
        f"user:{BOB}": "owner", f"user:{CAROL}": "reader", "default": "freeBusyReader", f"domain:{DOMAIN}": "reader"}
    assert svc.acl().delete(calendarId="primary", ruleId=f"user:{CAROL}").execute() == ""
    with pytest.raises(HttpError) as info:
        svc.acl().get(calendarId="primary", ruleId=f"user:{CAROL}").execute()
    assert http_error(info.value)[:2] == (404, "Not Found")
    for call in (lambda: svc.acl().delete(calendarId="primary", ruleId=f"user:{CAROL}"),
                 lambda: svc.acl().patch(calendarId="primary", ruleId="user:nobody@x.org", body={"role": "reader"})):
        with pytest.raises(HttpError) as info:
            call().execute()
        assert info.value.resp.status == 404


def test_rule_body_and_own_access(world):
    svc = world.calendar(subject=BOB)
    for body in ({"role": "boss", "scope": {"type": "user", "value": CAROL}}, {"role": "reader",
                                                                               "scope": {"type": "team"}},
                 {"role": "reader", "scope": {"type": "user"}}, {"scope": {"type": "user", "value": CAROL}},
                 {"role": "reader"}):
        with pytest.raises(HttpError) as info:
            svc.acl().insert(calendarId="primary", body=body).execute()
        assert info.value.resp.status == 400, body
    svc.acl().insert(calendarId="primary", body=rule("reader", value=CAROL)).execute()
    with pytest.raises(HttpError) as info:
        svc.acl().patch(calendarId="primary", ruleId=f"user:{CAROL}",
                        body={"scope": {"type": "user", "value": ALICE}}).execute()
    assert info.value.resp.status == 400
    for call in (lambda: svc.acl().delete(calendarId="primary", ruleId=f"user:{BOB}"),
                 lambda: svc.acl().patch(calendarId="primary", ruleId=f"user:{BOB}", body={"role": "reader"}),
                 lambda: svc.acl().insert(calendarId="primary", body=rule("writer", value=BOB))):
        with pytest.raises(HttpError) as info:
            call().execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"]) == (403, "Cannot change your own access level.", "forbidden")


def test_roles_decide_who_reads_and_changes_the_acl(world, ctl):
    ctl.post(f"/calendars/{ALICE}/acl", {"scope": {"type": "user", "value": BOB}, "role": "writer"})
    ctl.post(f"/calendars/{ALICE}/acl", {"scope": {"type": "user", "value": CAROL}, "role": "reader"})
    bob, carol = world.calendar(subject=BOB), world.calendar(subject=CAROL)
    # a writer reads the ACL (discovery: writer "provides read access to the calendar's ACLs") ...
    assert len(bob.acl().list(calendarId=ALICE).execute()["items"]) == 3
    assert bob.acl().get(calendarId=ALICE, ruleId=f"user:{CAROL}").execute()["role"] == "reader"
    # ... but changing it takes owner
    for call in (lambda: bob.acl().insert(calendarId=ALICE, body=rule("reader", value="dan@example.com")),
                 lambda: bob.acl().patch(calendarId=ALICE, ruleId=f"user:{CAROL}", body={"role": "writer"}),
                 lambda: bob.acl().delete(calendarId=ALICE, ruleId=f"user:{CAROL}")):
        with pytest.raises(HttpError) as info:
            call().execute()
        assert json.loads(info.value.content)["error"]["errors"] == [{
            "domain": "calendar", "reason": "requiredAccessLevel",
            "message": "You need to have owner access to this calendar."}]
        assert info.value.resp.status == 403
    # a reader cannot read the ACL; someone without access does not see the calendar at all
    with pytest.raises(HttpError) as info:
        carol.acl().list(calendarId=ALICE).execute()
    assert http_error(info.value)[:2] == (403, "You need to have writer access to this calendar.")
    ctl.post("/users", {"email": f"user9@{DOMAIN}"})
    outsider = world.calendar(subject=f"user9@{DOMAIN}")
    with pytest.raises(HttpError) as info:
        outsider.acl().list(calendarId=ALICE).execute()
    assert http_error(info.value)[:2] == (404, "Not Found")
    # a second owner may change the ACL
    ctl.post(f"/calendars/{ALICE}/acl", {"scope": {"type": "user", "value": BOB}, "role": "owner"})
    assert bob.acl().insert(calendarId=ALICE, body=rule("reader", value=f"user9@{DOMAIN}")).execute()["role"] == \
        "reader"
    outsider.events().list(calendarId=ALICE).execute()


def test_rules_grant_event_access(world, ctl):
    alice = world.calendar()
    bob = world.calendar(subject=BOB)
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId=ALICE).execute()
    assert info.value.resp.status == 404
    alice.acl().insert(calendarId="primary", body=rule("writerWithoutPrivateAccess")).execute()
    assert bob.events().list(calendarId=ALICE).execute()["accessRole"] == "writerWithoutPrivateAccess"
    bob.events().insert(calendarId=ALICE, body=event("2026-05-04T10:00", "2026-05-04T11:00")).execute()
    with pytest.raises(HttpError) as info:
        bob.acl().list(calendarId=ALICE).execute()
    assert info.value.resp.status == 403
    alice.acl().patch(calendarId="primary", ruleId=f"user:{BOB}", body={"role": "none"}).execute()
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId=ALICE).execute()
    assert info.value.resp.status == 404
    # a domain rule reaches everyone of the domain
    alice.acl().insert(calendarId="primary", body=rule("reader", "domain", DOMAIN)).execute()
    assert world.calendar(subject=CAROL).events().list(calendarId=ALICE).execute()["accessRole"] == "reader"


def test_room_calendar_rules(world, ctl):
    world.resource(ROOM, name="Quiet", capacity=2)
    admin = world.calendar(scopes=[A + "calendar.acls"])  # tenant admins own the tenant's room calendars
    bob = world.calendar(subject=BOB)
    for call in (lambda: bob.events().list(calendarId=ROOM), lambda: bob.acl().list(calendarId=ROOM)):
        with pytest.raises(HttpError) as info:
            call().execute()
        assert info.value.resp.status == 404
    admin.acl().insert(calendarId=ROOM, body=rule("reader")).execute()
    assert bob.events().list(calendarId=ROOM).execute()["accessRole"] == "reader"
    with pytest.raises(HttpError) as info:
        bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:00", "2026-05-04T11:00")).execute()
    assert http_error(info.value)[:2] == (403, "You need to have writer access to this calendar.")
    admin.acl().patch(calendarId=ROOM, ruleId=f"user:{BOB}", body={"role": "writer"}).execute()
    bob.events().insert(calendarId=ROOM, body=event("2026-05-04T10:00", "2026-05-04T11:00")).execute()
    assert [r["id"] for r in bob.acl().list(calendarId=ROOM).execute()["items"]] == [f"user:{BOB}"]
    with pytest.raises(HttpError) as info:
        bob.acl().delete(calendarId=ROOM, ruleId=f"user:{BOB}").execute()
    assert info.value.resp.status == 403


def test_list_paging_deleted_and_sync(world):
    svc = world.calendar()
    for n in range(4):
        svc.acl().insert(calendarId="primary", body=rule("reader", value=f"u{n}@{DOMAIN}")).execute()
    ids, token, pages = [], None, 0
    while True:
        page = svc.acl().list(calendarId="primary", maxResults=2, pageToken=token).execute()
        ids += [r["id"] for r in page["items"]]
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            sync = page["nextSyncToken"]
            break
        assert "nextSyncToken" not in page
    assert pages == 3 and len(ids) == 5 and ids[0] == f"user:{ALICE}"
    svc.acl().delete(calendarId="primary", ruleId=f"user:u1@{DOMAIN}").execute()
    svc.acl().patch(calendarId="primary", ruleId=f"user:u2@{DOMAIN}", body={"role": "writer"}).execute()
    changes = svc.acl().list(calendarId="primary", syncToken=sync).execute()
    assert {r["id"]: r["role"] for r in changes["items"]} == {f"user:u1@{DOMAIN}": "none",
                                                              f"user:u2@{DOMAIN}": "writer"}
    assert svc.acl().list(calendarId="primary", syncToken=changes["nextSyncToken"]).execute()["items"] == []
    assert f"user:u1@{DOMAIN}" not in [r["id"] for r in svc.acl().list(calendarId="primary").execute()["items"]]
    shown = svc.acl().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert {r["id"]: r["role"] for r in shown}[f"user:u1@{DOMAIN}"] == "none"
    with pytest.raises(HttpError) as info:
        svc.acl().list(calendarId="primary", syncToken="bogus").execute()
    status, message, item = http_error(info.value)
    assert (status, item["reason"]) == (410, "fullSyncRequired")
    # re-adding a deleted rule revives it
    svc.acl().insert(calendarId="primary", body=rule("reader", value=f"u1@{DOMAIN}")).execute()
    assert "none" not in [r["role"] for r in svc.acl().list(calendarId="primary", showDeleted=True).execute()[
        "items"]]


def test_acl_scopes(world):
    readonly = world.calendar(scopes=[A + "calendar.acls.readonly"])
    readonly.acl().list(calendarId="primary").execute()
    readonly.acl().get(calendarId="primary", ruleId=f"user:{ALICE}").execute()
    with pytest.raises(HttpError) as info:
        readonly.acl().insert(calendarId="primary", body=rule("reader")).execute()
    assert http_error(info.value)[2]["reason"] == "insufficientPermissions"
    # calendar.readonly covers acl.get but not acl.list (discovery)
    ro = world.calendar(scopes=[A + "calendar.readonly"])
    ro.acl().get(calendarId="primary", ruleId=f"user:{ALICE}").execute()
    with pytest.raises(HttpError) as info:
        ro.acl().list(calendarId="primary").execute()
    assert http_error(info.value)[2]["reason"] == "insufficientPermissions"
