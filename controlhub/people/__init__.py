"""People: adding them (one by one, CSV, Google directory), their activation state machine and history, bulk
jobs, emailed sign-in links, and their calendar source (started on activation, stopped on deactivation).

May import ``controlhub.onboarding``, ``calendar_sync.sync`` (to own a source),
``controlhub.tenancy``, ``calendar_sync.google`` and ``calendar_sync.encryption``. Presence and the meetings
read side sit above it and are never imported here.
"""
