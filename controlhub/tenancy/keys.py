"""Organization data keys: AES-256-GCM keys wrapped by the deployment's master key (``ENCRYPTION_KEYS``).

``org_cipher(org)`` gives the cipher that encrypts new data (the org's newest key version);
``org_cipher_for(org, blob)`` the one that decrypts a stored value, whatever version wrote it. Unwrapped keys
are cached per process so a page decrypting 300 rows unwraps once.
"""

import threading

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery

from calendar_sync.encryption.crypto import DataCipher, KeyConfigError, MasterKeyring, new_data_key
from controlhub.tenancy.models import OrgDataKey

_lock = threading.Lock()
_ciphers = {}  # (org_id, version) -> DataCipher
_keyring_cache = {}


def master_keyring():
    value = settings.ENCRYPTION_KEYS
    ring = _keyring_cache.get(value)
    if ring is None:
        if not value:
            raise KeyConfigError("ENCRYPTION_KEYS is not set: meeting data cannot be encrypted.")
        ring = MasterKeyring.parse(value)
        _keyring_cache.clear()
        _keyring_cache[value] = ring
    return ring


def _context(org_id):
    return f"org:{org_id}"


def _cipher_from_row(row):
    key = (row.organization_id, row.version)
    with _lock:
        cipher = _ciphers.get(key)
    if cipher is None:
        data_key = master_keyring().unwrap(row.wrapped, context=_context(row.organization_id))
        cipher = DataCipher(data_key, row.version)
        with _lock:
            _ciphers[key] = cipher
    return cipher


def org_data_key_create(*, organization, version=None):
    """Create the org's next data key version (wrapped by the primary master key)."""
    latest = OrgDataKey.objects.filter(organization=organization).order_by("-version").first()
    version = version or ((latest.version + 1) if latest else 1)
    wrapped = master_keyring().wrap(new_data_key(), context=_context(organization.pk))
    return OrgDataKey.objects.create(organization=organization, version=version, wrapped=wrapped)


def newest_key_version():
    """The version of the newest data key of ``OuterRef("organization")``, for a query that reads a row of the org
    anyway (a calendar before its sync): ``org_cipher(org, newest_version=...)`` then needs no query of its own."""
    return Subquery(OrgDataKey.objects.filter(organization=OuterRef("organization")).order_by("-version")
                    .values("version")[:1])


def org_cipher(organization, *, newest_version=None):
    """The cipher for new writes: the org's newest data key (created on first use). ``newest_version``, when the
    caller read it with ``newest_key_version()``, saves the read of the key row once its cipher is cached."""
    if newest_version is not None:
        with _lock:
            cipher = _ciphers.get((organization.pk, newest_version))
        if cipher is not None:
            return cipher
    row = OrgDataKey.objects.filter(organization=organization).order_by("-version").first()
    if row is None:
        try:
            with transaction.atomic():
                row = org_data_key_create(organization=organization, version=1)
        except IntegrityError:
            row = OrgDataKey.objects.filter(organization=organization).order_by("-version").first()
    return _cipher_from_row(row)


def org_cipher_version(organization, version):
    key = (organization.pk, version)
    with _lock:
        cipher = _ciphers.get(key)
    if cipher is not None:
        return cipher
    row = OrgDataKey.objects.get(organization=organization, version=version)
    return _cipher_from_row(row)


def org_cipher_for(organization, blob):
    """The cipher able to decrypt ``blob`` (by the key version stored in its header)."""
    return org_cipher_version(organization, DataCipher.key_version_of(blob))


def forget_ciphers():
    with _lock:
        _ciphers.clear()
    _keyring_cache.clear()


# --- rotation helpers -----------------------------------------------------------------------------------------
def org_data_keys_rewrap():
    """Re-wrap every org data key not wrapped by the primary master key (after a new one is put first in
    ``ENCRYPTION_KEYS``). The data keys themselves do not change, so no data is re-encrypted. Returns the count."""
    ring = master_keyring()
    count = 0
    for row in OrgDataKey.objects.all().order_by("pk"):
        if ring.needs_rewrap(row.wrapped):
            with transaction.atomic():
                OrgDataKey.objects.filter(pk=row.pk, wrapped=row.wrapped).update(
                    wrapped=ring.rewrap(row.wrapped, context=_context(row.organization_id))
                )
            count += 1
    return count


def org_data_key_latest_version(organization):
    row = OrgDataKey.objects.filter(organization=organization).order_by("-version").first()
    return row.version if row else None
