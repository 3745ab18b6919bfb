"""Push channels (``events.watch``): opened on activation, renewed before they expire, stopped on deactivation.

Google never renews a channel (https://developers.google.com/workspace/calendar/api/guides/push#renewing-
notification-channels): a new channel with a new id is opened, both overlap for a moment, then the old one is
stopped with ``channels.stop``. Every channel carries a random secret token that the webhook checks.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calendar_sync.google import errors as gerrors
from calendar_sync.sync.models import CalendarSource, Channel

logger = logging.getLogger(__name__)


def webhook_address():
    return settings.WEBHOOK_BASE_URL.rstrip("/") + "/google/notifications"


def channel_renew_at(channel):
    """When a channel should be replaced: ``CHANNEL_RENEW_BEFORE_SECONDS`` before it expires."""
    if channel is None or channel.expiration is None:
        return None
    return channel.expiration - dt.timedelta(seconds=settings.CHANNEL_RENEW_BEFORE_SECONDS)


def channel_current(*, source):
    """The newest active channel of a source (None if there is none)."""
    return source.channels.filter(state=Channel.State.ACTIVE).order_by("-created_at", "-pk").first()


def channel_due(channel, *, now=None):
    """Whether ``channel`` (a source's current channel, or None) must be replaced now."""
    if channel is None or not channel.resource_id:
        return True
    renew_at = channel_renew_at(channel)
    return renew_at is not None and renew_at <= (now or timezone.now())


def channel_open(*, source, gateway):
    """Open a new channel. The row exists before the watch call: Google may deliver the ``sync`` message
    before the watch response returns, and it must find its channel."""
    channel = Channel.objects.create(
        source=source, channel_id=uuid.uuid4().hex, token=secrets.token_urlsafe(32), resource_id=""
    )
    try:
        response = gateway.events_watch(
            source.subject,
            channel_id=channel.channel_id,
            address=webhook_address(),
            token=channel.token,
            ttl_seconds=settings.CHANNEL_TTL_SECONDS,
            calendar_id=source.calendar_id,
        )
    except Exception:
        channel.delete()
        raise
    expiration = None
    if response.get("expiration"):
        expiration = dt.datetime.fromtimestamp(int(response["expiration"]) / 1000, tz=dt.UTC)
    Channel.objects.filter(pk=channel.pk).update(resource_id=response.get("resourceId", ""), expiration=expiration)
    channel.refresh_from_db()
    return channel


def channel_stop(*, channel, gateway):
    """Stop one channel at Google (404 means it is already gone) and mark it stopped."""
    if channel.resource_id:
        try:
            gateway.channel_stop(
                channel.source.subject, channel_id=channel.channel_id, resource_id=channel.resource_id
            )
        except gerrors.NotFound:
            pass
        except gerrors.GoogleError as exc:
            logger.warning("channels.stop failed for channel %s: %r", channel.channel_id, exc)
    Channel.objects.filter(pk=channel.pk).update(state=Channel.State.STOPPED, stopped_at=timezone.now())


def channel_renew(*, source, gateway):
    """Open a new channel, then stop the older active ones (overlap, never a gap)."""
    new = channel_open(source=source, gateway=gateway)
    for old in source.channels.filter(state=Channel.State.ACTIVE).exclude(pk=new.pk):
        channel_stop(channel=old, gateway=gateway)
    return new


def channels_stop_all(*, source, gateway):
    for channel in source.channels.filter(state=Channel.State.ACTIVE):
        channel_stop(channel=channel, gateway=gateway)


@transaction.atomic
def channels_forget_expired(*, now=None):
    """Mark channels whose expiration has passed as stopped (Google already forgot them)."""
    now = now or timezone.now()
    return Channel.objects.filter(state=Channel.State.ACTIVE, expiration__lt=now).update(
        state=Channel.State.STOPPED, stopped_at=now
    )


def channel_for_notification(*, channel_id, resource_id, token):
    """The active channel matching a push's headers (constant-time token check), or None."""
    import hmac

    channel = (
        Channel.objects.select_related("source")
        .filter(channel_id=channel_id, state=Channel.State.ACTIVE)
        .only("pk", "channel_id", "resource_id", "token", "state", "source__id", "source__state",
              "last_message_at")
        .first()
    )
    if channel is None:
        return None
    if not hmac.compare_digest((channel.token or "").encode(), (token or "").encode()):
        return None
    # The resource id is unknown only while the watch call is still in flight (the sync message can be first).
    if channel.resource_id and not hmac.compare_digest(channel.resource_id.encode(), (resource_id or "").encode()):
        return None
    if channel.source.state == CalendarSource.State.STOPPED:
        return None
    return channel
