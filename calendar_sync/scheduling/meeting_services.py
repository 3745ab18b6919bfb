"""The organization's meeting site: where ``@webex`` creates a meeting and ``@meet`` finds a personal room.

There is no real meeting service in this deployment, so ``LocalMeetingSite`` is deterministic and offline:
meeting ids are derived from the event they are made for, join URLs live on ``org.meeting_site_host``. A real API
client replaces it by implementing ``MeetingSite`` and returning it from ``meeting_site_for`` — nothing else in
the keyword flow knows how meetings are made.
"""

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteMeeting:
    meeting_id: str
    join_url: str
    sip_uri: str
    personal_room: bool = False


class MeetingSite:
    """What keyword scheduling needs from a meeting service."""

    def meeting_create(self, *, host_email, title, start, end, request_key) -> SiteMeeting:
        """A new unique meeting. ``request_key`` makes the call idempotent (same key → same meeting)."""
        raise NotImplementedError

    def personal_room(self, *, host_email) -> SiteMeeting:
        raise NotImplementedError

    def meeting_update(self, *, meeting_id, start, end) -> None:
        """The event's time changed: move the meeting."""

    def meeting_release(self, *, meeting_id) -> None:
        """The event was deleted or lost its keyword: the meeting is no longer needed."""


class LocalMeetingSite(MeetingSite):
    def __init__(self, host):
        self.host = host

    def meeting_create(self, *, host_email, title, start, end, request_key):
        digest = hashlib.sha256(f"{self.host}|{request_key}".encode()).hexdigest()
        meeting_id = str(int(digest[:15], 16) % 10**10).zfill(10)
        return SiteMeeting(
            meeting_id=meeting_id,
            join_url=f"https://{self.host}/meet/{meeting_id}",
            sip_uri=f"{meeting_id}@{self.host}",
        )

    def personal_room(self, *, host_email):
        localpart = re.sub(r"[^a-z0-9._-]", "", host_email.split("@", 1)[0].lower()) or "room"
        return SiteMeeting(
            meeting_id=localpart,
            join_url=f"https://{self.host}/meet/{localpart}",
            sip_uri=f"{localpart}@{self.host}",
            personal_room=True,
        )


def meeting_site_for(organization) -> MeetingSite:
    return LocalMeetingSite(organization.meeting_site_host)
