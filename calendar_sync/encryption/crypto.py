"""AES-256-GCM envelope encryption primitives for data at rest.

Layout (see "Encryption at rest" in ARCHITECTURE.md):

* **Master keys** come from the environment: ``ENCRYPTION_KEYS="kid1:<base64 32 bytes>,kid2:<...>"``; the
  first entry is the primary. :class:`MasterKeyring` parses that value and wraps/unwraps data keys.
* Each organization has a **data key** (32 random bytes, :func:`new_data_key`), stored wrapped by the primary
  master key as ``mk1:<key id>:<base64url(nonce + ciphertext + tag)>``. The wrap is bound to a context such as
  ``org:42`` so a wrapped key copied to another organization does not unwrap. Rotating the master key means
  putting a new primary in front of ``ENCRYPTION_KEYS`` and re-wrapping every data key for which
  :meth:`MasterKeyring.needs_rewrap` is true; old keys stay listed until that is done.
* :class:`DataCipher` encrypts column values with a data key. A value is
  ``b"\\x01" + key_version (4 bytes, big-endian) + nonce (12) + ciphertext + tag (16)``; its associated data is
  the header plus :func:`aad_for` ``(table, column, row_key)``, so a value moved to another table, column or
  row, a tampered byte or a wrong key raises :class:`DecryptionError` instead of returning garbage.
* Look-ups by e-mail use :meth:`DataCipher.blind_index`: an HMAC-SHA256 of the normalized value under a key
  derived from the data key with HKDF-SHA256 (its own info label), never the encryption key itself.

Nothing here reads settings: callers pass ``ENCRYPTION_KEYS`` and data keys in. Error messages never include
key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "CryptoError",
    "DataCipher",
    "DecryptionError",
    "KeyConfigError",
    "MasterKey",
    "MasterKeyring",
    "aad_for",
    "generate_master_key",
    "new_data_key",
]

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_V1 = b"\x01"
HEADER_BYTES = 1 + 4
WRAP_PREFIX = "mk1"
BLIND_INDEX_INFO = b"calendar-hub/blind-index/v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64 = re.compile(r"^[A-Za-z0-9_\-+/]+={0,2}$")
_FORMAT_HINT = "expected 'kid:<base64url of 32 random bytes>', entries separated by commas, primary first"


class CryptoError(Exception):
    """Base class of every error raised by this module."""


class DecryptionError(CryptoError):
    """A value or wrapped key cannot be decrypted: wrong key, tampered, moved, or unknown key id."""


class KeyConfigError(CryptoError):
    """ENCRYPTION_KEYS is malformed."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    """Decode base64url or standard base64, padded or not; binascii.Error / ValueError on bad input."""
    if not _B64.match(text):
        raise ValueError("not base64")
    text = text.rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes = field(repr=False)


def generate_master_key() -> str:
    """A fresh ``ENCRYPTION_KEYS`` entry, ``<8 hex chars>:<base64url of 32 random bytes>``."""
    return f"{secrets.token_hex(4)}:{_b64encode(secrets.token_bytes(KEY_BYTES))}"


def new_data_key() -> bytes:
    """A fresh 32-byte organization data key."""
    return secrets.token_bytes(KEY_BYTES)


class MasterKeyring:
    """The master keys of ``ENCRYPTION_KEYS``; the first one is the primary and wraps new data keys."""

    def __init__(self, keys: list[MasterKey] | tuple[MasterKey, ...]):
        if not keys:
            raise KeyConfigError(f"ENCRYPTION_KEYS holds no key; {_FORMAT_HINT}")
        self._keys: dict[str, MasterKey] = {}
        for key in keys:
            if key.key_id in self._keys:
                raise KeyConfigError(f"ENCRYPTION_KEYS: key id {key.key_id!r} appears more than once")
            if len(key.secret) != KEY_BYTES:
                raise KeyConfigError(
                    f"ENCRYPTION_KEYS: key {key.key_id!r} is {len(key.secret)} bytes, expected {KEY_BYTES}"
                )
            self._keys[key.key_id] = key
        self.primary: MasterKey = keys[0]
        self._aead = {kid: AESGCM(key.secret) for kid, key in self._keys.items()}

    @classmethod
    def parse(cls, value: str | None) -> MasterKeyring:
        """Parse ``"kid1:<b64>,kid2:<b64>"``; raise :class:`KeyConfigError` with a message naming the entry."""
        if value is None or not value.strip():
            raise KeyConfigError(f"ENCRYPTION_KEYS is empty; {_FORMAT_HINT}")
        keys = []
        for position, raw in enumerate(value.split(","), start=1):
            entry = raw.strip()
            if not entry:
                raise KeyConfigError(f"ENCRYPTION_KEYS: entry {position} is empty (stray comma?)")
            key_id, sep, encoded = entry.partition(":")
            key_id, encoded = key_id.strip(), encoded.strip()
            if not sep:
                raise KeyConfigError(f"ENCRYPTION_KEYS: entry {position} has no key id; {_FORMAT_HINT}")
            if not _KEY_ID.match(key_id):
                raise KeyConfigError(
                    f"ENCRYPTION_KEYS: entry {position} has an invalid key id {key_id[:32]!r}; "
                    "use 1-32 letters, digits, '-' or '_'"
                )
            if not encoded:
                raise KeyConfigError(f"ENCRYPTION_KEYS: key {key_id!r} has no key material after ':'")
            try:
                secret = _b64decode(encoded)
            except (binascii.Error, ValueError):
                raise KeyConfigError(
                    f"ENCRYPTION_KEYS: key {key_id!r} is not valid base64; {_FORMAT_HINT}"
                ) from None
            if len(secret) != KEY_BYTES:
                raise KeyConfigError(
                    f"ENCRYPTION_KEYS: key {key_id!r} decodes to {len(secret)} bytes, expected {KEY_BYTES} "
                    "(AES-256)"
                )
            if any(k.key_id == key_id for k in keys):
                raise KeyConfigError(f"ENCRYPTION_KEYS: key id {key_id!r} appears more than once")
            keys.append(MasterKey(key_id=key_id, secret=secret))
        return cls(keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise DecryptionError(
                f"unknown master key id {key_id!r}; is it still listed in ENCRYPTION_KEYS?"
            ) from None

    @staticmethod
    def _aad(key_id: str, context: str) -> bytes:
        return f"{WRAP_PREFIX}:{key_id}:{context}".encode()

    def wrap(self, data_key: bytes, *, context: str) -> str:
        """Wrap a data key with the primary master key, bound to ``context`` (e.g. ``"org:42"``)."""
        if not isinstance(data_key, bytes | bytearray) or len(data_key) != KEY_BYTES:
            raise CryptoError(f"a data key must be {KEY_BYTES} bytes")
        kid = self.primary.key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[kid].encrypt(nonce, bytes(data_key), self._aad(kid, context))
        return f"{WRAP_PREFIX}:{kid}:{_b64encode(nonce + sealed)}"

    @staticmethod
    def key_id_of(wrapped: str) -> str:
        """The master key id a wrapped data key was wrapped with."""
        parts = wrapped.split(":") if isinstance(wrapped, str) else []
        if len(parts) != 3 or parts[0] != WRAP_PREFIX or not _KEY_ID.match(parts[1]):
            raise DecryptionError(f"not a wrapped data key (expected '{WRAP_PREFIX}:<key id>:<base64>')")
        return parts[1]

    def unwrap(self, wrapped: str, *, context: str) -> bytes:
        """The data key inside ``wrapped``; :class:`DecryptionError` if it cannot be authenticated."""
        kid = self.key_id_of(wrapped)
        self.get(kid)
        try:
            raw = _b64decode(wrapped.rsplit(":", 1)[1])
        except (binascii.Error, ValueError):
            raise DecryptionError("wrapped data key is not valid base64") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("wrapped data key is truncated")
        try:
            data_key = self._aead[kid].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(kid, context))
        except InvalidTag:
            raise DecryptionError(
                f"cannot unwrap data key with master key {kid!r}: wrong key, wrong context or tampered"
            ) from None
        if len(data_key) != KEY_BYTES:
            raise DecryptionError("wrapped value is not a data key")
        return data_key

    def needs_rewrap(self, wrapped: str) -> bool:
        """True when ``wrapped`` was not wrapped by the current primary master key."""
        return self.key_id_of(wrapped) != self.primary.key_id

    def rewrap(self, wrapped: str, *, context: str) -> str:
        """``wrapped`` re-wrapped with the primary master key (the same data key inside)."""
        return self.wrap(self.unwrap(wrapped, context=context), context=context)

    def __repr__(self) -> str:
        return f"MasterKeyring(primary={self.primary.key_id!r}, key_ids={self.key_ids!r})"


def aad_for(table: str, column: str, row_key: str | int) -> str:
    """Associated data binding a value to its place: ``"<table>/<column>/<row_key>"``.

    ``row_key`` is any stable row identity, e.g. a primary key or ``"<source_id>:<google_event_id>"``
    for rows encrypted before they are saved.
    """
    for name, value in (("table", table), ("column", column)):
        if not isinstance(value, str) or not value or "/" in value:
            raise ValueError(f"{name} must be a non-empty string without '/'")
    if isinstance(row_key, bool) or not isinstance(row_key, str | int):
        raise TypeError("row_key must be a str or an int")
    if row_key == "":
        raise ValueError("row_key must not be empty")
    return f"{table}/{column}/{row_key}"


class DataCipher:
    """Encrypts and decrypts column values with one organization data key (one key version).

    Build one per (organization, key version) and reuse it: the AES-GCM object and the blind-index key are
    prepared once here.
    """

    __slots__ = ("key_version", "_aead", "_header", "_index_key")

    def __init__(self, data_key: bytes, key_version: int):
        if not isinstance(data_key, bytes | bytearray) or len(data_key) != KEY_BYTES:
            raise CryptoError(f"a data key must be {KEY_BYTES} bytes")
        if isinstance(key_version, bool) or not isinstance(key_version, int) or not 0 <= key_version < 2**32:
            raise CryptoError("key_version must be an int between 0 and 2**32 - 1")
        data_key = bytes(data_key)
        self.key_version = key_version
        self._aead = AESGCM(data_key)
        self._header = FORMAT_V1 + key_version.to_bytes(4, "big")
        self._index_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BLIND_INDEX_INFO).derive(
            data_key
        )

    def encrypt(self, plaintext: str | None, *, aad: str) -> bytes | None:
        """``None`` stays ``None``; otherwise header + nonce + ciphertext + tag."""
        if plaintext is None:
            return None
        return self._seal(secrets.token_bytes(NONCE_BYTES), plaintext, aad)

    def _seal(self, nonce: bytes, plaintext: str, aad: str) -> bytes:
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be a str or None")
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), self._header + aad.encode("utf-8"))
        return self._header + nonce + sealed

    def encrypt_many(self, plaintexts, aads) -> list[bytes | None]:
        """``[encrypt(p, aad=a) for p, a in zip(plaintexts, aads)]`` with every nonce drawn in one read of the
        system's random source (a row's seven columns cost one ``urandom`` call, not seven)."""
        plaintexts, aads = list(plaintexts), list(aads)
        if len(plaintexts) != len(aads):
            raise ValueError("one associated data per plaintext")
        nonces = secrets.token_bytes(NONCE_BYTES * len(plaintexts))
        return [None if plaintext is None else self._seal(nonces[i * NONCE_BYTES:(i + 1) * NONCE_BYTES], plaintext, aad)
                for i, (plaintext, aad) in enumerate(zip(plaintexts, aads, strict=True))]

    def decrypt(self, blob: bytes | bytearray | memoryview | None, *, aad: str) -> str | None:
        """The plaintext of ``blob``; :class:`DecryptionError` on any mismatch, never garbage."""
        if blob is None:
            return None
        blob = bytes(blob)
        version = self.key_version_of(blob)
        if version != self.key_version:
            raise DecryptionError(
                f"value was encrypted with data key version {version}, this cipher holds version "
                f"{self.key_version}"
            )
        nonce = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            raw = self._aead.decrypt(
                nonce, blob[HEADER_BYTES + NONCE_BYTES :], self._header + aad.encode("utf-8")
            )
        except InvalidTag:
            raise DecryptionError(
                f"cannot decrypt value for {aad!r}: wrong data key, value moved from another place, or tampered"
            ) from None
        return raw.decode("utf-8")

    def decryptor(self, aad_prefix: str):
        """``decrypt`` for many values whose associated data start with ``aad_prefix`` (a list page decrypts
        hundreds): returns ``f(blob, aad_suffix: bytes) -> str | None``, the associated data being
        ``aad_prefix + aad_suffix``. Same checks and errors as :meth:`decrypt`; the header and prefix bytes are
        prepared once instead of per value."""
        aead_decrypt = self._aead.decrypt
        header = self._header
        prefix = header + aad_prefix.encode("utf-8")
        body = HEADER_BYTES + NONCE_BYTES

        def decrypt(blob, aad_suffix: bytes) -> str | None:
            if blob is None:
                return None
            if blob.__class__ is not bytes:
                blob = bytes(blob)
            if blob[:HEADER_BYTES] != header:  # other version or format: the slow path says which
                return self.decrypt(blob, aad=aad_prefix + aad_suffix.decode("utf-8"))
            try:
                return aead_decrypt(blob[HEADER_BYTES:body], blob[body:], prefix + aad_suffix).decode("utf-8")
            except InvalidTag:
                raise DecryptionError(
                    f"cannot decrypt value for {aad_prefix + aad_suffix.decode('utf-8')!r}: wrong data key, value "
                    "moved from another place, or tampered"
                ) from None

        return decrypt

    @staticmethod
    def key_version_of(blob: bytes | bytearray | memoryview) -> int:
        """The data key version a value was encrypted with (without decrypting it)."""
        blob = bytes(blob)
        if len(blob) < HEADER_BYTES + NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("ciphertext is truncated")
        if blob[:1] != FORMAT_V1:
            raise DecryptionError(f"unknown ciphertext format {blob[0]:#04x}")
        return int.from_bytes(blob[1:HEADER_BYTES], "big")

    @staticmethod
    def normalize_for_index(value: str) -> str:
        return unicodedata.normalize("NFC", value.strip()).casefold()

    def blind_index(self, value: str) -> str:
        """Hex HMAC-SHA256 of the normalized (stripped, NFC, casefolded) value; deterministic per data key."""
        if not isinstance(value, str):
            raise TypeError("value must be a str")
        normalized = self.normalize_for_index(value).encode("utf-8")
        return hmac.new(self._index_key, normalized, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"DataCipher(key_version={self.key_version})"
