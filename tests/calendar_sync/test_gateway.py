"""The Google gateway against the emulator over HTTP: every typed error is produced by the emulator's control API
(never mocked), tokens are reused, retryable failures are retried and the others are not."""

import socket

import pytest

from calendar_sync.google import errors
from calendar_sync.google.gateway import (
    SCOPE_CALENDAR,
    SCOPE_DIRECTORY_READONLY,
    SCOPE_GMAIL_SETTINGS,
    Gateway,
    RetryPolicy,
)
from calendar_sync.google.keys import parse_service_account_key

pytestmark = pytest.mark.django_db


def _gateway(google, *, key=None, endpoint=None, attempts=3):
    return Gateway(
        parse_service_account_key(key or google.key),
        endpoint=google.base_url if endpoint is None else endpoint,
        timeout=5,
        retry=RetryPolicy(max_attempts=attempts, base=0.01, cap=0.05),
    )


def _log(google, since=0, *, path=None):
    items = google.requests(since)["requests"]
    return [r for r in items if path is None or r["path"] == path]


def _seq(google):
    return google.requests()["next"]


# --- one test per error class ----------------------------------------------------------------------------------
def test_delegation_not_authorized_when_no_grant(google):
    google.tenant("acme.test")
    google.user("ana@acme.test")
    with pytest.raises(errors.DelegationNotAuthorized) as info:
        _gateway(google).fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    assert info.value.reason == "unauthorized_client"
    assert info.value.payload["error"] == "unauthorized_client"
    assert info.value.error_code == "delegation_not_authorized"


def test_scope_not_authorized_when_token_lacks_the_scope(google_tenant):
    gw = _gateway(google_tenant)
    svc = gw.calendar()
    with pytest.raises(errors.ScopeNotAuthorized) as info:
        gw.execute("ana@acme.test", [SCOPE_GMAIL_SETTINGS], lambda: svc.settings().get(setting="timezone"))
    assert info.value.status == 403
    assert info.value.reason == "insufficientPermissions"
    assert info.value.error_code == "scope_missing"


def test_user_not_found(google_tenant):
    with pytest.raises(errors.UserNotFound) as info:
        _gateway(google_tenant).fetch_token("nobody@acme.test", [SCOPE_CALENDAR])
    assert "Invalid email or User ID" in str(info.value)
    assert info.value.payload == {"error": "invalid_grant", "error_description": "Invalid email or User ID"}


def test_user_deleted(google_tenant):
    google_tenant.delete_user("bo@acme.test")
    with pytest.raises(errors.UserDeleted) as info:
        _gateway(google_tenant).fetch_token("bo@acme.test", [SCOPE_CALENDAR])
    assert info.value.error_code == "user_deleted"


def test_invalid_key_after_key_deleted(google_tenant):
    google_tenant.delete_key(google_tenant.client_id, google_tenant.key["private_key_id"])
    with pytest.raises(errors.InvalidKey) as info:
        _gateway(google_tenant).fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    assert "Invalid JWT Signature." in str(info.value)


def test_clock_skew(google_tenant):
    google_tenant.advance_clock(7200)
    with pytest.raises(errors.ClockSkew) as info:
        _gateway(google_tenant).fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    assert "short-lived token" in str(info.value)


def test_api_disabled_names_the_api(google_tenant):
    google_tenant.set_api(google_tenant.project_id, "calendar-json.googleapis.com", False)
    with pytest.raises(errors.ApiDisabled) as info:
        _gateway(google_tenant).calendar_setting("ana@acme.test", "timezone")
    assert info.value.api == "calendar-json.googleapis.com"
    assert info.value.status == 403
    assert info.value.reason == "accessNotConfigured"


def test_not_a_calendar_user_when_suspended(google_tenant):
    google_tenant.patch_user("bo@acme.test", suspended=True)
    with pytest.raises(errors.NotACalendarUser):
        _gateway(google_tenant).calendar_setting("bo@acme.test", "timezone")


def test_rate_limited_carries_retry_after(google_tenant):
    google_tenant.fault(path_regex=r"^/calendar/v3/users/me/settings/", status=429, count=1,
                        body={"error": {"code": 429, "message": "Rate Limit Exceeded", "status": "RESOURCE_EXHAUSTED",
                                        "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded",
                                                    "message": "Rate Limit Exceeded"}]}})
    with pytest.raises(errors.RateLimited) as info:
        _gateway(google_tenant).calendar_setting("ana@acme.test", "timezone", retry=False)
    assert info.value.status == 429 and info.value.retryable


def test_rate_limited_from_the_emulated_per_user_quota(google_tenant):
    google_tenant.quota(per_user_per_minute=1)
    gw = _gateway(google_tenant)
    gw.calendar_setting("ana@acme.test", "timezone")
    with pytest.raises(errors.RateLimited) as info:
        gw.calendar_setting("ana@acme.test", "timezone", retry=False)
    assert info.value.reason == "userRateLimitExceeded"


