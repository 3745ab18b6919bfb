"""``POST /google/notifications``: Calendar push notifications (https://developers.google.com/workspace/calendar/api/guides/push).

Fast and without Google I/O: the request only checks the channel, records the message number and marks the
source due (a sync task is enqueued unless one is queued or running). Answers:
- 200 for ``sync`` and ``exists`` messages of an active channel;
- 200 as well for unknown, stopped or forged channels: any non-2xx makes Google retry with backoff, and a
  channel we no longer want should simply be left alone until it expires. Nothing changes and it is logged;
- 200 for a replay: a message number not above the highest one seen on the channel (a captured push sent again,
  or Google's own duplicate or late delivery). Nothing changes and nothing is enqueued;
- 400 for requests that are not push notifications at all (headers missing), and for a push of an active
  channel without a valid ``X-Goog-Message-Number`` (Google always sends one: 1 for ``sync``, then increasing).
"""

import logging

from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calendar_sync.sync.channels import channel_for_notification
from calendar_sync.sync.models import Channel
from calendar_sync.sync.sources import source_mark_changed

logger = logging.getLogger(__name__)

RESOURCE_STATES = ("sync", "exists", "not_exists")
MAX_MESSAGE_NUMBER = 2**63 - 1  # Google's message numbers are int64; so is the column


def message_number(raw):
    """The push's ``X-Goog-Message-Number`` as a positive int, or None when it is missing or malformed."""
    if not raw or len(raw) > 19 or not (raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_MESSAGE_NUMBER else None


@csrf_exempt
@require_POST
def google_notifications(request):
    channel_id = request.headers.get("X-Goog-Channel-ID", "")
    resource_id = request.headers.get("X-Goog-Resource-ID", "")
    state = request.headers.get("X-Goog-Resource-State", "")
    token = request.headers.get("X-Goog-Channel-Token", "")
    if not channel_id or not resource_id or state not in RESOURCE_STATES or len(channel_id) > 64:
        logger.warning("malformed push notification refused (channel %r, state %r)", channel_id[:64], state[:20])
        return HttpResponseBadRequest()
    channel = channel_for_notification(channel_id=channel_id, resource_id=resource_id, token=token)
    if channel is None:
        logger.warning("push for unknown, stopped or mismatched channel %s ignored", channel_id)
        return HttpResponse(status=200)
    number = message_number(request.headers.get("X-Goog-Message-Number", ""))
    if number is None:
        logger.warning("push without a valid message number refused (channel %s)", channel_id)
        return HttpResponseBadRequest()
    now = timezone.now()
    with transaction.atomic():
        # The replay check and the "last push seen" record are one conditional UPDATE: of two deliveries of the
        # same number, however concurrent, exactly one matches the row. A failure below rolls the number back,
        # so Google's retry of a push we could not take is not mistaken for a replay.
        fresh = Channel.objects.filter(pk=channel.pk, last_message_number__lt=number).update(
            last_message_number=number, last_message_at=now
        )
        if not fresh:
            logger.info("replayed or out-of-order push %s on channel %s dropped", number, channel_id)
            return HttpResponse(status=200)
        if state != "sync":
            source_mark_changed(source_id=channel.source_id, now=now)
    return HttpResponse(status=200)
