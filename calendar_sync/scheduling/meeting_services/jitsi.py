"""Jitsi Meet (self-hosted or public): a room on the configured host, its name unguessable.

With an app id and secret (Prosody's ``token`` authentication), ``join_url_for`` mints an HS256 JSON Web Token
(``aud``, ``iss``, ``sub``, ``room``, ``context.user``, ``exp``) for one invited person, so only they get in with
moderator rights; the event itself carries the plain room link (guests, where the server allows them).
Jitsi has no meeting to move or delete: rooms exist while someone is in them.
Token format: https://github.com/jitsi/lib-jitsi-meet/blob/master/doc/tokens.md
"""

import dataclasses
import hashlib
import hmac
import re
import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta

import jwt

from calendar_sync.scheduling.meeting_services.base import MeetingSite, SiteMeeting
from calendar_sync.scheduling.meeting_services.errors import NotConfigured

ROOM_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud or typed from a printout
ROOM_LENGTH = 20  # ~100 bits
TOKEN_GRACE = timedelta(hours=2)
_HOST = re.compile(r"^(?:https?://)?([a-z0-9.-]+(?::\d{1,5})?)(/[^?#]*)?$", re.IGNORECASE)


def jitsi_base(host):
    """``https://host[/path]`` of a configured host (``meet.example.org``, ``https://meet.example.org/team``);
    ``http://`` is kept for an intranet server that says so."""
    text = (host or "").strip().rstrip("/")
    match = _HOST.match(text)
    if not match:
        raise NotConfigured("the Jitsi host is not a host name")
    scheme = "http" if text.lower().startswith("http://") else "https"
    return f"{scheme}://{match.group(1).lower()}{match.group(2) or ''}"


def room_name():
    return "".join(secrets.choice(ROOM_ALPHABET) for _ in range(ROOM_LENGTH))


def jitsi_token(*, app_id, secret, room, user_email, user_name="", moderator=True, expires_at, host=""):
    """The HS256 token of one person for one room."""
    claims = {
        "aud": "jitsi",
        "iss": app_id,
        "sub": urllib.parse.urlsplit(host).hostname if "://" in host else (host or "*"),
        "room": room,
        "exp": int(expires_at.timestamp()),
        "nbf": int((datetime.now(UTC) - timedelta(minutes=5)).timestamp()),
        "context": {"user": {"email": user_email, "name": user_name or user_email.split("@", 1)[0],
                             "moderator": bool(moderator)}},
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class JitsiMeetingSite(MeetingSite):
    kind = "jitsi"

    def __init__(self, host, *, app_id="", secret=""):
        self.base = jitsi_base(host)
        self.app_id = app_id
        self.secret = secret

    @property
    def uses_tokens(self):
        return bool(self.app_id and self.secret)

    def _room(self, room, *, personal=False):
        host = urllib.parse.urlsplit(self.base).netloc
        return SiteMeeting(meeting_id=room, join_url=f"{self.base}/{room}", number=room, personal_room=personal,
                           site_url=host)

    def meeting_create(self, *, host_email, title, start, end, request_key):
        meeting = self._room(room_name())
        if self.uses_tokens:
            meeting = dataclasses.replace(meeting, host_url=self.host_url_for(
                meeting_id=meeting.meeting_id, host_email=host_email, end=end))
        return meeting

    def host_url_for(self, *, meeting_id, host_email, end):
        if not self.uses_tokens:
            return ""
        return self.join_url_for(meeting_id, host_email, expires_at=(end or datetime.now(UTC)) + TOKEN_GRACE)

    def personal_room(self, *, host_email):
        # One stable, unguessable room per person on this host: derived from the host and address, keyed
        # by the app secret when there is one (else by the address alone, which anyone could compute).
        key = (self.secret or "calendarhub").encode()
        digest = hmac.new(key, f"{self.base}|{host_email.lower()}".encode(), hashlib.sha256).digest()
        room = "".join(ROOM_ALPHABET[b % len(ROOM_ALPHABET)] for b in digest[:ROOM_LENGTH])
        return self._room(room, personal=True)

    def join_url_for(self, room, user_email, *, user_name="", moderator=True, expires_at=None):
        """The room link of one invited person: with their token when the server uses tokens."""
        url = f"{self.base}/{room}"
        if not self.uses_tokens:
            return url
        token = jitsi_token(app_id=self.app_id, secret=self.secret, room=room, user_email=user_email,
                            user_name=user_name, moderator=moderator, host=self.base,
                            expires_at=expires_at or datetime.now(UTC) + timedelta(days=1))
        return f"{url}?jwt={token}"
