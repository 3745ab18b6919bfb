"""BigBlueButton: the ``create`` API call signed with the shared secret, and join links.

Every call carries ``checksum`` = hex digest of ``callName + queryString + secret`` (sha1 or, since 2.6 and
preferred, sha256…); answers are XML, ``<returncode>FAILED</returncode>`` ones carry ``messageKey``
(``checksumError``: wrong secret or algorithm; ``idNotUnique``: the id exists with other settings).
Reference: https://docs.bigbluebutton.org/development/api/

A meeting's id and passwords are derived from the event's identity with the secret (unguessable, and the same
on every attempt), so a repeated ``create`` is BigBlueButton's own ``duplicateWarning``: the same meeting, never
a second one. BigBlueButton has no call to move or rename a meeting; ``end`` releases it.
"""

import hashlib
import hmac
import urllib.parse
import xml.etree.ElementTree as ET

from calendar_sync.scheduling.meeting_services import http
from calendar_sync.scheduling.meeting_services.base import MeetingSite, SiteMeeting, integration_tag
from calendar_sync.scheduling.meeting_services.errors import (
    ChecksumRejected,
    IdNotUnique,
    InvalidRequest,
    MeetingNotFound,
    NotConfigured,
    ServiceUnavailable,
)

ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
GUEST_NAME = "Guest"


def api_base(url):
    text = (url or "").strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotConfigured("the BigBlueButton API URL must start with https://")
    path = parts.path.rstrip("/")
    if not path.endswith("/api"):
        path = f"{path}/bigbluebutton/api" if not path.endswith("/bigbluebutton") else f"{path}/api"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def checksum(call, query, secret, algorithm="sha256"):
    return hashlib.new(algorithm, (call + query + secret).encode()).hexdigest()


def parse(text):
    """(returncode, {tag: text}) of an XML answer; ServiceUnavailable when it is not one."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ServiceUnavailable("BigBlueButton answered something that is not XML") from exc
    fields = {child.tag: (child.text or "") for child in root}
    return fields.get("returncode", ""), fields


class BigBlueButtonSite(MeetingSite):
    kind = "bigbluebutton"
    idempotent_create = True

    def __init__(self, url, secret, *, algorithm="sha256", timeout=15.0):
        if not secret:
            raise NotConfigured("the BigBlueButton shared secret is missing")
        if algorithm not in ALGORITHMS:
            raise NotConfigured("unknown checksum algorithm")
        self.base = api_base(url)
        self.secret = secret
        self.algorithm = algorithm
        self.timeout = timeout
        self.calls = 0

    def url(self, call, **params):
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        signature = checksum(call, query, self.secret, self.algorithm)
        return f"{self.base}{call}?{query}{'&' if query else ''}checksum={signature}"

    def call(self, call, **params):
        self.calls += 1
        resp = http.request("GET", self.url(call, **params), headers={"Accept": "text/xml"}, timeout=self.timeout)
        if resp.status != 200:
            raise ServiceUnavailable(f"BigBlueButton answered HTTP {resp.status}", status=resp.status)
        code, fields = parse(resp.text)
        if code == "SUCCESS":
            return fields
        key, message = fields.get("messageKey", ""), fields.get("message", "")
        if key == "checksumError":
            raise ChecksumRejected(message or key)
        if key == "idNotUnique":
            raise IdNotUnique(message or key)
        if key in ("notFound", "invalidMeetingIdentifier"):
            raise MeetingNotFound(message or key)
        raise InvalidRequest(f"{key}: {message}" if key else "BigBlueButton refused the call")

    def _derived(self, purpose, request_key, length):
        digest = hmac.new(self.secret.encode(), f"{purpose}|{request_key}".encode(), hashlib.sha256).hexdigest()
        return digest[:length]

    def _meeting(self, meeting_id, attendee_pw, moderator_pw, host_email, *, personal=False):
        join = self.url("join", meetingID=meeting_id, fullName=GUEST_NAME, role="VIEWER", password=attendee_pw)
        host = self.url("join", meetingID=meeting_id, fullName=host_email.split("@", 1)[0], role="MODERATOR",
                        password=moderator_pw)
        return SiteMeeting(meeting_id=meeting_id, join_url=join, number=meeting_id, host_url=host,
                           personal_room=personal, site_url=urllib.parse.urlsplit(self.base).netloc)

    def _create(self, *, meeting_id, name, request_key, host_email, personal=False):
        attendee_pw = self._derived("attendee", request_key, 12)
        moderator_pw = self._derived("moderator", request_key, 12)
        params = {"meetingID": meeting_id, "name": (name or "Meeting")[:256], "attendeePW": attendee_pw,
                  "moderatorPW": moderator_pw, "meta_calendarhub-tag": integration_tag(request_key)}
        try:
            fields = self.call("create", **params)
        except IdNotUnique:
            # Made before with other settings (a renamed event): that meeting is this event's.
            fields = self.call("getMeetingInfo", meetingID=meeting_id)
        return self._meeting(fields.get("meetingID") or meeting_id, fields.get("attendeePW") or attendee_pw,
                             fields.get("moderatorPW") or moderator_pw, host_email, personal=personal)

    def meeting_create(self, *, host_email, title, start, end, request_key):
        meeting_id = "ch-" + self._derived("meeting", request_key, 32)
        return self._create(meeting_id=meeting_id, name=title, request_key=request_key, host_email=host_email)

    def personal_room(self, *, host_email):
        key = f"room|{host_email.lower()}"
        meeting_id = "room-" + self._derived("meeting", key, 24)
        return self._create(meeting_id=meeting_id, name=f"{host_email.split('@', 1)[0]}'s room", request_key=key,
                            host_email=host_email, personal=True)

    def meeting_release(self, *, meeting_id, host_email=""):
        try:
            self.call("end", meetingID=meeting_id)
        except MeetingNotFound:
            pass  # never started or already gone

    def version(self):
        """The server's answer to the API root (no checksum): a reachability check."""
        self.calls += 1
        resp = http.request("GET", self.base, headers={"Accept": "text/xml"}, timeout=self.timeout)
        if resp.status != 200:
            raise ServiceUnavailable(f"BigBlueButton answered HTTP {resp.status}", status=resp.status)
        code, fields = parse(resp.text)
        if code != "SUCCESS":
            raise ServiceUnavailable("the URL does not answer like a BigBlueButton API")
        return fields.get("version", "")