def test_sync_token_invalid(google_tenant):
    gw = _gateway(google_tenant)
    first = gw.events_list("ana@acme.test")
    google_tenant.invalidate_sync_tokens("ana@acme.test")
    with pytest.raises(errors.SyncTokenInvalid):
        gw.events_list("ana@acme.test", syncToken=first["nextSyncToken"])


def test_not_found_is_not_retried(google_tenant):
    gw = _gateway(google_tenant)
    gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    since = _seq(google_tenant)
    with pytest.raises(errors.NotFound):
        gw.event_get("ana@acme.test", "doesnotexist0")
    api_calls = [r for r in _log(google_tenant, since) if r["path"].startswith("/calendar/")]
    assert [r["status"] for r in api_calls] == [404]


def test_google_unavailable_after_a_503_storm_is_capped(google_tenant):
    gw = _gateway(google_tenant, attempts=3)
    gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    google_tenant.fault(path_regex=r"^/calendar/v3/", status=503, count=-1)
    since = _seq(google_tenant)
    with pytest.raises(errors.GoogleUnavailable) as info:
        gw.calendar_setting("ana@acme.test", "timezone")
    assert info.value.status == 503
    assert [r["status"] for r in _log(google_tenant, since)] == [503, 503, 503]


def test_google_unavailable_when_nothing_listens(google_tenant):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    key = dict(google_tenant.key, token_uri=closed + "/token")
    with pytest.raises(errors.GoogleUnavailable):
        _gateway(google_tenant, key=key, endpoint=closed).fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    with pytest.raises(errors.GoogleUnavailable):
        _gateway(google_tenant, key=key, endpoint=closed, attempts=2).calendar_setting("ana@acme.test", "timezone")


# --- behaviour -------------------------------------------------------------------------------------------------
def test_tokens_are_reused_per_subject_and_scopes(google_tenant):
    gw = _gateway(google_tenant)
    since = _seq(google_tenant)
    for _ in range(3):
        gw.calendar_setting("ana@acme.test", "timezone")
        gw.events_list("ana@acme.test", maxResults=5)
        gw.vacation_get("ana@acme.test")
        gw.calendar_setting("bo@acme.test", "locale")
    tokens = _log(google_tenant, since, path="/token")
    assert sorted(r["subject"] for r in tokens) == ["ana@acme.test", "ana@acme.test", "bo@acme.test"]
    api_calls = [r for r in _log(google_tenant, since) if r["path"] != "/token"]
    assert len(api_calls) == 12 and all(r["status"] == 200 for r in api_calls)


def test_fresh_token_asks_google_again_and_replaces_the_cached_one(google_tenant):
    gw = _gateway(google_tenant)
    first = gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    assert gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR]) == first
    google_tenant.revoke("acme.test", google_tenant.client_id)
    assert gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR]) == first  # cached: Google not asked
    with pytest.raises(errors.DelegationNotAuthorized):
        gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR], fresh=True)
    with pytest.raises(errors.DelegationNotAuthorized):  # the stale token was dropped with the failure
        gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])


def test_retry_on_503_then_success(google_tenant):
    gw = _gateway(google_tenant)
    gw.fetch_token("ana@acme.test", [SCOPE_CALENDAR])
    google_tenant.fault(path_regex=r"^/calendar/v3/users/me/settings/timezone", status=503, count=1)
    since = _seq(google_tenant)
    assert gw.calendar_setting("ana@acme.test", "timezone") == "Europe/Paris"
    assert [r["status"] for r in _log(google_tenant, since)] == [503, 200]


def test_directory_user_and_gmail_vacation(google_tenant):
    google_tenant.delegate("acme.test", google_tenant.client_id,
                           [SCOPE_CALENDAR, SCOPE_GMAIL_SETTINGS, SCOPE_DIRECTORY_READONLY])
    gw = _gateway(google_tenant)
    user = gw.directory_user("admin@acme.test", "ana@acme.test")
    assert user["primaryEmail"] == "ana@acme.test"
    assert gw.vacation_get("ana@acme.test")["enableAutoReply"] is False
    with pytest.raises(errors.NotAuthorized):
        gw.directory_user("ana@acme.test", "bo@acme.test")


def test_retry_policy_delay_is_capped_and_tolerates_http_dates():
    policy = RetryPolicy(max_attempts=5, base=1, cap=4)
    assert all(0.5 * min(4, 2 ** (n - 1)) <= policy.delay(n) <= min(4, 2 ** (n - 1)) for n in range(1, 8))
    assert policy.delay(1, "30") == 4
    assert policy.delay(1, "2") == 2
    assert 0.5 <= policy.delay(1, "Wed, 21 Oct 2026 07:28:00 GMT") <= 1
