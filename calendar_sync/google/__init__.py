"""The one gateway to Google: delegated credentials, discovery clients, retries and our typed errors.

Nothing outside this package imports google-auth or googleapiclient; callers get plain data and
``calendar_sync.google.errors``. A leaf: it imports no other package of the project (not even Django models),
so every layer above may use it.
"""
