"""Keyword scheduling: ``@webex`` / ``@meet`` in an event's Location answered exactly once through the
organization's meeting service, with localized join details written back to the event.

May import ``calendar_sync.sync`` (sources, meetings, the page hook it registers with), ``controlhub.tenancy``,
``calendar_sync.google`` and ``calendar_sync.encryption``.
"""
