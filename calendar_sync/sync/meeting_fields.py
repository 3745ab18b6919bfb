"""Encryption of meeting content at rest.

Columns ``<name>_enc`` of ``Meeting`` hold AES-256-GCM ciphertext under the org's data key. The associated data
binds each value to table, column and the row's natural key (``<source_id>:<google_event_id>``), so a
value copied to another row or column fails to decrypt instead of showing the wrong meeting's data. The natural
key (not the primary key) lets a page of events be encrypted before a bulk upsert assigns ids.
"""

import json

from calendar_sync.encryption.aad import table_of
from calendar_sync.encryption.crypto import aad_for
from calendar_sync.sync.models import Meeting
from controlhub.tenancy.keys import org_cipher, org_cipher_for

TABLE = table_of(Meeting)
TEXT_FIELDS = ("title", "description", "location", "organizer_email", "organizer_name", "join_url")
JSON_FIELDS = ("attendees",)
ALL_FIELDS = TEXT_FIELDS + JSON_FIELDS


def row_key(source_id, google_event_id):
    return f"{source_id}:{google_event_id}"


def encrypt_fields(cipher, *, source_id, google_event_id, values, table=TABLE):
    """``values``: {field: str | list | None} → {f"{field}_enc": bytes | None}."""
    key = row_key(source_id, google_event_id)
    out = {}
    for name, value in values.items():
        if name in JSON_FIELDS and value is not None:
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        out[f"{name}_enc"] = cipher.encrypt(value, aad=aad_for(table, name, key))
    return out


# The sync engine encrypts seven columns of tens of thousands of rows per minute: the associated data of a
# Meeting column is this prefix plus the row key, exactly what ``aad_for(TABLE, name, key)`` returns for our
# constant, valid table and column names (so the per-value validation is skipped, not the binding).
_MEETING_AAD_PREFIX = {name: aad_for(TABLE, name, "x")[:-1] for name in ALL_FIELDS}


def encrypt_meeting_values(cipher, key, names, values):
    """Ciphertexts of ``values`` (str or None, JSON already encoded) for the Meeting columns ``names``.

    ``key`` is ``row_key(source_id, google_event_id)``; returns a list in the order of ``names``.
    """
    prefix = _MEETING_AAD_PREFIX
    return cipher.encrypt_many(values, [prefix[name] + key for name in names])


def decrypt_field(organization, meeting, name, *, table=TABLE, cipher=None):
    blob = getattr(meeting, f"{name}_enc")
    if blob is None:
        return None
    blob = bytes(blob)
    cipher = cipher or org_cipher_for(organization, blob)
    text = cipher.decrypt(blob, aad=aad_for(table, name, row_key(meeting.source_id, meeting.google_event_id)))
    if name in JSON_FIELDS and text is not None:
        return json.loads(text)
    return text


def decrypt_fields(organization, meeting, names=ALL_FIELDS):
    """Decrypt only what a page shows; returns {field: value}."""
    return {name: decrypt_field(organization, meeting, name) for name in names}


def cipher_for_writes(organization, *, newest_version=None):
    return org_cipher(organization, newest_version=newest_version)
