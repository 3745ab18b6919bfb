"""The one interface keyword scheduling needs from a meeting service, and what a meeting looks like to it."""

import hashlib
from dataclasses import dataclass

from calendar_sync.scheduling.meeting_services.errors import KeywordsOff


@dataclass(frozen=True)
class SiteMeeting:
    """A meeting (or personal room) on the service, as the join details show it.

    ``meeting_id`` is the service's id (what moves and deletes it); ``number`` what people read or type (a
    Webex meeting number, a room name), ``meeting_id`` when empty; ``host_url`` a link with host rights, never
    written into an event everyone sees.
    """

    meeting_id: str
    join_url: str
    sip_uri: str = ""
    personal_room: bool = False
    number: str = ""
    host_url: str = ""
    site_url: str = ""

    @property
    def display_number(self):
        return self.number or self.meeting_id


def integration_tag(request_key):
    """The tag carrying an event's identity on the service (≤ 64 characters, nothing readable in it)."""
    return "calendarhub-" + hashlib.sha256(request_key.encode()).hexdigest()[:40]


class MeetingSite:
    """What keyword scheduling needs from a meeting service.

    ``request_key`` names the event a meeting is for: a service that can tag meetings carries it
    (``integration_tag``) so that ``meeting_find`` finds a meeting whose creation was interrupted. A service
    whose create is idempotent by itself (same key → same meeting) says so with ``idempotent_create``.
    """

    kind = ""
    creates_meetings = True
    idempotent_create = False

    def meeting_create(self, *, host_email, title, start, end, request_key) -> SiteMeeting:
        raise NotImplementedError

    def meeting_find(self, *, host_email, request_key, start, end) -> SiteMeeting | None:
        """The meeting made earlier for ``request_key``, or None."""
        return None

    def personal_room(self, *, host_email) -> SiteMeeting:
        raise NotImplementedError

    def meeting_update(self, *, meeting_id, start, end, title=None, host_email="") -> None:
        """The event's time or title changed: change the meeting."""

    def host_url_for(self, *, meeting_id, host_email, end) -> str:
        """A fresh link with host rights for a meeting that now ends at ``end``, when the one made with it expires
        (a token's lifetime); "" when the link made with the meeting stays valid."""
        return ""

    def meeting_release(self, *, meeting_id, host_email="") -> None:
        """The event was deleted or lost its keyword: the meeting is no longer needed (gone already is fine)."""


class NoMeetingSite(MeetingSite):
    """Meeting service "None": keywords create nothing (Join buttons still work for pasted links)."""

    kind = "none"
    creates_meetings = False

    def meeting_create(self, **kwargs):
        raise KeywordsOff("keyword scheduling is off")

    def personal_room(self, **kwargs):
        raise KeywordsOff("keyword scheduling is off")
