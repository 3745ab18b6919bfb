"""Keyword scheduling against the emulated Google Calendar: real client, real HTTP, real database."""

from datetime import UTC, datetime, timedelta

import pytest

from calendar_sync.scheduling import keywords
from calendar_sync.scheduling.keywords import JOIN_BLOCK_START, MARKER_EVENT, MARKER_MEETING, process_events
from calendar_sync.scheduling.models import KeywordMeeting
from controlhub.tenancy.google_connection import org_gateway
from tests.calendar_sync.test_meetings_support import make_person, make_source

pytestmark = pytest.mark.django_db


def _when(hours=24, minutes=60):
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0, second=0)
    return {"dateTime": start.isoformat()}, {"dateTime": (start + timedelta(minutes=minutes)).isoformat()}


@pytest.fixture
def ana(org, google_tenant):
    person = make_person(org, "ana@acme.test", google_locale="fr", google_time_zone="Europe/Paris")
    return make_source(person)


@pytest.fixture
def bo(org, google_tenant):
    person = make_person(org, "bo@acme.test", google_locale="ko", google_time_zone="Asia/Seoul")
    return make_source(person)


@pytest.fixture
def en_user(org, google_tenant):
    google_tenant.user("eli@acme.test", locale="en", time_zone="America/New_York")
    return make_source(make_person(org, "eli@acme.test", google_locale="en"))


def create(google, email, **fields):
    start, end = _when()
    body = {"summary": "Planning", "start": start, "end": end}
    body.update(fields)
    return google.create_event(email, body)


def fetch(org, email, event_id):
    return org_gateway(org).event_get(email, event_id)


def patches(google, since=0):
    return [r for r in google.requests(since)["requests"] if r["method"] == "PATCH"]


def run(sub, google, email, event_id, times=1):
    total = 0
    for _ in range(times):
        total += process_events(source=sub, events=[fetch(sub.organization, email, event_id)])
    return total


def test_webex_exactly_once(en_user, google):
    event = create(google, "eli@acme.test", location="Room 4 @Webex")
    since = google.requests()["next"]
    assert run(en_user, google, "eli@acme.test", event["id"], times=4) == 1
    assert len(patches(google, since)) == 1
    after = fetch(en_user.organization, "eli@acme.test", event["id"])
    km = KeywordMeeting.objects.get(source=en_user, google_event_id=event["id"])
    assert km.state == KeywordMeeting.State.ACTIVE and km.keyword == "@webex"
    assert after["extendedProperties"]["private"] == {MARKER_MEETING: km.meeting_id, MARKER_EVENT: event["id"]}
    assert after["description"].count(JOIN_BLOCK_START) == 1
    assert f"https://calendarhub.webex.com/meet/{km.meeting_id}" in after["description"]
    assert f"sip:{km.meeting_id}@calendarhub.webex.com" in after["description"]
    assert "Join the meeting" in after["description"]
    assert after["location"] == "Room 4 @Webex"  # kept by default
    assert keywords._Context(en_user).join_url(km) == f"https://calendarhub.webex.com/meet/{km.meeting_id}"


def test_keyword_replaced_by_join_url_stays_exactly_once(en_user, google):
    org = en_user.organization
    org.keyword_replace = True
    org.save()
    event = create(google, "eli@acme.test", location="@webex", description="Agenda: budget")
    since = google.requests()["next"]
    assert run(en_user, google, "eli@acme.test", event["id"], times=3) == 1
    after = fetch(org, "eli@acme.test", event["id"])
    km = KeywordMeeting.objects.get(source=en_user)
    assert after["location"] == f"https://calendarhub.webex.com/meet/{km.meeting_id}"
    assert after["description"].startswith("Agenda: budget\n\n")
    assert len(patches(google, since)) == 1
    assert km.state == KeywordMeeting.State.ACTIVE


def test_meet_uses_personal_room(en_user, google):
    event = create(google, "eli@acme.test", location="@MEET")
    assert run(en_user, google, "eli@acme.test", event["id"], times=2) == 1
    after = fetch(en_user.organization, "eli@acme.test", event["id"])
    assert "https://calendarhub.webex.com/meet/eli" in after["description"]
    assert "personal room" in after["description"]
    assert KeywordMeeting.objects.get(source=en_user).keyword == "@meet"


def test_keyword_needs_a_whole_word(en_user, google):
    event = create(google, "eli@acme.test", location="team@webex.example.com")
    assert run(en_user, google, "eli@acme.test", event["id"]) == 0
    assert not KeywordMeeting.objects.exists()


def test_french_and_korean_join_details(ana, bo, google):
    ev_fr = create(google, "ana@acme.test", location="@webex")
    ev_ko = create(google, "bo@acme.test", location="@webex")
    assert run(ana, google, "ana@acme.test", ev_fr["id"]) == 1
    assert run(bo, google, "bo@acme.test", ev_ko["id"]) == 1
    fr = fetch(ana.organization, "ana@acme.test", ev_fr["id"])["description"]
    ko = fetch(bo.organization, "bo@acme.test", ev_ko["id"])["description"]
    assert "Rejoindre la réunion" in fr and "Numéro de réunion" in fr
    assert "회의 참가" in ko and "회의 번호" in ko


