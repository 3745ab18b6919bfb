"""Key rotation: re-wrap data keys under a new master key, or give an org a new data key and re-encrypt.

``org_key_rotate`` is resumable: it re-encrypts rows whose ``key_version`` is older than the org's newest data
key, in batches, each batch one transaction that reads and writes the rows (so a sync writing the same row
meanwhile is never overwritten with older content). Killed half-way, the next run picks up where it stopped:
rows already on the new version are skipped. A new data key version is created only when nothing is left to
re-encrypt (i.e. a fresh rotation).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from calendar_sync.encryption.aad import encrypted_tables, table_of
from calendar_sync.encryption.crypto import DataCipher, aad_for
from calendar_sync.scheduling.models import KeywordMeeting, MeetingService
from calendar_sync.sync.meeting_fields import ALL_FIELDS, row_key
from calendar_sync.sync.models import Meeting
from controlhub.tenancy.keys import (
    org_cipher_version,
    org_data_key_create,
    org_data_key_latest_version,
    org_data_keys_rewrap,
)
from controlhub.tenancy.models import Organization, OrgDataKey

logger = logging.getLogger(__name__)

MEETING_TABLE = table_of(Meeting)
KEYWORD_TABLE = table_of(KeywordMeeting)
OWN_KEY_TABLE = table_of(Organization)
MEETING_SERVICE_TABLE = table_of(MeetingService)
BATCH_SIZE = 500


def master_key_rotate():
    """Re-wrap every org data key with the primary master key. Returns how many were re-wrapped."""
    return org_data_keys_rewrap()


def _own_key_aad(org):
    return aad_for(OWN_KEY_TABLE, "own_key", org.pk)


def _own_key_version(org):
    return DataCipher.key_version_of(bytes(org.own_key_ciphertext)) if org.own_key_ciphertext else None


def org_rotation_pending(*, organization):
    """True when rows of ``organization`` are still encrypted with an older data key version."""
    latest = org_data_key_latest_version(organization)
    if latest is None:
        return False
    own = _own_key_version(organization)
    return (
        Meeting.objects.filter(organization=organization, key_version__lt=latest).exists()
        or KeywordMeeting.objects.filter(organization=organization, key_version__lt=latest).exists()
        or (own is not None and own < latest)
    )


def _reencrypt(org, blob, aad, new):
    if blob is None:
        return None
    blob = bytes(blob)
    old = org_cipher_version(org, DataCipher.key_version_of(blob))
    return new.encrypt(old.decrypt(blob, aad=aad), aad=aad)


def _rotate_meetings(org, new, batch_size, progress):
    fields = [f"{name}_enc" for name in ALL_FIELDS]
    while True:
        with transaction.atomic():
            batch = list(
                Meeting.objects.select_for_update().filter(organization=org, key_version__lt=new.key_version)
                .order_by("pk").only("pk", "source_id", "google_event_id", "key_version", *fields)[:batch_size]
            )
            if not batch:
                return
            for m in batch:
                key = row_key(m.source_id, m.google_event_id)
                for name in ALL_FIELDS:
                    aad = aad_for(MEETING_TABLE, name, key)
                    setattr(m, f"{name}_enc", _reencrypt(org, getattr(m, f"{name}_enc"), aad, new))
                m.key_version = new.key_version
            Meeting.objects.bulk_update(batch, [*fields, "key_version"])
        progress["meetings"] += len(batch)


def _rotate_keyword_meetings(org, new, batch_size, progress):
    while True:
        with transaction.atomic():
            batch = list(
                KeywordMeeting.objects.select_for_update()
                .filter(organization=org, key_version__lt=new.key_version).order_by("pk")[:batch_size]
            )
            if not batch:
                return
            for km in batch:
                key = row_key(km.source_id, km.google_event_id)
                km.join_url_enc = _reencrypt(org, km.join_url_enc, aad_for(KEYWORD_TABLE, "join_url", key), new)
                km.details_enc = _reencrypt(org, km.details_enc, aad_for(KEYWORD_TABLE, "details", key), new)
                km.key_version = new.key_version
            KeywordMeeting.objects.bulk_update(batch, ["join_url_enc", "details_enc", "key_version"])
        progress["keyword_meetings"] += len(batch)


def _rotate_meeting_service(org, new, progress):
    """The meeting service's secrets (one row per org), each bound to its column and the org."""
    with transaction.atomic():
        service = MeetingService.objects.select_for_update().filter(organization=org).first()
        if service is None:
            return
        changed = []
        for column in encrypted_tables()[MEETING_SERVICE_TABLE]:
            blob = getattr(service, f"{column}_enc")
            if blob is not None and DataCipher.key_version_of(bytes(blob)) < new.key_version:
                setattr(service, f"{column}_enc",
                        _reencrypt(org, blob, aad_for(MEETING_SERVICE_TABLE, column, org.pk), new))
                changed.append(f"{column}_enc")
        if changed:
            service.save(update_fields=changed)
            progress["meeting_service"] = len(changed)


def org_key_rotate(*, organization, batch_size=BATCH_SIZE):
    """Give ``organization`` a new data key version (unless a rotation is unfinished: then resume it) and
    re-encrypt its meetings, keyword meetings and uploaded service-account key. Returns a progress dict."""
    if not org_rotation_pending(organization=organization):
        org_data_key_create(organization=organization)
    latest = org_data_key_latest_version(organization)
    new = org_cipher_version(organization, latest)
    progress = {"version": latest, "meetings": 0, "keyword_meetings": 0, "own_key": False}
    _rotate_meetings(organization, new, batch_size, progress)
    _rotate_keyword_meetings(organization, new, batch_size, progress)
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        own = _own_key_version(org)
        if own is not None and own < latest:
            org.own_key_ciphertext = _reencrypt(org, org.own_key_ciphertext, _own_key_aad(org), new)
            org.save(update_fields=["own_key_ciphertext"])
            progress["own_key"] = True
    _rotate_meeting_service(organization, new, progress)
    OrgDataKey.objects.filter(organization=organization, version__lt=latest, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    logger.info("data key of org %s rotated to version %s: %s", organization.pk, latest, progress)
    return progress
