"""Authentication, authorization, API enablement and account state errors on the Google endpoints."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from googleapiclient.errors import HttpError

from .helpers import CAL, DOMAIN, PROJECT, http_error

A = "https://www.googleapis.com/auth/"


def raw_get(url: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, dict(resp.headers.items()), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), json.loads(err.read())


def test_missing_and_invalid_credentials(world, ctl):
    url = world.base + "/calendar/v3/calendars/primary/events"
    status, headers, body = raw_get(url)
    assert status == 401
    assert headers["Content-Type"] == "application/json; charset=UTF-8"
    assert headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/"'
    assert body["error"]["status"] == "UNAUTHENTICATED"
    assert body["error"]["errors"][0] == {"domain": "global", "reason": "required", "message": "Login Required.",
                                          "locationType": "header", "location": "Authorization"}
    assert body["error"]["message"].startswith("Request is missing required authentication credential.")

    status, headers, body = raw_get(url, "ya29.bogus")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    assert body["error"]["code"] == 401
    assert body["error"]["message"].startswith("Request had invalid authentication credentials.")
    assert body["error"]["errors"][0]["reason"] == "authError"
    assert body["error"]["errors"][0]["message"] == "Invalid Credentials"


def test_expired_token_by_emulator_clock(world, ctl):
    svc = world.calendar()
    svc.events().list(calendarId="primary").execute()
    token = svc._http.credentials.token
    ctl.post("/clock", {"advance_seconds": 3600})
    status, _, body = raw_get(world.base + "/calendar/v3/calendars/primary/events", token)
    assert status == 401 and body["error"]["errors"][0]["reason"] == "authError"


def test_insufficient_scope(world):
    svc = world.calendar(scopes=[A + "calendar.readonly"])
    svc.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as info:
        svc.events().insert(calendarId="primary", body={
            "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}).execute()
    status, message, item = http_error(info.value)
    assert status == 403
    assert message == "Request had insufficient authentication scopes."
    assert item == {"domain": "global", "reason": "insufficientPermissions", "message": "Insufficient Permission"}
    body = json.loads(info.value.content)["error"]
    assert body["status"] == "PERMISSION_DENIED"
    assert body["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert body["details"][0]["metadata"]["method"] == "calendar.v3.Events.Insert"


@pytest.mark.parametrize("scope,allowed", [
    (A + "calendar.events.readonly", {"list": True, "settings": False, "acl": False, "freebusy": False}),
    (A + "calendar.events", {"list": True, "settings": False, "acl": False, "freebusy": False}),
    (A + "calendar.settings.readonly", {"list": False, "settings": True, "acl": False, "freebusy": False}),
    (A + "calendar.acls", {"list": False, "settings": False, "acl": True, "freebusy": False}),
    (A + "calendar.readonly", {"list": True, "settings": True, "acl": False, "freebusy": True}),
])
def test_scope_matrix(world, scope, allowed):
    svc = world.calendar(scopes=[scope])
    calls = {
        "list": lambda: svc.events().list(calendarId="primary").execute(),
        "settings": lambda: svc.settings().get(setting="timezone").execute(),
        "acl": lambda: svc.acl().insert(calendarId="primary", body={
            "role": "reader", "scope": {"type": "user", "value": f"bob@{DOMAIN}"}}).execute(),
        "freebusy": lambda: svc.freebusy().query(body={
            "timeMin": "2026-01-01T00:00:00Z", "timeMax": "2026-01-02T00:00:00Z", "items": [{"id": "primary"}]}
        ).execute(),
    }
    for name, call in calls.items():
        if allowed[name]:
            call()
        else:
            with pytest.raises(HttpError) as info:
                call()
            assert http_error(info.value)[2]["reason"] == "insufficientPermissions", name


def test_api_disabled(world, ctl):
    number = ctl.put(f"/projects/{PROJECT}/apis/calendar-json.googleapis.com", {"enabled": False})["number"]
    assert number.isdigit()
    svc = world.calendar()
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary").execute()
    status, message, item = http_error(info.value)
    expected = (f"Google Calendar API has not been used in project {number} before or it is disabled. Enable it "
                f"by visiting https://console.developers.google.com/apis/api/calendar-json.googleapis.com/"
                f"overview?project={number} then retry. If you enabled this API recently, wait a few minutes for "
                "the action to propagate to our systems and retry.")
    assert (status, message) == (403, expected)
    assert item["reason"] == "accessNotConfigured" and item["domain"] == "usageLimits"
    assert item["message"] == expected
    details = info.value.error_details
    assert details[0]["reason"] == "SERVICE_DISABLED"
    assert details[0]["metadata"]["service"] == "calendar-json.googleapis.com"
    assert details[0]["metadata"]["consumer"] == f"projects/{number}"
    # other services of the project are unaffected; re-enabling restores access
    world.gmail().users().settings().getVacation(userId="me").execute()
    ctl.put(f"/projects/{PROJECT}/apis/calendar-json.googleapis.com", {"enabled": True})
    svc.events().list(calendarId="primary").execute()


def test_gmail_and_admin_disabled(world, ctl):
    number = ctl.put(f"/projects/{PROJECT}/apis/gmail.googleapis.com", {"enabled": False})["number"]
    ctl.put(f"/projects/{PROJECT}/apis/admin.googleapis.com", {"enabled": False})
    with pytest.raises(HttpError) as info:
        world.gmail().users().settings().getVacation(userId="me").execute()
    assert info.value.reason.startswith(f"Gmail API has not been used in project {number} before")
    with pytest.raises(HttpError) as info:
        world.directory().users().get(userKey=f"bob@{DOMAIN}").execute()
    assert info.value.reason.startswith(f"Admin SDK API has not been used in project {number} before")


def test_suspended_user(world, ctl):
    ctl.patch(f"/users/bob@{DOMAIN}", {"suspended": True})
    svc = world.calendar(subject=f"bob@{DOMAIN}")
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (403, "The user must be signed up for Google Calendar.",
                                                 "notACalendarUser")
    with pytest.raises(HttpError) as info:
        world.gmail(subject=f"bob@{DOMAIN}").users().settings().getVacation(userId="me").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (400, "Mail service not enabled", "failedPrecondition")
    ctl.patch(f"/users/bob@{DOMAIN}", {"suspended": False})
    svc.events().list(calendarId="primary").execute()


def test_unknown_calendar_is_404(world):
    svc = world.calendar()
    for cal in (f"bob@{DOMAIN}", "nobody@example.org"):
        with pytest.raises(HttpError) as info:
            svc.events().list(calendarId=cal).execute()
        assert http_error(info.value) == (404, "Not Found", {"domain": "global", "reason": "notFound",
                                                             "message": "Not Found"})


def test_envelope_and_content_type(world):
    svc = world.calendar()
    with pytest.raises(HttpError) as info:
        svc.events().get(calendarId="primary", eventId="doesnotexist1").execute()
    assert info.value.resp["content-type"] == "application/json; charset=UTF-8"
    body = json.loads(info.value.content)
    assert set(body["error"]) >= {"code", "message", "errors", "status"}
    assert body["error"]["status"] == "NOT_FOUND"


def test_token_with_calendar_scope_does_not_work_for_gmail(world):
    with pytest.raises(HttpError) as info:
        world.gmail(scopes=[CAL]).users().settings().getVacation(userId="me").execute()
    assert http_error(info.value)[:2] == (403, "Request had insufficient authentication scopes.")