def test_copied_event_gets_its_own_meeting(en_user, google):
    event = create(google, "eli@acme.test", location="@webex", description="Notes")
    run(en_user, google, "eli@acme.test", event["id"])
    original = fetch(en_user.organization, "eli@acme.test", event["id"])
    # "Duplicate" in Google Calendar copies description and private properties into a new event id.
    copy = google.create_event("eli@acme.test", {
        k: original[k] for k in ("summary", "start", "end", "location", "description", "extendedProperties")
    })
    since = google.requests()["next"]
    assert run(en_user, google, "eli@acme.test", copy["id"], times=3) == 1
    assert len(patches(google, since)) == 1
    kms = {km.google_event_id: km for km in KeywordMeeting.objects.filter(source=en_user)}
    assert set(kms) == {event["id"], copy["id"]}
    assert kms[event["id"]].meeting_id != kms[copy["id"]].meeting_id
    copied = fetch(en_user.organization, "eli@acme.test", copy["id"])
    assert copied["description"].count(JOIN_BLOCK_START) == 1
    assert kms[copy["id"]].meeting_id in copied["description"]
    assert kms[event["id"]].meeting_id not in copied["description"]
    assert copied["description"].startswith("Notes\n\n")
    assert copied["extendedProperties"]["private"][MARKER_EVENT] == copy["id"]


