"""The backstop: claims due sources and enqueues their sync.

Pushes are "not 100% reliable" (https://developers.google.com/workspace/calendar/api/guides/push), so every
source is due again ``SYNC_SAFETY_POLL_MINUTES`` after its last sync, and earlier when its channel must be
renewed or a failed sync's backoff ends. A row is claimed by setting ``queued_at``:
- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then UPDATE, so concurrent schedulers never block each other;
- SQLite (one writer at a time anyway): one conditional UPDATE per candidate, which only one claimer can win.
A lease left behind by a killed worker expires (``LEASE_SECONDS``) and the row becomes claimable again.

How it runs (django-q2 schedules have one-minute granularity): the ``calendar_sync.scheduler`` schedule starts
``scheduler_loop`` every minute, which claims every ``SCHEDULER_INTERVAL`` seconds for ~50 s. A deployment that
prefers a dedicated process runs ``manage.py sync_scheduler`` instead (or as well: claims are atomic).
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.utils import timezone

from calendar_sync.sync import channels as channel_services
from calendar_sync.sync.engine import meetings_purge_outside_window
from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.sync.sources import _enqueue_sync, _free

logger = logging.getLogger(__name__)

SCHEDULER_INTERVAL = 2.0
LOOP_SECONDS = 50.0
CLAIM_BATCH = 200
MAINTENANCE_EVERY_SECONDS = 300.0

_CLAIMABLE_STATES = (CalendarSource.State.ACTIVE, CalendarSource.State.FAILING)


def _due(now):
    return CalendarSource.objects.filter(
        state__in=_CLAIMABLE_STATES, next_sync_at__lte=now
    ).filter(_free(now))


def sources_claim_due(*, now=None, limit=CLAIM_BATCH):
    """Claim due sources and enqueue one sync each (after commit). Returns the claimed ids."""
    now = now or timezone.now()
    claimed = []
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(
                _due(now).select_for_update(skip_locked=True, of=("self",)).order_by("next_sync_at")
                .values_list("pk", flat=True)[:limit]
            )
            if ids:
                CalendarSource.objects.filter(pk__in=ids).update(queued_at=now)
                for pk in ids:
                    _enqueue_sync(pk)
            claimed = ids
        return claimed
    candidates = list(_due(now).order_by("next_sync_at").values_list("pk", flat=True)[:limit])
    for pk in candidates:
        with transaction.atomic():
            if _due(now).filter(pk=pk).update(queued_at=now):
                _enqueue_sync(pk)
                claimed.append(pk)
    return claimed


def sources_maintain(*, now=None):
    """Slide the window (purge meetings that ended before it), purge data of stopped sources and
    forget channels that expired. Cheap; run every few minutes."""
    now = now or timezone.now()
    purged = meetings_purge_outside_window(now=now)
    purged += Meeting.objects.filter(source__state=CalendarSource.State.STOPPED).delete()[0]
    expired = channel_services.channels_forget_expired(now=now)
    return {"purged": purged, "channels_expired": expired}


def scheduler_tick(*, now=None):
    return sources_claim_due(now=now)


def scheduler_loop(*, seconds=LOOP_SECONDS, interval=SCHEDULER_INTERVAL, maintain=True):
    """Claim due sources every ``interval`` seconds for ``seconds`` seconds (the per-minute schedule)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    last_maintenance = 0.0
    claimed = 0
    while True:
        started = time.monotonic()
        try:
            claimed += len(sources_claim_due())
            if maintain and started - last_maintenance >= MAINTENANCE_EVERY_SECONDS:
                sources_maintain()
                last_maintenance = started
        except Exception:  # noqa: BLE001 - the next tick tries again
            logger.exception("sync scheduler tick failed")
        if deadline is not None and time.monotonic() + interval > deadline:
            return claimed
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
