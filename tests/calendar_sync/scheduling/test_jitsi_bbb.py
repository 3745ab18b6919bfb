"""Jitsi Meet (room links, HS256 tokens) and BigBlueButton (checksummed calls against its API emulator)."""

import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from calendar_sync.scheduling.meeting_services import errors
from calendar_sync.scheduling.meeting_services.bigbluebutton import BigBlueButtonSite, api_base
from calendar_sync.scheduling.meeting_services.jitsi import ROOM_LENGTH, jitsi_base
from calendar_sync.scheduling.services import join_hosts, meeting_service_save, meeting_site_for

pytestmark = pytest.mark.django_db
START = datetime(2031, 5, 4, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_jitsi_rooms_are_unguessable_and_on_the_configured_host(org):
    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "https://Meet.Example.org/"})
    site = meeting_site_for(org)
    rooms = {site.meeting_create(host_email="eli@acme.test", title="Planning", start=START, end=END,
                                 request_key=f"k{i}").meeting_id for i in range(50)}
    assert len(rooms) == 50 and all(len(r) == ROOM_LENGTH and r.isalnum() and r.islower() for r in rooms)
    made = site.meeting_create(host_email="eli@acme.test", title="Planning", start=START, end=END, request_key="k")
    assert made.join_url == f"https://meet.example.org/{made.meeting_id}" and "Planning" not in made.join_url
    assert made.host_url == "" and made.sip_uri == ""
    room = site.personal_room(host_email="Eli@acme.test")
    assert room.personal_room and room.join_url == site.personal_room(host_email="eli@acme.test").join_url
    assert room.join_url != site.personal_room(host_email="ana@acme.test").join_url
    assert join_hosts(org.sources.model(organization=org)) == {"jitsi_hosts": ["meet.example.org"]}


def test_jitsi_token_for_invited_people(org):
    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "meet.example.org",
                                                   "jitsi_app_id": "calendarhub", "jitsi_secret": "s" * 32})
    site = meeting_site_for(org)
    made = site.meeting_create(host_email="eli@acme.test", title="t", start=START, end=END, request_key="k")
    assert made.join_url == f"https://meet.example.org/{made.meeting_id}"  # what every attendee sees
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(made.host_url).query)["jwt"][0]
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"], audience="jitsi")
    assert claims["iss"] == "calendarhub" and claims["sub"] == "meet.example.org"
    assert claims["room"] == made.meeting_id and claims["exp"] == int((END + timedelta(hours=2)).timestamp())
    assert claims["context"]["user"] == {"email": "eli@acme.test", "name": "eli", "moderator": True}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "wrong" * 8, algorithms=["HS256"], audience="jitsi")
    guest = site.join_url_for(made.meeting_id, "ana@acme.test", moderator=False)
    assert jwt.decode(guest.split("jwt=")[1], "s" * 32, algorithms=["HS256"],
                      audience="jitsi")["context"]["user"]["moderator"] is False


@pytest.mark.parametrize("host", ["", "not a host", "ftp://x", "https://"])
def test_jitsi_host_must_be_a_host(host):
    with pytest.raises(errors.NotConfigured):
        jitsi_base(host)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _status(url):
    try:
        with urllib.request.build_opener(_NoRedirect).open(url) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _body(url):
    with urllib.request.urlopen(url) as resp:
        return resp.read().decode()


def _bbb_org(org, bbb, secret="bbb-test-secret", algorithm="sha256"):
    meeting_service_save(organization=org, values={"kind": "bigbluebutton", "bbb_api_url": bbb.api_url,
                                                   "bbb_secret": secret, "bbb_algorithm": algorithm})
    return meeting_site_for(org)


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_bbb_create_join_and_end(org, bbb, algorithm):
    site = _bbb_org(org, bbb, algorithm=algorithm)
    made = site.meeting_create(host_email="eli@acme.test", title="Planning", start=START, end=END, request_key="k1")
    [stored] = bbb.call("GET", "/_emulator/meetings")["items"]
    assert stored["meetingID"] == made.meeting_id and stored["name"] == "Planning"
    assert made.meeting_id.startswith("ch-") and len(made.meeting_id) == 35
    # The join links are signed: they work as they are (a 302 into the client), and only as they are.
    assert _status(made.join_url) == 302 and _status(made.host_url) == 302
    assert "FAILED" in _body(made.join_url.replace("fullName=Guest", "fullName=Mallory"))
    attendees = bbb.call("GET", "/_emulator/meetings")["items"][0]["attendees"]
    assert [(a["fullName"], a["role"]) for a in attendees] == [("Guest", "VIEWER"), ("eli", "MODERATOR")]
    # Exactly once: the same event creates the same meeting (BigBlueButton's duplicateWarning), never a second.
    again = site.meeting_create(host_email="eli@acme.test", title="Planning", start=START, end=END, request_key="k1")
    assert again.meeting_id == made.meeting_id
    renamed = site.meeting_create(host_email="eli@acme.test", title="Renamed", start=START, end=END,
                                  request_key="k1")  # idNotUnique: the existing meeting is this event's
    assert renamed.meeting_id == made.meeting_id
    site.meeting_release(meeting_id=made.meeting_id)
    site.meeting_release(meeting_id="ch-never-made")  # notFound: nothing to end
    requests = bbb.call("GET", "/_emulator/requests?since=0")["requests"]
    assert [r["messageKey"] for r in requests if r["call"] == "create"] == ["", "duplicateWarning", "idNotUnique"]
    assert [r["returncode"] for r in requests if r["call"] == "end"] == ["SUCCESS", "FAILED"]


def test_bbb_checksum_error(org, bbb):
    site = _bbb_org(org, bbb, secret="not-the-secret")
    with pytest.raises(errors.ChecksumRejected) as caught:
        site.meeting_create(host_email="eli@acme.test", title="t", start=START, end=END, request_key="k")
    assert caught.value.info.code == "bbb_checksum_error"
    bbb.call("PUT", "/_emulator/config", {"algorithms": ["sha256"]})
    with pytest.raises(errors.ChecksumRejected):
        _bbb_org(org, bbb, algorithm="sha1").meeting_create(host_email="e@x.y", title="t", start=START, end=END,
                                                           request_key="k")


def test_bbb_unreachable_and_not_an_api(bbb):
    with pytest.raises(errors.ServiceUnavailable):
        BigBlueButtonSite("http://127.0.0.1:9/bigbluebutton/api/", "s").version()
    assert BigBlueButtonSite(bbb.api_url, "bbb-test-secret").version() == "2.0"
    assert api_base("https://bbb.example.org") == "https://bbb.example.org/bigbluebutton/api/"
    assert api_base("https://bbb.example.org/bigbluebutton/api") == "https://bbb.example.org/bigbluebutton/api/"
    with pytest.raises(errors.NotConfigured):
        api_base("bbb.example.org")


def test_bbb_hosts_reach_the_join_button(org, bbb):
    _bbb_org(org, bbb)
    assert join_hosts(org.sources.model(organization=org)) == {"self_hosted": {"bigbluebutton": ["127.0.0.1"]}}
