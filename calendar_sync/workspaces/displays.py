"""Displays paired with a room: the unguessable device URL (``/rooms/<token>/``), its revocation and rotation,
and the QR code an admin shows a tablet to pair it.

A token is 32 random bytes (``secrets.token_urlsafe``) behind a short prefix; only its SHA-256 is stored, so it is
shown once (when created or rotated) and never again. Authentication is one indexed query on every request (a
revoked token stops working at once); ``last_seen_at`` is written at most once a minute.
"""

import hashlib
import secrets
from datetime import timedelta

import segno
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from calendar_sync.workspaces.models import Room, RoomDisplay
from controlhub.tenancy.orgs import audit_record

TOKEN_PREFIX = "chr_"
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def token_hash(raw):
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _actor(actor):
    return actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None


@transaction.atomic
def display_create(*, room, name, actor=None):
    """Returns ``(display, raw token)``; the raw token is never stored and cannot be shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    display = RoomDisplay.objects.create(
        organization_id=room.organization_id, room=room, name=(name or "").strip()[:100] or room.name[:100],
        prefix=raw[:12], token_hash=token_hash(raw), created_by=_actor(actor))
    audit_record(organization=room.organization, actor=actor, action="room_display.create", target=display,
                 detail={"name": display.name, "prefix": display.prefix})
    return display, raw


@transaction.atomic
def display_revoke(*, display, actor=None):
    if display.revoked_at is None:
        RoomDisplay.objects.filter(pk=display.pk).update(revoked_at=timezone.now())
        display.refresh_from_db()
        audit_record(organization=display.room.organization, actor=actor, action="room_display.revoke",
                     target=display, detail={"name": display.name, "prefix": display.prefix})
    return display


@transaction.atomic
def display_rotate(*, display, actor=None):
    """Revoke the display's token and issue a new one under the same name: the old URL stops at once."""
    display_revoke(display=display, actor=actor)
    return display_create(room=display.room, name=display.name, actor=actor)


def display_authenticate(raw, *, now=None):
    """The live display for ``raw`` with its room, the room's source and organization, or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    # One query; sliced, not .first(): no ORDER BY to build for a unique hash.
    found = list(RoomDisplay.objects.select_related("room", "room__organization", "room__source")
                 .filter(token_hash=token_hash(raw), revoked_at__isnull=True)[:1])
    display = found[0] if found else None
    if display is None or display.room.organization_id != display.organization_id:
        return None
    if display.room.state == Room.State.REMOVING:
        return None
    now = now or timezone.now()
    if display.last_seen_at is None or now - display.last_seen_at > LAST_SEEN_RESOLUTION:
        RoomDisplay.objects.filter(pk=display.pk).update(last_seen_at=now)
        display.last_seen_at = now
    return display


def display_url(raw):
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("room_display", args=[raw])


def qr_svg(text):
    """The QR code of ``text`` as inline SVG (no script, no style attribute: fits the page's CSP)."""
    return segno.make(text, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff",
                                                  title="QR code")
