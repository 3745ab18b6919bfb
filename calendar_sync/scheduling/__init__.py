"""Keyword scheduling: ``@webex`` / ``@meet`` in an event's Location answered exactly once through the
organization's meeting service, with localized join details written back to the event.

``keywords`` is the flow; ``meeting_services`` the backends behind one interface (Webex, Jitsi Meet,
BigBlueButton, None, and an offline stand-in for tests); ``services`` the org's Meeting service settings (secrets
encrypted with its data key), each person's Webex site from the Google directory, the self-hosted hosts the
Join detector recognises and the Test button; ``views``/``forms`` the Meeting service page.

May import ``calendar_sync.sync`` (sources, meetings, the page hook it registers with), ``controlhub.tenancy``,
``calendar_sync.google`` and ``calendar_sync.encryption``.
"""
