"""/api/v1/meetings: bearer tokens and sessions, the JSON shape, ETag/304 without decryption."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import device_token_create, device_token_revoke
from controlhub.people.calendar import person_calendar_source
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

pytestmark = pytest.mark.django_db
URL = "/api/v1/meetings"


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """The ETag carries the current minute; pinned so a 304 check cannot straddle a minute boundary."""
    monkeypatch.setattr(sel, "etag_clock_bucket", lambda now: 0)


@pytest.fixture
def room(org):
    person = make_person(org, "room4@acme.test", name="Room 4", google_time_zone="Asia/Seoul")
    return make_source(person)


@pytest.fixture
def token(org, room, admin_user):
    return device_token_create(organization=org, source=person_calendar_source(person=room.person, active=False), name="Room 4 display", actor=admin_user)[1]


def auth(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_reverse_name_is_kept():
    assert reverse("api_meetings") == URL


def test_bearer_token_reads_the_persons_meetings(client, room, token):
    seoul = ZoneInfo("Asia/Seoul")
    tomorrow = timezone.now().astimezone(seoul).date() + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=seoul)
    attendees = [
        {"email": "bo@acme.test", "name": "Bo", "response_status": "accepted", "organizer": True, "resource": False,
         "self": False},
        {"email": "guest@example.com", "name": "Guest Example", "response_status": "needsAction",
         "organizer": False, "resource": False, "self": False},
        {"email": "room4@acme.test", "name": "Room 4", "response_status": "accepted", "organizer": False,
         "resource": True, "self": True},
    ]
    make_meeting(room, title="주간 회의", start=start, minutes=30, join_url="https://acme.webex.com/meet/w",
                 join_provider="webex", organizer_email="bo@acme.test", organizer_name="Bo", attendees=attendees)
    make_meeting(room, title="Holiday", all_day=True, start_date=tomorrow, end_date=tomorrow + timedelta(days=1))
    response = client.get(URL, **auth(token))
    assert response.status_code == 200
    data = response.json()
    assert data["person"] == {
        "email": "room4@acme.test", "name": "Room 4", "time_zone": "Asia/Seoul",
        "presence": {"status": "available", "out_of_office": False, "source": "", "until": None},
    }
    by_title = {m["title"]: m for m in data["meetings"]}
    weekly = by_title["주간 회의"]
    assert weekly["start"] == start.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")
    assert weekly["all_day"] is False and weekly["provider"] == "webex"
    assert weekly["join_url"] == "https://acme.webex.com/meet/w"
    assert weekly["join_enabled_from"] == (start - timedelta(minutes=5)).astimezone(ZoneInfo("UTC")).isoformat(
    ).replace("+00:00", "Z")
    assert weekly["organizer"] == {"email": "bo@acme.test", "name": "Bo"}
    assert weekly["attendees"] == {"count": 2, "names": ["Bo", "Guest Example"]}  # the room is not a participant
    assert by_title["Holiday"]["start"] == tomorrow.isoformat() and by_title["Holiday"]["all_day"] is True
    assert by_title["Holiday"]["end"] == (tomorrow + timedelta(days=1)).isoformat()
    assert "generated_at" in data and response["Cache-Control"] == "private, no-cache"


def test_etag_304_decrypts_nothing(client, room, token, monkeypatch, django_assert_max_num_queries):
    make_meeting(room, title="One")
    first = client.get(URL, **auth(token))
    etag = first["ETag"]
    from calendar_sync.encryption.crypto import DataCipher

    def forbidden(*args, **kwargs):
        raise AssertionError("the 304 path must not decrypt")

    monkeypatch.setattr(DataCipher, "decrypt", forbidden)
    with django_assert_max_num_queries(1):  # token (+ person, org, source): the ETag needs nothing more
        not_modified = client.get(URL, HTTP_IF_NONE_MATCH=etag, **auth(token))
    assert not_modified.status_code == 304 and not_modified["ETag"] == etag
    monkeypatch.undo()
    make_meeting(room, title="Two")
    assert client.get(URL, HTTP_IF_NONE_MATCH=etag, **auth(token)).status_code == 200


def test_constant_queries_for_many_meetings(client, room, token, django_assert_max_num_queries):
    for i in range(80):
        make_meeting(room, title=f"M{i}", start=timezone.now() + timedelta(hours=i + 1))
    client.get(URL, **auth(token))  # last_used_at written (at most once a minute)
    with django_assert_max_num_queries(2):  # token, meetings
        response = client.get(URL, **auth(token))
    assert len(response.json()["meetings"]) == 80


def test_rejects_missing_bad_and_revoked_tokens(client, org, room, token):
    assert client.get(URL).status_code == 401
    assert client.get(URL)["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, **auth("chd_wrong")).status_code == 401
    from calendar_sync.meetings.models import DeviceToken

    device_token_revoke(token=DeviceToken.objects.get())
    assert client.get(URL, **auth(token)).status_code == 401


def test_session_gets_the_same_json(client, org, plain_user):
    sub = make_source(make_person(org, plain_user.email, user=plain_user))
    make_meeting(sub, title="Via session")
    client.force_login(plain_user)
    data = client.get(URL).json()
    assert [m["title"] for m in data["meetings"]] == ["Via session"]
    assert data["person"]["email"] == plain_user.email


def test_presence_in_json(client, room, token):
    person = room.person
    person.ooo_start = timezone.now() - timedelta(days=1)
    person.ooo_end = timezone.now() + timedelta(days=1)
    person.ooo_source = "gmail"
    person.save()
    presence = client.get(URL, **auth(token)).json()["person"]["presence"]
    assert presence["status"] == "out_of_office" and presence["source"] == "gmail" and presence["until"]


def test_organizer_without_attendees_comes_from_its_columns(client, room, token):
    make_meeting(room, title="Solo", attendees=[], organizer_email="lea@acme.test", organizer_name="Lea")
    [meeting] = client.get(URL, **auth(token)).json()["meetings"]
    assert meeting["organizer"] == {"email": "lea@acme.test", "name": "Lea"} and meeting["attendees"]["count"] == 0


def test_window_is_today_and_31_days(client, room, token):
    seoul = ZoneInfo("Asia/Seoul")
    today = timezone.now().astimezone(seoul).date()
    far = today + timedelta(days=40)
    make_meeting(room, title="Far", start=datetime(far.year, far.month, far.day, 9, tzinfo=seoul))
    make_meeting(room, title="Yesterday", start=timezone.now() - timedelta(days=1, hours=1))
    titles = [m["title"] for m in client.get(URL, **auth(token)).json()["meetings"]]
    assert titles == []
    assert [m["title"] for m in client.get(URL + "?past=1", **auth(token)).json()["meetings"]] == ["Yesterday"]
    assert isinstance(today, date)
