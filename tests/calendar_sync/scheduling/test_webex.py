"""The Webex backend against the Webex Meetings emulator: real HTTP, the service app's real token flow."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from calendar_sync.scheduling.meeting_services import errors
from calendar_sync.scheduling.meeting_services.base import integration_tag
from calendar_sync.scheduling.meeting_services.webex import webex_times
from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import meeting_site_for, webex_client

from .conftest import SITE

pytestmark = pytest.mark.django_db


def _slot(hours=3, minutes=45):
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=minutes)


def calls(webex, since, method=None):
    """(method, path, status) of the Webex API requests since ``since`` (token requests included)."""
    return [(r["method"], r["path"], r["status"]) for r in webex("GET", f"/requests?since={since}")["requests"]
            if r["path"].startswith("/v1") and (method is None or r["method"] == method)]


def test_create_find_update_delete(webex_org, webex):
    site = meeting_site_for(webex_org)
    start, end = _slot()
    made = site.meeting_create(host_email="eli@acme.test", title="Planning", start=start, end=end,
                               request_key="1:2:ev1")
    stored = webex("GET", f"/meetings/{made.meeting_id}")
    assert stored["hostEmail"] == "eli@acme.test" and stored["siteUrl"] == SITE
    assert stored["title"] == "Planning"
    assert list(stored["integrationTags"].values()) == [[integration_tag("1:2:ev1")]]
    assert made.join_url.startswith(f"https://{SITE}/") and made.number == stored["meetingNumber"]
    assert made.sip_uri == f"{stored['meetingNumber']}@{SITE}"
    assert stored["sendEmail"] is False

    assert site.meeting_find(host_email="eli@acme.test", request_key="1:2:ev1", start=start, end=end) == made
    assert site.meeting_find(host_email="eli@acme.test", request_key="1:2:other", start=start, end=end) is None

    later = start + timedelta(days=2)
    site.meeting_update(meeting_id=made.meeting_id, start=later, end=later + timedelta(hours=1), title="Review",
                        host_email="eli@acme.test")
    moved = site.meeting_get(meeting_id=made.meeting_id, host_email="eli@acme.test")
    assert moved.meeting_id == made.meeting_id
    stored = webex("GET", f"/meetings/{made.meeting_id}")
    assert stored["title"] == "Review" and stored["start"].startswith(later.strftime("%Y-%m-%dT%H:%M"))

    site.meeting_release(meeting_id=made.meeting_id, host_email="eli@acme.test")
    assert webex.meetings() == []
    site.meeting_release(meeting_id=made.meeting_id, host_email="eli@acme.test")  # already gone: fine
    with pytest.raises(errors.MeetingNotFound):
        site.meeting_update(meeting_id=made.meeting_id, start=start, end=end, host_email="eli@acme.test")


def test_personal_room(webex_org, webex):
    room = meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    assert room.personal_room and room.join_url == f"https://{SITE}/meet/eli.ng"
    assert room.sip_uri == f"eli.ng@{SITE}" and room.number.isdigit()
    since = webex.since()
    with pytest.raises(errors.HostNotOnSite):
        meeting_site_for(webex_org).personal_room(host_email="nobody@acme.test")
    assert [c[1] for c in calls(webex, since)] == ["/v1/meetingPreferences/personalMeetingRoom"]


def test_times_webex_accepts():
    now = datetime(2030, 1, 1, 9, 0, 30, tzinfo=UTC)
    start, end = webex_times(now - timedelta(minutes=20), now + timedelta(minutes=5), now)
    assert start == datetime(2030, 1, 1, 9, 2, tzinfo=UTC) and end - start == timedelta(minutes=10)
    start, end = webex_times(now + timedelta(days=1), now + timedelta(days=2), now)
    assert end - start == timedelta(hours=23, minutes=59)
    with pytest.raises(errors.InvalidRequest):
        webex_times(now - timedelta(hours=2), now - timedelta(hours=1), now)


def test_access_token_is_refreshed_before_it_expires_and_on_401(webex_org, webex):
    webex("PUT", "/config", {"access_token_ttl": 3600})
    service = MeetingService.objects.get(organization=webex_org)
    assert service.webex_token_enc is None
    since = webex.since()
    site = meeting_site_for(webex_org)
    site.personal_room(host_email="eli@acme.test")
    assert [c[1] for c in calls(webex, since)] == ["/v1/access_token", "/v1/meetingPreferences/personalMeetingRoom"]
    service.refresh_from_db()
    tokens = [t["token"] for t in webex("GET", "/tokens")["items"] if t.get("kind") == "access"]
    assert tokens and service.webex_token_enc and not any(t.encode() in bytes(service.webex_token_enc)
                                                          for t in tokens)
    assert service.webex_token_expires_at > datetime.now(UTC) + timedelta(minutes=50)

    # Another worker reads the stored token: no refresh.
    since = webex.since()
    meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    assert [c[1] for c in calls(webex, since)] == ["/v1/meetingPreferences/personalMeetingRoom"]

    # Less than ten minutes left: refreshed first.
    site = meeting_site_for(webex_org)
    site.client.clock = lambda: datetime.now(UTC) + timedelta(minutes=55)
    since = webex.since()
    site.personal_room(host_email="eli@acme.test")
    assert [c[1] for c in calls(webex, since)] == ["/v1/access_token", "/v1/meetingPreferences/personalMeetingRoom"]

    # Webex drops the access token early: the 401 refreshes it and the call is made again.
    webex("POST", "/tokens/expire", {"client_id": webex.app["client_id"], "kind": "access"})
    since = webex.since()
    meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    assert calls(webex, since) == [
        ("GET", "/v1/meetingPreferences/personalMeetingRoom", 401), ("POST", "/v1/access_token", 200),
        ("GET", "/v1/meetingPreferences/personalMeetingRoom", 200)]


def test_refresh_token_revoked(webex_org, webex):
    webex("POST", "/tokens/revoke", {"client_id": webex.app["client_id"], "kind": "all"})
    with pytest.raises(errors.TokenRevoked) as caught:
        meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    assert caught.value.info.code == "webex_token_revoked" and "refresh token" in str(caught.value.info.fix)


def test_wrong_client_secret(org, webex):
    from calendar_sync.scheduling.services import meeting_service_save

    meeting_service_save(organization=org, values={
        "kind": "webex", "webex_site_url": SITE, "webex_client_id": webex.app["client_id"],
        "webex_client_secret": "not-the-secret", "webex_refresh_token": webex.app["refresh_token"]})
    with pytest.raises(errors.ClientRejected):
        meeting_site_for(org).personal_room(host_email="eli@acme.test")
    meeting_service_save(organization=org, values={"kind": "webex", "webex_client_id": "C-unknown"})
    with pytest.raises(errors.ClientRejected):
        meeting_site_for(org).personal_room(host_email="eli@acme.test")


def test_missing_settings_name_the_fault(org):
    from calendar_sync.scheduling.services import meeting_service_save

    meeting_service_save(organization=org, values={"kind": "webex", "webex_site_url": SITE})
    with pytest.raises(errors.NotConfigured):
        meeting_site_for(org).meeting_create(host_email="eli@acme.test", title="t", start=None, end=None,
                                             request_key="k")


def test_scope_missing(webex_org, webex):
    webex("PATCH", f"/service-apps/{webex.app['client_id']}", {"scopes": ["meeting:admin_schedule_read"]})
    start, end = _slot()
    with pytest.raises(errors.ScopeMissing) as caught:
        meeting_site_for(webex_org).meeting_create(host_email="eli@acme.test", title="t", start=start, end=end,
                                                   request_key="k")
    assert caught.value.status == 403 and caught.value.tracking_id


@pytest.mark.parametrize("host", ["carl@acme.test", "stranger@acme.test", "dee@acme.test"])
def test_host_unknown_to_the_site(webex_org, webex, host):
    start, end = _slot()
    with pytest.raises(errors.HostNotOnSite) as caught:
        meeting_site_for(webex_org).meeting_create(host_email=host, title="t", start=start, end=end,
                                                   request_key="k")
    assert host in caught.value.message
    assert webex.meetings() == []


def test_429_retry_after_is_waited_out(webex_org, webex):
    webex.fault(method="POST", path_regex="^/v1/meetings", status=429, count=1, retry_after=1)
    start, end = _slot()
    began = time.monotonic()
    made = meeting_site_for(webex_org).meeting_create(host_email="eli@acme.test", title="t", start=start, end=end,
                                                      request_key="k")
    assert time.monotonic() - began >= 0.95
    assert [m["id"] for m in webex.meetings()] == [made.meeting_id]


def test_429_longer_than_we_wait_is_handed_back(webex_org, webex):
    webex.fault(method="GET", path_regex="personalMeetingRoom", status=429, count=5, retry_after=30)
    began = time.monotonic()
    with pytest.raises(errors.RateLimited) as caught:
        meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    assert time.monotonic() - began < 2 and caught.value.retry_after == "30" and caught.value.transient


def test_5xx(webex_org, webex):
    webex.fault(method="GET", path_regex="personalMeetingRoom", status=503, count=1, retry_after=0)
    assert meeting_site_for(webex_org).personal_room(host_email="eli@acme.test").join_url  # retried
    webex.fault(method="GET", path_regex="personalMeetingRoom", status=500, count=10)
    with pytest.raises(errors.ServiceUnavailable):
        meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")
    webex("DELETE", "/faults")
    # A create answered 5xx may have been made: never sent twice (the keyword flow looks it up by its tag).
    webex.fault(method="POST", path_regex="^/v1/meetings", status=502, count=1)
    since = webex.since()
    start, end = _slot()
    with pytest.raises(errors.ServiceUnavailable):
        meeting_site_for(webex_org).meeting_create(host_email="eli@acme.test", title="t", start=start, end=end,
                                                   request_key="k")
    assert calls(webex, since, "POST") == [("POST", "/v1/meetings", 502)]


def test_unreachable(webex_org, settings):
    settings.WEBEX_API_BASE = "http://127.0.0.1:9/v1"
    with pytest.raises(errors.ServiceUnavailable):
        meeting_site_for(webex_org).personal_room(host_email="eli@acme.test")


def test_client_counts_its_calls(webex_org, webex):
    client = webex_client(MeetingService.objects.get(organization=webex_org))
    client.call("GET", "/meetingPreferences/personalMeetingRoom", params={"userEmail": "eli@acme.test"})
    assert client.calls == 2 and client.refreshes == 1
