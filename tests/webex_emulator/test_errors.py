"""Errors as Webex sends them: 401, 403 (scope, host), 400 validation, 404, 405, 429 and other faults."""

from __future__ import annotations

import time

import pytest

from webex_emulator import errors

from .conftest import iso_in
from .helpers import SITE, Api, request


def _webex_error(resp, status: int, message: str | None = None):
    assert resp.status == status, resp.body
    assert set(resp.body) == {"message", "errors", "trackingId"}
    assert resp.body["errors"] and all(set(e) == {"description"} for e in resp.body["errors"])
    assert resp.headers["TrackingID"] == resp.body["trackingId"]
    if message is not None:
        assert resp.body["message"] == message
    return resp.body["errors"][0]["description"]


def test_missing_token(world, meeting_body):
    resp = request(world.base, "POST", "/v1/meetings", body=meeting_body())
    assert _webex_error(resp, 401, errors.UNAUTHORIZED) == errors.UNAUTHORIZED
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_unknown_token(world):
    resp = request(world.base, "GET", "/v1/meetings", token="not-a-token")
    _webex_error(resp, 401, errors.UNAUTHORIZED)


def test_missing_scope(world, meeting_body):
    reader = Api(
        world.base,
        world.ctl("POST", "/service-apps", {"scopes": ["meeting:admin_schedule_read"], "siteUrls": [SITE]}),
    )
    _webex_error(reader("POST", "/v1/meetings", meeting_body()), 403, errors.FORBIDDEN)
    writer = Api(
        world.base,
        world.ctl("POST", "/service-apps", {"scopes": ["meeting:admin_schedule_write"], "siteUrls": [SITE]}),
    )
    _webex_error(writer("GET", "/v1/meetings?hostEmail=ana@acme.test"), 403, errors.FORBIDDEN)
    _webex_error(writer("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=ana@acme.test"), 403)


def test_scope_removed_later(world, meeting_body):
    world.ctl("PATCH", f"/service-apps/{world.admin.app['client_id']}", {"scopes": ["spark:kms"]})
    _webex_error(world.admin("POST", "/v1/meetings", meeting_body()), 403, errors.FORBIDDEN)


@pytest.mark.parametrize("host", ["nobody@acme.test", "carol@acme.test", "dan@other.test"])
def test_host_unknown_to_the_site(world, meeting_body, host):
    resp = world.admin("POST", "/v1/meetings", meeting_body(hostEmail=host))
    description = _webex_error(resp, 403, errors.FORBIDDEN)
    assert host in description and "is not a host on the site" in description


def test_site_the_app_does_not_manage(world, meeting_body):
    resp = world.admin("POST", "/v1/meetings", meeting_body(siteUrl="other.webex.com"))
    assert "is not a host on the site 'other.webex.com'" in _webex_error(resp, 403)


def test_machine_account_needs_a_host(world, meeting_body):
    body = meeting_body()
    del body["hostEmail"]
    resp = world.admin("POST", "/v1/meetings", body)
    assert _webex_error(resp, 400, errors.BAD_REQUEST) == "'hostEmail' cannot be empty."


