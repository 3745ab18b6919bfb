"""Keywords answered by a real meeting service: the emulated Google Calendar and the emulated Webex site,
real HTTP both ways, the real database. Exactly once holds: one meeting per event, none made twice when a
worker dies between "meeting created" and "event patched"."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calendar_sync.scheduling import keywords
from calendar_sync.scheduling.keywords import JOIN_BLOCK_START, MARKER_MEETING, process_events
from calendar_sync.scheduling.meeting_services.base import integration_tag
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.scheduling.services import meeting_service_save
from controlhub.tenancy.google_connection import org_gateway
from tests.calendar_sync.test_meetings_support import make_person, make_source

from .conftest import SITE

# Outside a caller's transaction, as the sync engine runs keywords: what is committed survives a crash.
durable = pytest.mark.django_db(transaction=True)
EMAIL = "eli@acme.test"


class Killed(BaseException):
    """The worker dies: nothing after this line runs, no ``except Exception`` sees it."""


@pytest.fixture
def eli(webex_org, google_tenant):
    google_tenant.user(EMAIL, locale="en", time_zone="UTC")
    return make_source(make_person(webex_org, EMAIL, google_locale="en"))


def _when(hours=24, minutes=60):
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0, second=0)
    return start, start + timedelta(minutes=minutes)


def create(google, **fields):
    start, end = _when()
    body = {"summary": "Planning", "start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
    body.update(fields)
    return google.create_event(EMAIL, body)


def fetch(source, event_id):
    return org_gateway(source.organization).event_get(EMAIL, event_id)


def run(source, event_id, times=1):
    return sum(process_events(source=source, events=[fetch(source, event_id)]) for _ in range(times))


def webex_calls(webex, since):
    """(method, path) of the Webex meeting API calls since ``since`` (token refreshes left out)."""
    return [(r["method"], r["path"]) for r in webex("GET", f"/requests?since={since}")["requests"]
            if r["path"].startswith("/v1/meeting")]


def google_patches(google, since):
    return [r for r in google.requests(since)["requests"] if r["method"] == "PATCH"]


@durable
def test_webex_meeting_exactly_once_with_its_sip_address(eli, google, webex):
    event = create(google, location="Room 4 @webex")
    w0, g0 = webex.since(), google.requests()["next"]
    assert run(eli, event["id"], times=4) == 1
    assert webex_calls(webex, w0) == [("POST", "/v1/meetings")]  # 1 create, 0 on the three replays
    assert len(google_patches(google, g0)) == 1
    [meeting] = webex.meetings()
    km = KeywordMeeting.objects.get(source=eli)
    assert km.meeting_id == meeting["id"] and km.service == "webex" and km.service_calls == 1
    assert meeting["hostEmail"] == EMAIL and meeting["siteUrl"] == SITE and meeting["title"] == "Planning"
    assert list(meeting["integrationTags"].values()) == [[integration_tag(keywords.request_key(eli, event["id"]))]]
    after = fetch(eli, event["id"])
    assert after["description"].count(JOIN_BLOCK_START) == 1
    assert meeting["webLink"] in after["description"]
    assert f"sip:{meeting['meetingNumber']}@{SITE}" in after["description"]
    assert f"Meeting number: {meeting['meetingNumber']}" in after["description"]
    assert after["extendedProperties"]["private"][MARKER_MEETING] == meeting["id"]


@durable
def test_killed_between_meeting_created_and_row_written_makes_no_second_meeting(eli, google, webex, monkeypatch):
    event = create(google, location="@webex")

    def die(km, meeting):
        raise Killed

    monkeypatch.setattr(keywords, "_after_remote_create", die)
    w0, g0 = webex.since(), google.requests()["next"]
    with pytest.raises(Killed):
        run(eli, event["id"])
    assert len(webex.meetings()) == 1 and google_patches(google, g0) == []
    km = KeywordMeeting.objects.get(source=eli)
    assert km.meeting_id is None and km.create_sent_at is not None  # the evidence the next worker needs

    monkeypatch.undo()
    # The dead worker's claim runs out; the next pass of the event (a push, or the pending retry) takes over.
    KeywordMeeting.objects.filter(pk=km.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    w1 = webex.since()
    assert run(eli, event["id"], times=3) == 1
    assert webex_calls(webex, w1) == [("GET", "/v1/meetings")]  # found by its integration tag, not created again
    [meeting] = webex.meetings()
    km.refresh_from_db()
    assert km.meeting_id == meeting["id"]
    assert meeting["webLink"] in fetch(eli, event["id"])["description"]
    assert webex_calls(webex, w0).count(("POST", "/v1/meetings")) == 1


@durable
def test_killed_between_row_written_and_event_patched_reuses_the_meeting(eli, google, webex, monkeypatch):
    event = create(google, location="@webex")

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(keywords, "_patch_add", die)
    with pytest.raises(Killed):
        run(eli, event["id"])
    monkeypatch.undo()
    km = KeywordMeeting.objects.get(source=eli)
    assert km.meeting_id and km.patched_etag == ""
    w1, g1 = webex.since(), google.requests()["next"]
    assert process_events(source=eli, events=[]) == 1  # the pending event is picked up by the next page
    assert webex_calls(webex, w1) == [] and len(google_patches(google, g1)) == 1
    assert [m["id"] for m in webex.meetings()] == [km.meeting_id]
    assert run(eli, event["id"], times=2) == 0


@durable
def test_copy_and_one_instance_each_get_their_own_meeting(eli, google, webex):
    event = create(google, location="@webex", description="Notes")
    run(eli, event["id"])
    original = fetch(eli, event["id"])
    copy = google.create_event(EMAIL, {k: original[k] for k in (
        "summary", "start", "end", "location", "description", "extendedProperties")})
    assert run(eli, copy["id"], times=2) == 1
    start, end = _when(hours=3)
    series = google.create_event(EMAIL, {
        "summary": "Standup", "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": end.isoformat(), "timeZone": "UTC"}, "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"]})
    gw = org_gateway(eli.organization)
    instances = [i for i in gw.events_list(EMAIL, singleEvents=True, timeMin=datetime.now(UTC).isoformat())["items"]
                 if i.get("recurringEventId") == series["id"]]
    gw.event_patch(EMAIL, instances[1]["id"], {"location": "@webex"})
    w0 = webex.since()
    fresh = gw.events_list(EMAIL, singleEvents=True, timeMin=datetime.now(UTC).isoformat())["items"]
    assert process_events(source=eli, events=fresh) == 1
    assert process_events(source=eli, events=gw.events_list(
        EMAIL, singleEvents=True, timeMin=datetime.now(UTC).isoformat())["items"]) == 0
    assert webex_calls(webex, w0) == [("POST", "/v1/meetings")]
    rows = {km.google_event_id: km.meeting_id for km in KeywordMeeting.objects.filter(source=eli)}
    assert set(rows) == {event["id"], copy["id"], instances[1]["id"]}
    assert sorted(rows.values()) == sorted(m["id"] for m in webex.meetings())
    assert rows[copy["id"]] in fetch(eli, copy["id"])["extendedProperties"]["private"][MARKER_MEETING]


@durable
def test_time_and_title_changes_follow_without_a_new_meeting(eli, google, webex):
    event = create(google, location="@webex")
    run(eli, event["id"])
    [meeting] = webex.meetings()
    new_start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    google.patch_event(EMAIL, event["id"], {"start": {"dateTime": new_start.isoformat()},
                                           "end": {"dateTime": (new_start + timedelta(hours=2)).isoformat()}})
    w0, g0 = webex.since(), google.requests()["next"]
    assert run(eli, event["id"], times=2) == 0
    assert webex_calls(webex, w0) == [("PATCH", f"/v1/meetings/{meeting['id']}")]
    moved = webex("GET", f"/meetings/{meeting['id']}")
    assert moved["start"] == new_start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert moved["end"] == (new_start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    google.patch_event(EMAIL, event["id"], {"summary": "Budget review"})
    w1 = webex.since()
    assert run(eli, event["id"], times=2) == 0
    assert webex_calls(webex, w1) == [("PATCH", f"/v1/meetings/{meeting['id']}")]
    assert webex("GET", f"/meetings/{meeting['id']}")["title"] == "Budget review"
    assert google_patches(google, g0) == [] and len(webex.meetings()) == 1


@durable
def test_deleting_the_event_or_the_keyword_deletes_the_meeting(eli, google, webex):
    first = create(google, location="@webex", description="Agenda")
    second = create(google, location="@webex")
    run(eli, first["id"])
    run(eli, second["id"])
    assert len(webex.meetings()) == 2
    google.patch_event(EMAIL, first["id"], {"location": "Room 4"})
    assert run(eli, first["id"], times=2) == 1
    assert fetch(eli, first["id"])["description"] == "Agenda"
    google.delete_event(EMAIL, second["id"])
    cancelled = org_gateway(eli.organization).events_list(EMAIL, showDeleted=True)["items"]
    assert process_events(source=eli, events=cancelled) == 0
    assert webex.meetings() == []
    assert set(KeywordMeeting.objects.values_list("state", flat=True)) == {KeywordMeeting.State.RELEASED}
    # The keyword comes back: a new meeting (the old one is gone).
    google.patch_event(EMAIL, first["id"], {"location": "@webex"})
    assert run(eli, first["id"], times=2) == 1
    assert len(webex.meetings()) == 1


@durable
def test_meet_uses_the_webex_personal_room(eli, google, webex):
    event = create(google, location="@meet")
    w0 = webex.since()
    assert run(eli, event["id"], times=2) == 1
    assert webex_calls(webex, w0) == [("GET", "/v1/meetingPreferences/personalMeetingRoom")]
    description = fetch(eli, event["id"])["description"]
    assert f"https://{SITE}/meet/eli.ng" in description and f"sip:eli.ng@{SITE}" in description
    assert webex.meetings() == []
    google.delete_event(EMAIL, event["id"])
    w1 = webex.since()
    process_events(source=eli, events=org_gateway(eli.organization).events_list(EMAIL, showDeleted=True)["items"])
    assert webex_calls(webex, w1) == []  # the personal room stays


@durable
def test_host_unknown_to_the_site_waits_for_the_fix(eli, google, webex):
    webex("DELETE", f"/users/{EMAIL}")
    event = create(google, location="@webex")
    g0 = google.requests()["next"]
    assert run(eli, event["id"]) == 0
    km = KeywordMeeting.objects.get(source=eli)
    assert km.error_code == "webex_host_unknown" and km.meeting_id is None and km.retry_at > timezone.now()
    w1 = webex.since()
    assert run(eli, event["id"]) == 0 and webex_calls(webex, w1) == []  # not hammered before the retry time
    webex("POST", "/users", {"email": EMAIL, "siteUrl": SITE})
    KeywordMeeting.objects.filter(pk=km.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
    assert process_events(source=eli, events=[]) == 1  # the pending retry
    assert len(webex.meetings()) == 1 and len(google_patches(google, g0)) == 1
    assert KeywordMeeting.objects.get(pk=km.pk).error_code == ""


@durable
def test_rate_limit_longer_than_we_wait_defers_the_keyword(eli, google, webex):
    webex.fault(method="POST", path_regex="^/v1/meetings", status=429, count=1, retry_after=30)
    event = create(google, location="@webex")
    assert run(eli, event["id"]) == 0
    km = KeywordMeeting.objects.get(source=eli)
    assert km.error_code == "meeting_service_rate_limited"
    assert timedelta(seconds=25) < km.retry_at - timezone.now() <= timedelta(seconds=30)
    KeywordMeeting.objects.filter(pk=km.pk).update(retry_at=timezone.now())
    w1 = webex.since()
    assert process_events(source=eli, events=[]) == 1
    # A 429 means nothing was made, but the create was sent: the tag is looked up before creating again.
    assert webex_calls(webex, w1) == [("GET", "/v1/meetings"), ("POST", "/v1/meetings")]
    assert len(webex.meetings()) == 1


@durable
def test_a_release_that_fails_is_retried(eli, google, webex):
    event = create(google, location="@webex")
    run(eli, event["id"])
    webex.fault(method="DELETE", path_regex="^/v1/meetings/", status=503, count=3, retry_after=0)
    google.delete_event(EMAIL, event["id"])
    process_events(source=eli, events=org_gateway(eli.organization).events_list(EMAIL, showDeleted=True)["items"])
    km = KeywordMeeting.objects.get(source=eli)
    assert km.state == KeywordMeeting.State.RELEASING and len(webex.meetings()) == 1
    KeywordMeeting.objects.filter(pk=km.pk).update(retry_at=timezone.now())
    assert keywords.keyword_meetings_release_pending() == 1
    assert webex.meetings() == [] and KeywordMeeting.objects.get(pk=km.pk).state == KeywordMeeting.State.RELEASED


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_tag_is_looked_up_first(eli, google, webex):
    """Inside an outer transaction our record of the create would not survive a crash: look first."""
    event = create(google, location="@webex")
    w0 = webex.since()
    assert run(eli, event["id"], times=2) == 1
    assert webex_calls(webex, w0) == [("GET", "/v1/meetings"), ("POST", "/v1/meetings")]
    assert len(webex.meetings()) == 1


@pytest.mark.django_db
def test_meeting_service_none_turns_keywords_off(org, google_tenant, google):
    meeting_service_save(organization=org, values={"kind": "none"})
    google_tenant.user(EMAIL, locale="en", time_zone="UTC")
    source = make_source(make_person(org, EMAIL, google_locale="en"))
    event = create(google, location="@webex")
    g0 = google.requests()["next"]
    assert run(source, event["id"], times=2) == 0
    assert google_patches(google, g0) == []
    assert KeywordMeeting.objects.get(source=source).error_code == "meeting_service_none"
