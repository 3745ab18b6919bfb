"""``POST /google/notifications``: Calendar push notifications (https://developers.google.com/workspace/calendar/api/guides/push).

Fast and without Google I/O: the request only checks the channel and marks the subscription due (one
conditional UPDATE; a sync task is enqueued unless one is queued or running). Answers:
- 200 for ``sync`` and ``exists`` messages of an active channel;
- 200 as well for unknown, stopped or forged channels: any non-2xx makes Google retry with backoff, and a
  channel we no longer want should simply be left alone until it expires. Nothing changes and it is logged;
- 400 for requests that are not push notifications at all (headers missing).
"""

import datetime as dt
import logging

from django.http import HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from calendar_sync.models import Channel
from calendar_sync.services.channels import channel_for_notification
from calendar_sync.services.subscriptions import subscription_mark_changed

logger = logging.getLogger(__name__)

RESOURCE_STATES = ("sync", "exists", "not_exists")
LAST_MESSAGE_RESOLUTION = dt.timedelta(minutes=1)


@csrf_exempt
@require_POST
def google_notifications(request):
    channel_id = request.headers.get("X-Goog-Channel-ID", "")
    resource_id = request.headers.get("X-Goog-Resource-ID", "")
    state = request.headers.get("X-Goog-Resource-State", "")
    token = request.headers.get("X-Goog-Channel-Token", "")
    number = request.headers.get("X-Goog-Message-Number", "")
    if not channel_id or not resource_id or state not in RESOURCE_STATES or len(channel_id) > 64:
        logger.warning("malformed push notification refused (channel %r, state %r)", channel_id[:64], state[:20])
        return HttpResponseBadRequest()
    channel = channel_for_notification(channel_id=channel_id, resource_id=resource_id, token=token)
    if channel is None:
        logger.warning("push for unknown, stopped or mismatched channel %s ignored", channel_id)
        return HttpResponse(status=200)
    if state == "sync":
        return HttpResponse(status=200)
    now = timezone.now()
    if channel.last_message_at is None or now - channel.last_message_at > LAST_MESSAGE_RESOLUTION:
        # "Last push seen" for operators, to the minute: not one extra write per notification in a burst.
        try:
            number = int(number)
        except ValueError:
            number = 0
        Channel.objects.filter(pk=channel.pk).update(last_message_number=number, last_message_at=now)
    subscription_mark_changed(subscription_id=channel.subscription_id, now=now)
    return HttpResponse(status=200)