@pytest.mark.parametrize(
    ("fields", "description"),
    [
        ({"title": ""}, "'title' cannot be empty."),
        ({"title": "x" * 129}, "'title' cannot be longer than 128 characters."),
        ({"start": None}, "'start' cannot be empty."),
        ({"end": None}, "'end' cannot be empty."),
        ({"start": "tomorrow"}, "'start' value 'tomorrow' is not a valid ISO 8601 date and time."),
        (
            {"start": "2001-01-01T10:00:00Z", "end": "2001-01-01T11:00:00Z"},
            "'start' cannot be before current date and time.",
        ),
        ({"end": lambda: iso_in(65)}, "Duration between 'start' and 'end' cannot be shorter than 10 minutes."),
        (
            {"end": lambda: iso_in(60 + 25 * 60)},
            "Duration between 'start' and 'end' cannot be longer than 23 hours 59 minutes.",
        ),
        ({"end": lambda: iso_in(30)}, "'end' cannot be before 'start'."),
        ({"timezone": "Mars/Olympus"}, "'timezone' value 'Mars/Olympus' is invalid."),
        ({"integrationTags": ["a", "b", "c", "d"]}, "The maximum size of 'integrationTags' is 3."),
        (
            {"integrationTags": ["x" * 65]},
            "Each item of 'integrationTags' must be a string of 1 to 64 characters.",
        ),
        ({"invitees": [{"displayName": "No email"}]}, "'invitees[0].email' is not a valid email address."),
        ({"enabledJoinBeforeHost": "yes"}, "'enabledJoinBeforeHost' must be a boolean."),
        ({"joinBeforeHostMinutes": 99}, "'joinBeforeHostMinutes' must be a number between 0 and 15."),
        ({"recurrence": "EVERY MONDAY"}, "'recurrence' value 'EVERY MONDAY' is invalid."),
        ({"agenda": "a" * 1301}, "'agenda' must be a string of at most 1300 characters."),
    ],
)
def test_validation(world, meeting_body, fields, description):
    # Times relative to now are computed when the test runs (collection can be minutes earlier on a busy machine).
    fields = {k: (v() if callable(v) else v) for k, v in fields.items()}
    body = {k: v for k, v in meeting_body(**fields).items() if v is not None}
    resp = world.admin("POST", "/v1/meetings", body)
    assert _webex_error(resp, 400, errors.BAD_REQUEST) == description


def test_password_rules(world, meeting_body):
    resp = world.admin("POST", "/v1/meetings", meeting_body(password="alllower1"))
    description = _webex_error(resp, 400, errors.INVALID_ITEMS)
    assert description.startswith("Meeting password validation failed.")


def test_malformed_json(world):
    resp = world.admin("POST", "/v1/meetings", b"{not json")
    assert _webex_error(resp, 400) == "Invalid JSON in the request body."


def test_unknown_meeting_and_path_and_method(world):
    assert (
        _webex_error(
            world.admin("GET", "/v1/meetings/0123456789abcdef0123456789abcdef"), 404, errors.NOT_FOUND
        )
        == "The meeting is not found."
    )
    _webex_error(world.admin("GET", "/v1/nothing-here"), 404, errors.NOT_FOUND)
    _webex_error(world.admin("POST", "/v1/meetings/0123456789abcdef0123456789abcdef"), 405)


def test_rate_limit_fault_with_retry_after(world, meeting_body):
    world.ctl(
        "POST",
        "/faults",
        {"method": "POST", "path_regex": "^/v1/meetings$", "status": 429, "count": 1, "retry_after": 7},
    )
    resp = world.admin("POST", "/v1/meetings", meeting_body())
    _webex_error(resp, 429, errors.TOO_MANY)
    assert resp.headers["Retry-After"] == "7"
    assert world.admin("POST", "/v1/meetings", meeting_body()).status == 200
    faults = world.ctl("GET", "/faults")["faults"]
    assert faults[0]["hits"] == 1 and faults[0]["count"] == 0


def test_rate_limit_default_retry_after_and_custom_body(world):
    world.ctl("POST", "/faults", {"path_regex": "personalMeetingRoom", "status": 429, "count": -1})
    for _ in range(2):
        resp = world.admin("GET", "/v1/meetingPreferences/personalMeetingRoom?userEmail=ana@acme.test")
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    world.ctl("DELETE", "/faults")
    world.ctl("POST", "/faults", {"status": 502, "body": {"message": "upstream"}})
    resp = world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test")
    assert resp.status == 502 and resp.body == {"message": "upstream"}


def test_token_endpoint_faults(world):
    world.ctl("POST", "/faults", {"path_regex": "access_token", "status": 503})
    resp = world.admin.refresh()
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"
    assert world.admin.refresh().status == 200


def test_delay_fault_and_latency(world):
    world.ctl("POST", "/faults", {"path_regex": "^/v1/meetings$", "status": 0, "delay_ms": 300})
    started = time.monotonic()
    assert world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test").status == 200
    assert time.monotonic() - started >= 0.3
    world.ctl("PUT", "/latency", {"delay_ms": 200})
    started = time.monotonic()
    world.admin("GET", "/v1/meetings?hostEmail=ana@acme.test")
    assert time.monotonic() - started >= 0.2
    world.ctl("DELETE", "/latency")
    assert world.ctl("GET", "/latency") == {"delay_ms": 0, "jitter_ms": 0}
