"""Tokens a room device or an integration uses to read one calendar source's meetings (``/api/v1/meetings``):
a person's calendar or a room's.

A token is shown once, when it is created; only its SHA-256 hash is stored, with a short prefix so admins can tell
tokens apart. Authentication is one indexed query, run on every request (a revoked token stops working at once: token
validity is never cached); ``last_used_at`` is written at most once a minute so polling devices do not turn every
read into a write.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calendar_sync.meetings.compiled import compiled_first
from calendar_sync.meetings.models import DeviceToken
from controlhub.tenancy.orgs import audit_record

TOKEN_PREFIX = "chd_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw):
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def device_token_create(*, organization, source, name, actor=None):
    """Returns ``(token, raw)``; ``raw`` is never stored and cannot be shown again."""
    if source.organization_id != organization.pk:
        raise ValueError("the calendar belongs to another organization")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = DeviceToken.objects.create(
        organization=organization, source=source, name=name.strip(), prefix=raw[:12], token_hash=token_hash(raw),
        created_by=actor if (actor is not None and actor.is_authenticated) else None,
    )
    audit_record(organization=organization, actor=actor, action="device_token.create", target=token,
                 detail={"name": token.name, "prefix": token.prefix, "calendar": source.calendar_id})
    return token, raw


@transaction.atomic
def device_token_revoke(*, token, actor=None):
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(organization=token.organization, actor=actor, action="device_token.revoke", target=token,
                     detail={"name": token.name, "prefix": token.prefix})
    return token


# The token query (token + source + organization + the source's person, three joins) costs more to build and compile than to
# run, and devices poll it every few seconds: compiled once per database (``compiled.compiled_first``), only the
# hash is bound per call. Only the SQL is cached, never a result.
_PLACEHOLDER_HASH = "placeholder:not-a-sha256-hex-digest"


def _auth_queryset(alias, hashed):
    return (
        DeviceToken.objects.using(alias)
        .select_related("source", "source__organization", "source__person")
        .filter(token_hash=hashed, revoked_at__isnull=True)[:1]
    )


def _token_by_hash(hashed):
    return compiled_first(_auth_queryset, (_PLACEHOLDER_HASH,), (hashed,), model=DeviceToken)


def device_token_authenticate(raw, *, now=None):
    """The live token for ``raw`` (source, organization and the source's person loaded), or None. One query
    (plus the ``last_used_at`` write at most once a minute)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = _token_by_hash(token_hash(raw))
    if token is None or token.source.organization_id != token.organization_id:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
