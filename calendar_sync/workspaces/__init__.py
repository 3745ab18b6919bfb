"""Workspaces: rooms (Google resource calendars) and the displays on their devices.

A room is read and written as the organization's *scheduling account* (a Workspace user), never impersonated
itself: adding one validates it (Directory look-up, the account's access, an ACL ``writer`` rule granted when
missing) like a person's activation, then starts its calendar source, which the sync engine mirrors as it
mirrors a person's. Here live the rooms and their policy, the display tokens, the validation, free/busy,
book now / extend / end early / check-in / release, the display's selectors and views, and the admin pages.

May import ``calendar_sync.sync`` (sources, the mirror, join links), ``controlhub.tenancy`` (organizations,
the guarded gateway, the error catalogue, audit), ``calendar_sync.google`` and ``calendar_sync.encryption``;
nothing imports it but the shells (URLs, app config, schedules, demo).
"""
