"""An offline stand-in for a meeting service: deterministic meeting ids derived from the event they are for,
join URLs on ``org.meeting_site_host``. It makes no real meeting: deployments choose a real service on the
Meeting service page; this one serves the keyword flow's own tests (``MEETING_SERVICE_DEFAULT = "local"``)."""

import hashlib
import re

from calendar_sync.scheduling.meeting_services.base import MeetingSite, SiteMeeting


class LocalMeetingSite(MeetingSite):
    kind = "local"
    idempotent_create = True

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
