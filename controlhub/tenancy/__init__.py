"""Tenancy: organizations, their members and roles, verified domains, audit records and data keys; the tenant
trust boundary (which Google subjects an organization may act as) and the guarded gateway every organization
talks to Google through; the one catalogue of errors people see; the org-scoped view mixins; rate limits; the
enqueue-after-commit helper; the encrypted cache of delegated tokens the processes share.

May import only the leaves ``calendar_sync.google`` and ``calendar_sync.encryption``: everything else sits on
top of it. What it needs from above (whether a person proved a mailbox) is registered with it at start-up.
"""
