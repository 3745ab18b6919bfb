"""The sync engine: calendar sources (a Google calendar read as some subject: a person's primary calendar or a
room's resource calendar), their push channels and webhook, leased full and incremental sync, the scheduler,
the mirrored (encrypted) meetings, join-link detection and the sync health card.

May import ``controlhub.tenancy`` (organizations, data keys, the guarded gateway), ``calendar_sync.google`` and
``calendar_sync.encryption``. It knows nothing of people or rooms: their owners start and stop sources, and work
that follows a committed page (keyword scheduling) registers itself with ``engine.on_page_committed``.
"""
