"""The read side: what users and devices see of a calendar source. Selectors (queries), presenters (rows to
HTML and JSON), the meetings page, device tokens and the ``/api/v1/meetings`` JSON API.

May import ``calendar_sync.presence``, ``controlhub.people``, ``calendar_sync.sync``, ``controlhub.tenancy`` and
``calendar_sync.encryption``. Nothing imports it.
"""
