"""The meeting services keywords create meetings on, one module per backend behind one interface
(``base.MeetingSite``): ``webex`` (a Webex service app), ``jitsi`` (Jitsi Meet, optional JWT),
``bigbluebutton`` (the checksummed API), ``base.NoMeetingSite`` (keywords off) and ``local`` (an offline
stand-in for the keyword flow's tests). ``errors`` maps what each service says to typed errors with their fix.
Which backend an organization uses, with its decrypted settings, is ``calendar_sync.scheduling.services``.
"""

from calendar_sync.scheduling.meeting_services.base import (
    MeetingSite,
    NoMeetingSite,
    SiteMeeting,
    integration_tag,
)
from calendar_sync.scheduling.meeting_services.errors import MeetingServiceError
from calendar_sync.scheduling.meeting_services.local import LocalMeetingSite

__all__ = ["LocalMeetingSite", "MeetingServiceError", "MeetingSite", "NoMeetingSite", "SiteMeeting", "integration_tag"]
