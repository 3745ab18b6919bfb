"""The backstop: claims due sources and enqueues their sync.

Pushes are "not 100% reliable" (https://developers.google.com/workspace/calendar/api/guides/push), so every
source is due again ``SYNC_SAFETY_POLL_MINUTES`` after its last sync, and earlier when its channel must be
renewed, a failed sync's backoff ends or an outbox entry is due. A row is claimed by setting ``queued_at``:
- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then UPDATE, so concurrent schedulers never block each other;
- SQLite (one writer at a time anyway): one conditional UPDATE per candidate, which only one claimer can win.
A lease left behind by a killed worker expires (``SYNC_LEASE_SECONDS``) and the row becomes claimable again; so does
a claimed task that never started (``QUEUED_STALE_SECONDS``: its cluster died with it in memory).

A claim pass takes milliseconds and never waits; nothing here sleeps inside a worker. Where it runs:
- ``manage.py run_workers`` (the documented way to run workers) claims every ``SCHEDULER_INTERVAL`` seconds from
  its supervising process, next to the cluster, so a killed worker's calendar is synced again within
  ``SYNC_LEASE_SECONDS`` + ``SCHEDULER_INTERVAL``;
- the ``calendar_sync.scheduler`` schedule runs ``scheduler_pass`` (one pass) every minute: the backstop of a
  deployment that starts plain ``qcluster``;
- ``manage.py sync_scheduler`` runs the same loop as a process of its own, if preferred.
Any of them at once is safe: claims are atomic.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from calendar_sync.sync import channels as channel_services
from calendar_sync.sync.engine import meetings_purge_outside_window
from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.sync.sources import QUEUED_STALE_SECONDS, _enqueue_sync, _free

logger = logging.getLogger(__name__)

SCHEDULER_INTERVAL = 2.0
CLAIM_BATCH = 200
MAINTENANCE_EVERY_SECONDS = 300.0
_MAINTENANCE_KEY = "calendar_sync:maintenance"

_CLAIMABLE_STATES = (CalendarSource.State.ACTIVE, CalendarSource.State.FAILING)


def _due(now):
    return CalendarSource.objects.filter(
        state__in=_CLAIMABLE_STATES, next_sync_at__lte=now
    ).filter(_free(now))


def retry_slots():
    """How many calendars retrying after failures may be queued or running at once, across all clusters: a storm
    (Google failing or timing out for some users) never takes more workers than this from everybody else."""
    return max(1, settings.SYNC_RETRY_CONCURRENCY)


def _retrying_in_flight(now):
    stale = now - dt.timedelta(seconds=QUEUED_STALE_SECONDS)
    return CalendarSource.objects.filter(attempts__gt=0).filter(
        Q(lease_until__gte=now) | Q(queued_at__gte=stale)).count()


def _claim(ids, now):
    CalendarSource.objects.filter(pk__in=ids).update(queued_at=now)
    for pk in ids:
        _enqueue_sync(pk)


def sources_claim_due(*, now=None, limit=CLAIM_BATCH):
    """Claim due sources and enqueue one sync each (after commit). Returns the claimed ids.

    Healthy calendars first and without limit; calendars retrying after failures only up to ``retry_slots()``
    at once (counting those already queued or running)."""
    now = now or timezone.now()
    claimed = []
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            due = _due(now).select_for_update(skip_locked=True, of=("self",)).order_by("next_sync_at")
            ids = list(due.filter(attempts=0).values_list("pk", flat=True)[:limit])
            room = retry_slots() - _retrying_in_flight(now)
            if room > 0:
                ids += list(due.filter(attempts__gt=0).values_list("pk", flat=True)[:room])
            if ids:
                _claim(ids, now)
            claimed = ids
        return claimed
    candidates = list(_due(now).order_by("next_sync_at").values_list("pk", "attempts")[:limit])
    room = None
    for pk, attempts in sorted(candidates, key=lambda c: c[1] > 0):
        if attempts:
            if room is None:
                room = retry_slots() - _retrying_in_flight(now)
            if room <= 0:
                continue
        with transaction.atomic():
            if _due(now).filter(pk=pk).update(queued_at=now):
                _enqueue_sync(pk)
                claimed.append(pk)
                if attempts:
                    room -= 1
    return claimed


def sources_maintain(*, now=None):
    """Slide the window (purge meetings that ended before it), purge data of stopped sources and
    forget channels that expired. Cheap; run every few minutes."""
    now = now or timezone.now()
    purged = meetings_purge_outside_window(now=now)
    purged += Meeting.objects.filter(source__state=CalendarSource.State.STOPPED).delete()[0]
    expired = channel_services.channels_forget_expired(now=now)
    return {"purged": purged, "channels_expired": expired}


def _maintenance_due():
    """True for one caller per ``MAINTENANCE_EVERY_SECONDS`` across processes (an atomic cache add); True when
    the cache cannot be asked (maintenance is idempotent)."""
    try:
        return cache.add(_MAINTENANCE_KEY, 1, timeout=int(MAINTENANCE_EVERY_SECONDS))
    except Exception:  # noqa: BLE001 - no cache: maintain anyway
        return True


def scheduler_tick(*, now=None, maintain=True):
    """One pass: claim the due sources (milliseconds), and every few minutes the maintenance. Returns the claimed
    ids. A failure is logged and the next pass tries again."""
    claimed = []
    try:
        claimed = sources_claim_due(now=now)
        if maintain and _maintenance_due():
            sources_maintain(now=now)
    except Exception:  # noqa: BLE001 - the next pass tries again
        logger.exception("sync scheduler pass failed")
    return claimed


def scheduler_pass():
    """The per-minute ``calendar_sync.scheduler`` schedule: one pass, then the worker is free again."""
    return len(scheduler_tick())


def scheduler_loop(*, seconds=0.0, interval=SCHEDULER_INTERVAL, maintain=True, stop=None):
    """Claim due sources every ``interval`` seconds for ``seconds`` seconds (0: one pass, as a schedule installed
    before ``scheduler_pass`` still calls it; None: until ``stop()`` is true). Looping is for a process of its own
    (``sync_scheduler``, ``run_workers``), never a worker. Returns how many it claimed."""
    deadline = None if seconds is None else time.monotonic() + seconds
    claimed = 0
    while True:
        started = time.monotonic()
        claimed += len(scheduler_tick(maintain=maintain))
        while True:
            if stop is not None and stop():
                return claimed
            left = interval - (time.monotonic() - started)
            if deadline is not None and time.monotonic() + max(left, 0) > deadline:
                return claimed
            if left <= 0:
                break
            time.sleep(min(left, 0.2))
