"""The organizer's own Join opens a keyword meeting with host rights: BigBlueButton's moderator link, Jitsi's
moderator token. The event (what every attendee sees) carries only the guests' link; the host link is shown to the
organizer alone, on their list and their device API, and never on a room display."""

import urllib.parse
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.urls import reverse

from calendar_sync.meetings import selectors as sel
from calendar_sync.scheduling.meeting_services.jitsi import TOKEN_GRACE
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.scheduling.services import meeting_service_save
from calendar_sync.sync.engine import calendar_sync_once
from calendar_sync.sync.models import CalendarSource
from controlhub.tenancy.google_connection import org_gateway
from tests.calendar_sync.test_meetings_support import make_person, make_source

pytestmark = pytest.mark.django_db
SECRET = "s" * 32


@pytest.fixture
def eli(org, google_tenant, plain_user):
    google_tenant.user("eli@acme.test")
    return make_source(make_person(org, "eli@acme.test", user=plain_user, google_time_zone="UTC"))


@pytest.fixture
def ana(org, google_tenant):
    return make_source(make_person(org, "ana@acme.test", google_time_zone="UTC"))


def _sync(source, times=2):
    for _ in range(times):  # the first pass answers the keyword; the next sees our own change come back
        source.refresh_from_db()
        calendar_sync_once(source=source, gateway=org_gateway(source.organization))


def _event(google, **fields):
    start = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
    body = {"summary": "Planning", "location": "@webex", "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "attendees": [{"email": "eli@acme.test"}, {"email": "ana@acme.test"}]}
    body.update(fields)
    return google.create_event("eli@acme.test", body)


def _join(source):
    person = source.person
    window = sel.window_for(time_zone="UTC")
    return {e.title: e.join_url for e in sel.meetings_read(person=person, source=source, window=window).entries}


def _query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_bigbluebutton_the_organizer_joins_as_moderator_everyone_else_as_a_viewer(
        org, bbb, google, eli, ana, client, plain_user):
    meeting_service_save(organization=org, values={"kind": "bigbluebutton", "bbb_api_url": bbb.api_url,
                                                   "bbb_secret": "bbb-test-secret", "bbb_algorithm": "sha256"})
    event = _event(google)
    _sync(eli)
    _sync(ana, times=1)
    km = KeywordMeeting.objects.get(source=eli, google_event_id=event["id"])
    guests, host = _join(ana)["Planning"], _join(eli)["Planning"]
    assert _query(guests)["role"] == "VIEWER" and _query(host)["role"] == "MODERATOR"
    assert _query(guests)["meetingID"] == _query(host)["meetingID"] == km.meeting_id
    description = org_gateway(org).event_get("eli@acme.test", event["id"])["description"]
    assert guests in description and host not in description
    client.force_login(plain_user)
    page = client.get(reverse("meetings")).content.decode()
    assert urllib.parse.quote(_query(host)["password"]) in page or _query(host)["password"] in page
    assert _query(guests)["password"] not in page
    # The organizer pasted another link over it: that link is theirs to join, the meeting's host link is gone.
    google.patch_event("eli@acme.test", event["id"], {"location": "https://video.other.test/room"})
    _sync(eli, times=1)
    assert "MODERATOR" not in (_join(eli)["Planning"] or "")


def test_jitsi_the_organizer_s_link_carries_a_moderator_token_that_follows_the_meeting(
        org, google, eli, ana):
    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "meet.acme.test",
                                                   "jitsi_app_id": "calendarhub", "jitsi_secret": SECRET})
    event = _event(google)
    _sync(eli)
    _sync(ana, times=1)
    guests, host = _join(ana)["Planning"], _join(eli)["Planning"]
    assert "jwt" not in _query(guests) and host.split("?")[0] == guests
    claims = jwt.decode(_query(host)["jwt"], SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["context"]["user"] == {"email": "eli@acme.test", "name": "eli", "moderator": True}
    # Moved to next week: the token is minted anew for the meeting's new end.
    start = datetime.fromisoformat(event["start"]["dateTime"]) + timedelta(days=7)
    google.patch_event("eli@acme.test", event["id"], {
        "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})
    _sync(eli)
    moved = jwt.decode(_query(_join(eli)["Planning"])["jwt"], SECRET, algorithms=["HS256"], audience="jitsi")
    assert moved["exp"] == int((start + timedelta(hours=1) + TOKEN_GRACE).timestamp())


def test_a_room_display_never_gets_a_host_link(org, google, eli):
    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "meet.acme.test",
                                                   "jitsi_app_id": "calendarhub", "jitsi_secret": SECRET})
    event = _event(google)
    _sync(eli)
    CalendarSource.objects.filter(pk=eli.pk).update(kind=CalendarSource.Kind.ROOM)
    eli.refresh_from_db()
    viewer = sel.SourceViewer(eli)
    viewer.email = "eli@acme.test"  # even a display whose calendar id were the organizer's
    read = sel.meetings_read(person=viewer, source=eli, window=sel.window_for(time_zone="UTC"))
    [entry] = [e for e in read.entries if e.title == "Planning"]
    assert entry.organized_by_me and "jwt" not in entry.join_url
    assert KeywordMeeting.objects.filter(google_event_id=event["id"]).exists()


def test_jitsi_personal_room_the_organizer_gets_a_moderator_token_for_each_booking(org, google, eli, ana):
    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "meet.acme.test",
                                                   "jitsi_app_id": "calendarhub", "jitsi_secret": SECRET})
    event = _event(google, location="@meet")
    _sync(eli)
    _sync(ana, times=1)
    guests, host = _join(ana)["Planning"], _join(eli)["Planning"]
    assert "jwt" not in _query(guests) and host.split("?")[0] == guests
    claims = jwt.decode(_query(host)["jwt"], SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["room"] == guests.rsplit("/", 1)[1] and claims["context"]["user"]["moderator"] is True
    end = datetime.fromisoformat(event["end"]["dateTime"])
    assert claims["exp"] == int((end + TOKEN_GRACE).timestamp())
    later = end + timedelta(days=2)
    google.patch_event("eli@acme.test", event["id"], {"end": {"dateTime": later.isoformat()}})
    _sync(eli)
    moved = jwt.decode(_query(_join(eli)["Planning"])["jwt"], SECRET, algorithms=["HS256"], audience="jitsi")
    assert moved["room"] == claims["room"] and moved["exp"] == int((later + TOKEN_GRACE).timestamp())
