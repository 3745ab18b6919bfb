"""Encryption primitives: AES-256-GCM ciphers, master keys from the environment, wrapped data keys and the
associated data that binds a ciphertext to its table, column and row.

A leaf: it imports nothing else of the project. Organization data keys (a model) live in
``controlhub.tenancy.keys``, the meeting columns in ``calendar_sync.sync.meeting_fields``.
"""
