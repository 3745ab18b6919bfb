"""The read side: what users and devices see of a calendar source. ``selectors`` (who asks, the window, its
rows, the ETag), ``compiled`` (the queries every poll runs, compiled once), ``presenters`` (rows to day groups,
HTML and JSON), ``services`` (the page's one write: a user's time-zone override), the meetings page, device
tokens and the ``/api/v1/meetings`` JSON API.

May import ``calendar_sync.presence``, ``controlhub.people``, ``calendar_sync.sync``, ``controlhub.tenancy`` and
``calendar_sync.encryption``. Nothing imports it.
"""