def test_one_instance_of_a_series(en_user, google):
    start, end = _when(hours=2)
    series = google.create_event("eli@acme.test", {
        "summary": "Standup", "start": {**start, "timeZone": "UTC"}, "end": {**end, "timeZone": "UTC"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"],
    })
    org = en_user.organization
    gw = org_gateway(org)
    instances = gw.events_list("eli@acme.test", singleEvents=True, orderBy="startTime",
                               timeMin=datetime.now(UTC).isoformat())["items"]
    instances = [i for i in instances if i.get("recurringEventId") == series["id"]]
    assert len(instances) == 5
    target = instances[2]
    gw.event_patch("eli@acme.test", target["id"], {"location": "@webex"})
    since = google.requests()["next"]
    fresh = gw.events_list("eli@acme.test", singleEvents=True, timeMin=datetime.now(UTC).isoformat())["items"]
    assert process_events(source=en_user, events=fresh) == 1
    assert process_events(source=en_user, events=gw.events_list(
        "eli@acme.test", singleEvents=True, timeMin=datetime.now(UTC).isoformat())["items"]) == 0
    [patch] = patches(google, since)
    assert target["id"] in patch["path"]
    km = KeywordMeeting.objects.get(source=en_user)
    assert km.google_event_id == target["id"]
    others = [gw.event_get("eli@acme.test", i["id"]) for i in instances if i["id"] != target["id"]]
    assert all(JOIN_BLOCK_START not in (o.get("description") or "") for o in others)


def test_time_change_moves_the_meeting(en_user, google):
    event = create(google, "eli@acme.test", location="@webex")
    run(en_user, google, "eli@acme.test", event["id"])
    km = KeywordMeeting.objects.get(source=en_user)
    new_start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    google.patch_event("eli@acme.test", event["id"], {
        "start": {"dateTime": new_start.isoformat()}, "end": {"dateTime": (new_start + timedelta(hours=2)).isoformat()},
    })
    since = google.requests()["next"]
    assert run(en_user, google, "eli@acme.test", event["id"], times=2) == 0
    assert patches(google, since) == []
    moved = KeywordMeeting.objects.get(source=en_user)
    assert moved.meeting_id == km.meeting_id
    assert moved.start == new_start and moved.end == new_start + timedelta(hours=2)
    assert KeywordMeeting.objects.count() == 1
    assert fetch(en_user.organization, "eli@acme.test", event["id"])["description"].count(JOIN_BLOCK_START) == 1


def test_keyword_removed_releases_and_cleans_description(en_user, google):
    event = create(google, "eli@acme.test", location="@webex", description="Agenda")
    run(en_user, google, "eli@acme.test", event["id"])
    google.patch_event("eli@acme.test", event["id"], {"location": "Room 4"})
    since = google.requests()["next"]
    assert run(en_user, google, "eli@acme.test", event["id"], times=3) == 1
    assert len(patches(google, since)) == 1
    after = fetch(en_user.organization, "eli@acme.test", event["id"])
    assert after["description"] == "Agenda"
    assert MARKER_MEETING not in ((after.get("extendedProperties") or {}).get("private") or {})
    assert KeywordMeeting.objects.get(source=en_user).state == KeywordMeeting.State.RELEASED


def test_keyword_added_back_after_release(en_user, google):
    event = create(google, "eli@acme.test", location="@webex")
    run(en_user, google, "eli@acme.test", event["id"])
    google.patch_event("eli@acme.test", event["id"], {"location": ""})
    run(en_user, google, "eli@acme.test", event["id"])
    google.patch_event("eli@acme.test", event["id"], {"location": "@webex"})
    assert run(en_user, google, "eli@acme.test", event["id"], times=2) == 1
    assert KeywordMeeting.objects.get(source=en_user).state == KeywordMeeting.State.ACTIVE
    assert fetch(en_user.organization, "eli@acme.test", event["id"])["description"].count(JOIN_BLOCK_START) == 1


def test_event_deleted_releases(en_user, google):
    event = create(google, "eli@acme.test", location="@webex")
    run(en_user, google, "eli@acme.test", event["id"])
    google.delete_event("eli@acme.test", event["id"])
    since = google.requests()["next"]
    cancelled = org_gateway(en_user.organization).events_list("eli@acme.test", showDeleted=True)["items"]
    assert process_events(source=en_user, events=cancelled) == 0
    assert patches(google, since) == []
    assert KeywordMeeting.objects.get(source=en_user).state == KeywordMeeting.State.RELEASED


def test_concurrent_edit_is_not_overwritten(en_user, google):
    event = create(google, "eli@acme.test", location="@webex", description="v1")
    stale = fetch(en_user.organization, "eli@acme.test", event["id"])
    # The user edits the event after we read it and before we patch it.
    google.patch_event("eli@acme.test", event["id"], {"summary": "Planning (moved room)", "description": "v2"})
    since = google.requests()["next"]
    assert process_events(source=en_user, events=[stale]) == 1
    statuses = [r["status"] for r in patches(google, since)]
    assert statuses == [412, 200]
    after = fetch(en_user.organization, "eli@acme.test", event["id"])
    assert after["summary"] == "Planning (moved room)"
    assert after["description"].startswith("v2\n\n") and after["description"].count(JOIN_BLOCK_START) == 1
    assert KeywordMeeting.objects.count() == 1


def test_attendee_copy_is_never_patched(org, en_user, ana, google):
    event = create(google, "eli@acme.test", location="@webex",
                   attendees=[{"email": "ana@acme.test"}, {"email": "eli@acme.test"}])
    since = google.requests()["next"]
    attendee_copy = fetch(org, "ana@acme.test", event["id"])
    assert attendee_copy["organizer"]["email"] == "eli@acme.test"
    assert process_events(source=ana, events=[attendee_copy]) == 0
    assert patches(google, since) == []
    assert not KeywordMeeting.objects.filter(source=ana).exists()
    assert run(en_user, google, "eli@acme.test", event["id"]) == 1


def test_transient_failure_is_retried_on_the_next_call(en_user, google):
    event = create(google, "eli@acme.test", location="@webex")
    google.fault(method="PATCH", path_regex=event["id"], status=500, count=10)
    assert run(en_user, google, "eli@acme.test", event["id"]) == 0
    km = KeywordMeeting.objects.get(source=en_user)
    assert km.patched_etag == ""
    google.clear_faults()
    # The next page of anything retries the pending event, with the same meeting.
    assert process_events(source=en_user, events=[]) == 1
    assert KeywordMeeting.objects.get(source=en_user).meeting_id == km.meeting_id
    assert run(en_user, google, "eli@acme.test", event["id"], times=2) == 0


def test_strip_join_block_round_trip():
    from calendar_sync.scheduling.meeting_services import LocalMeetingSite

    site = LocalMeetingSite("x.webex.com")
    block = keywords.join_block(language="ko", site_meeting=site.meeting_create(
        host_email="a@b.c", title="t", start=None, end=None, request_key="k"), keyword_kind="webex")
    assert keywords.strip_join_block(f"Hello\n\n{block}\n") == "Hello"
    assert keywords.strip_join_block(block) == ""


def test_end_to_end_through_the_sync_engine(en_user, google):
    """Event with @webex → sync → our PATCH → the change comes back through sync → no second PATCH."""
    sync = pytest.importorskip("calendar_sync.sync.engine")
    from calendar_sync.sync.meeting_fields import decrypt_fields
    from calendar_sync.sync.models import Meeting

    event = create(google, "eli@acme.test", location="@webex", summary="Kickoff")
    since = google.requests()["next"]
    gw = org_gateway(en_user.organization)
    for _ in range(3):  # first pass patches; later passes see our own change come back
        en_user.refresh_from_db()
        sync.calendar_sync_once(source=en_user, gateway=gw)
    assert len(patches(google, since)) == 1
    km = KeywordMeeting.objects.get(source=en_user, google_event_id=event["id"])
    meeting = Meeting.objects.get(source=en_user, google_event_id=event["id"])
    assert decrypt_fields(en_user.organization, meeting, ("join_url",))["join_url"] == (
        f"https://calendarhub.webex.com/meet/{km.meeting_id}")
    assert meeting.join_provider == "webex"
