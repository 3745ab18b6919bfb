"""The calendar service and what users and devices read.

Packages, bottom first: ``google`` (the one gateway to Google) and ``encryption`` (ciphers and associated data)
are leaves; ``sync`` mirrors calendar sources (a person's or a room's calendar) through push channels and
incremental sync; ``scheduling`` answers keywords through the org's meeting service; ``presence`` reads out of
office; ``meetings`` is the read side (selectors, presenters, the meetings page, device tokens, the JSON API).
The modules at this level (``apps``, ``urls``, ``admin``, ``models``, ``schedules``, ``warmup``, ``key_rotation``,
``management``) are the shell that wires the packages together: they may import anything, nothing imports them.
The rule is in ARCHITECTURE.md and ``tests/test_architecture.py`` keeps it.
"""
