"""The life of a calendar source: activation, the leased sync run, push-triggered marks, deactivation.

The database, not the queue, is the source of truth (ARCHITECTURE.md, convention 5):
- ``next_sync_at`` says when the calendar is due; the scheduler (``services/scheduler.py``) claims due rows;
- ``queued_at`` says a sync task is in the queue: a push while one is queued enqueues nothing more;
- ``lease_until`` says a worker is syncing it: a push then only sets ``dirty`` and the worker loops once more;
  a worker killed mid-sync leaves a lease that expires, and the scheduler claims the row again;
- ``attempts``/``last_error`` record failures; retries back off exponentially with jitter, and after
  ``MAX_ATTEMPTS`` (or at once for errors only an admin can fix) the source is ``failing`` (dashboard).

Every claim is one conditional UPDATE, so 100 pushes in a second give one or two syncs, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calendar_sync.google import errors as gerrors
from calendar_sync.google.backoff import Backoff
from calendar_sync.sync import channels as channel_services
from calendar_sync.sync.engine import BudgetExhausted, calendar_sync_once
from calendar_sync.sync.models import CalendarSource, Channel, Meeting
from controlhub.tenancy.errors import describe_google_error
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.queue import enqueue_after_commit

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120  # longer than any single sync pass; a killed worker's lease expires after this
QUEUED_STALE_SECONDS = 60  # a queued task that has not started by then is presumed lost (broker crash)
MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600
CHANNEL_RETRY_SECONDS = 300
MAX_LOOPS = 20


def _enqueue_sync(source_id):
    enqueue_after_commit(source_sync_task, source_id, group="calendar_sync")


def _free(now):
    """Rows nobody is syncing and no task is queued for (or the queued one is presumed lost)."""
    stale = now - dt.timedelta(seconds=QUEUED_STALE_SECONDS)
    return (Q(lease_until__isnull=True) | Q(lease_until__lt=now)) & (
        Q(queued_at__isnull=True) | Q(queued_at__lt=stale)
    )


# --- start / stop ------------------------------------------------------------------------------------------
@transaction.atomic
def source_ensure(*, organization, kind, calendar_id, subject, name="", language="en", active=True):
    """The source of ``calendar_id`` read as ``subject``, created (due now) or reactivated (a full sync again).
    Its owner (a person being activated, a room being added) calls this; the engine never decides it.
    ``active=False`` only makes sure the row exists (stopped when new), e.g. to hang a device token on it."""
    now = timezone.now()
    source, created = CalendarSource.objects.select_for_update().get_or_create(
        organization=organization, kind=kind, calendar_id=calendar_id,
        defaults={"subject": subject, "name": name[:200], "language": language or "en",
                  "next_sync_at": now if active else None,
                  "state": CalendarSource.State.ACTIVE if active else CalendarSource.State.STOPPED},
    )
    if created or not active:
        return source
    fields = {"name": name[:200], "language": language or "en"}
    if source.state == CalendarSource.State.STOPPED or source.subject != subject:
        fields.update(state=CalendarSource.State.ACTIVE, subject=subject, sync_token="", attempts=0, last_error="",
                      error_code="", next_sync_at=now)
    for key, value in fields.items():
        setattr(source, key, value)
    source.save(update_fields=list(fields))
    return source


def source_start(*, source_id):
    """The first full sync and push channel of a source, now. Returns the SyncOutcome (or None)."""
    if not CalendarSource.objects.filter(pk=source_id).exclude(state=CalendarSource.State.STOPPED).exists():
        return None
    return source_run(source_id=source_id)


def sources_disable(*, source_ids):
    """Stop syncing these sources at once (in the caller's transaction): no worker reads them from now on.
    ``source_stop`` then closes their channels and purges their rows in the background."""
    return CalendarSource.objects.filter(pk__in=list(source_ids)).update(
        state=CalendarSource.State.STOPPED, next_sync_at=None, queued_at=None, dirty=False,
    )


def source_stop(*, source_id):
    """Stop the source's channels at Google and purge its mirrored meetings."""
    sub = CalendarSource.objects.select_related("organization").filter(pk=source_id).first()
    if sub is None:
        return
    with transaction.atomic():
        CalendarSource.objects.select_for_update().filter(pk=sub.pk).update(
            state=CalendarSource.State.STOPPED, sync_token="", next_sync_at=None, queued_at=None,
            dirty=False, window_start=None, window_end=None,
        )
        Meeting.objects.filter(source=sub).delete()
    active = list(sub.channels.filter(state=Channel.State.ACTIVE))
    if active:
        try:
            gateway = org_gateway(sub.organization)
        except Exception:  # noqa: BLE001 - no key any more: the channels expire on their own
            logger.warning("cannot reach Google to stop the channels of source %s", sub.pk)
            Channel.objects.filter(pk__in=[c.pk for c in active]).update(
                state=Channel.State.STOPPED, stopped_at=timezone.now()
            )
            return
        for channel in active:
            channel_services.channel_stop(channel=channel, gateway=gateway)


# --- push notifications -----------------------------------------------------------------------------------
def source_mark_changed(*, source_id, now=None):
    """A push said the calendar changed: make it due, and enqueue a sync unless one is queued or running
    (then only ``dirty`` is set and the running sync loops once more). Returns True when a task was enqueued."""
    now = now or timezone.now()
    live = CalendarSource.objects.filter(pk=source_id).exclude(state=CalendarSource.State.STOPPED)
    for _ in range(2):
        with transaction.atomic():
            if live.filter(_free(now)).update(queued_at=now, next_sync_at=now):
                _enqueue_sync(source_id)
                return True
        # Queued or running: leave a mark. If the running sync released its lease in between, claim again.
        live.update(dirty=True, next_sync_at=now)
    return False


# --- the leased run -----------------------------------------------------------------------------------------
def _acquire(source_id, now):
    return (
        CalendarSource.objects.filter(pk=source_id)
        .exclude(state=CalendarSource.State.STOPPED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + dt.timedelta(seconds=LEASE_SECONDS), queued_at=None, dirty=False)
    )


# Between runs of a failing calendar: 10 s, 20 s, 40 s ... capped at an hour, Retry-After honoured (>= 1 s).
SYNC_BACKOFF = Backoff(base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS, floor=1.0)


def backoff_seconds(attempts, retry_after=None):
    return SYNC_BACKOFF.delay(attempts, retry_after)


def _describe(exc):
    return describe_google_error(exc, limit=500) if isinstance(exc, gerrors.GoogleError) else \
        f"{exc.__class__.__name__}: {exc}"[:500]


def _record_failure(sub, exc, now):
    attempts = sub.attempts + 1
    retryable = getattr(exc, "retryable", False)
    failing = attempts >= MAX_ATTEMPTS or not retryable
    delay = backoff_seconds(attempts, getattr(exc, "retry_after", None))
    CalendarSource.objects.filter(pk=sub.pk).update(
        attempts=attempts,
        error_code=getattr(exc, "error_code", "") or "internal_error",
        last_error=_describe(exc),
        last_error_at=now,
        next_sync_at=now + dt.timedelta(seconds=delay),
        state=CalendarSource.State.FAILING if failing else sub.state,
        lease_until=None,
        dirty=False,
    )
    log = logger.warning if failing else logger.info
    log("sync of source %s failed (attempt %s, retry in %.0fs): %s", sub.pk, attempts, delay, _describe(exc))


def _next_due(sub, now, channel_ok):
    due = now + dt.timedelta(minutes=settings.SYNC_SAFETY_POLL_MINUTES)
    if not channel_ok:
        return min(due, now + dt.timedelta(seconds=CHANNEL_RETRY_SECONDS))
    renew_at = channel_services.channel_renew_at(channel_services.channel_current(source=sub))
    if renew_at is not None:
        due = min(due, max(renew_at, now))
    return due


def _ensure_channel(sub, gateway, now):
    """Open or renew the push channel when due; a failure never blocks the sync (the safety poll covers)."""
    if not channel_services.channel_needs_renewal(source=sub, now=now):
        return True
    try:
        channel_services.channel_renew(source=sub, gateway=gateway)
        return True
    except gerrors.GoogleError as exc:
        logger.warning("push channel for source %s could not be opened: %s", sub.pk, _describe(exc))
        return False


def source_run(*, source_id, now=None):
    """Sync one calendar under a lease, looping while pushes marked it dirty meanwhile. Returns the last
    SyncOutcome, or None when another worker holds the lease (it will loop) or the calendar is not active."""
    if not _acquire(source_id, now or timezone.now()):
        CalendarSource.objects.filter(pk=source_id).exclude(
            state=CalendarSource.State.STOPPED
        ).update(dirty=True, queued_at=None)
        return None
    outcome = None
    for _ in range(MAX_LOOPS):
        current = now or timezone.now()
        sub = CalendarSource.objects.select_related("organization").get(pk=source_id)
        if sub.state == CalendarSource.State.STOPPED:
            CalendarSource.objects.filter(pk=sub.pk).update(lease_until=None, next_sync_at=None)
            return None
        try:
            gateway = org_gateway(sub.organization)
            channel_ok = _ensure_channel(sub, gateway, current)
            outcome = calendar_sync_once(source=sub, gateway=gateway, now=current)
        except BudgetExhausted as exc:
            CalendarSource.objects.filter(pk=sub.pk).update(
                lease_until=None, next_sync_at=current + dt.timedelta(seconds=exc.retry_in)
            )
            return None
        except Exception as exc:  # noqa: BLE001 - recorded on the row, shown to the admin
            if not isinstance(exc, gerrors.GoogleError):
                logger.exception("sync of source %s crashed", sub.pk)
            _record_failure(sub, exc, current)
            return None
        done = timezone.now()
        released = CalendarSource.objects.filter(pk=sub.pk, dirty=False).update(
            lease_until=None, attempts=0, state=CalendarSource.State.ACTIVE, last_synced_at=done,
            last_error="", error_code="", next_sync_at=_next_due(sub, current, channel_ok),
        )
        if released:
            return outcome
        # Changed while we synced: clear the mark, keep the lease, go again.
        CalendarSource.objects.filter(pk=sub.pk).update(
            dirty=False, lease_until=timezone.now() + dt.timedelta(seconds=LEASE_SECONDS),
            last_synced_at=done, attempts=0, last_error="", error_code="", state=CalendarSource.State.ACTIVE,
        )
    CalendarSource.objects.filter(pk=source_id).update(lease_until=None, next_sync_at=timezone.now())
    return outcome


# --- background entry points (django-q2: positional ids only, never meeting data) ----------------------------
def source_sync_task(source_id):
    """Sync one calendar (claimed by a push or the scheduler); returns nothing about its content."""
    outcome = source_run(source_id=source_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}
