"""Delegated Google access tokens shared by every process of a deployment, through the shared cache (Redis).

Each worker process keeps the tokens it minted; without this, each of N processes mints its own token for every
subject it syncs (a call to Google's token endpoint per subject, process and hour), and a restarted process mints
them all again. Tokens are bearer secrets: the cache holds them encrypted (AES-256-GCM under a key derived from the
primary master key of ``ENCRYPTION_KEYS``, bound to the entry's key), never in the clear, and only until a few
minutes before they expire. An entry that does not decrypt (a new primary key, tampering) is simply a miss.

On when ``REDIS_URL`` is set (the scale-out deployment) unless ``GOOGLE_TOKEN_CACHE`` is off; the embedded
SQLite deployment runs one cluster and keeps tokens per process.
"""

import datetime as dt
import json
import logging

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.cache import caches

from calendar_sync.encryption.crypto import DataCipher, DecryptionError
from controlhub.tenancy.keys import master_keyring

logger = logging.getLogger(__name__)

PREFIX = "google-token:"
MARGIN_SECONDS = 300  # an entry leaves the cache this long before its token expires


class SharedTokenCache:
    """The store ``calendar_sync.google.gateway.use_token_store`` takes, on the Django cache ``alias``."""

    def __init__(self, alias="default"):
        self.alias = alias
        self._ciphers = {}

    def _cipher(self):
        primary = master_keyring().primary
        cipher = self._ciphers.get(primary.key_id)
        if cipher is None:
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"calendarhub: google token cache").derive(primary.secret)
            cipher = self._ciphers[primary.key_id] = DataCipher(key, 0)
        return cipher

    def get(self, key):
        blob = caches[self.alias].get(PREFIX + key)
        if not isinstance(blob, bytes):
            return None
        try:
            data = json.loads(self._cipher().decrypt(blob, aad=PREFIX + key))
            return data["token"], dt.datetime.fromisoformat(data["expiry"])
        except (DecryptionError, ValueError, KeyError, TypeError):
            logger.info("unreadable shared token entry ignored")
            return None

    def put(self, key, token, expiry):
        seconds = int((expiry - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()) - MARGIN_SECONDS
        if seconds < 60:
            return
        text = json.dumps({"token": token, "expiry": expiry.isoformat()})
        caches[self.alias].set(PREFIX + key, self._cipher().encrypt(text, aad=PREFIX + key), timeout=seconds)

    def drop(self, key):
        caches[self.alias].delete(PREFIX + key)
