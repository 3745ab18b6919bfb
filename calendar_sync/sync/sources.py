"""The life of a calendar source: activation, the leased sync run, push-triggered marks, failures, deactivation.

The database, not the queue, is the source of truth (ARCHITECTURE.md, convention 5):
- ``next_sync_at`` says when the calendar is due; the scheduler (``calendar_sync.sync.scheduler``) claims due rows;
- ``queued_at`` says a sync task is in the queue: a push while one is queued enqueues nothing more; a task that has
  not started ``QUEUED_STALE_SECONDS`` after its claim is presumed lost with its cluster and claimed again;
- ``lease_until`` says a worker is syncing it: a push then only sets ``dirty`` and the worker loops once more. The
  lease is short (``SYNC_LEASE_SECONDS``, 20 s) and renewed by a heartbeat while the sync runs, so a sync may take
  as long as it needs while the calendar of a killed worker is claimed again within seconds of its lease running out;
- a failure never sleeps in the worker: every Google call of a run is one attempt (bounded by the HTTP timeout),
  and a failed run records its reason (``error_code``, ``last_error``, ``retrying_since``) and the time of its
  next attempt (exponential backoff with jitter, ``Retry-After`` honoured), then frees the worker. A push during
  the backoff does not cut it short. Transient failures (5xx, timeouts, rate limits) keep the calendar active and
  only say since when it is retrying; a failure only an admin can fix (delegation revoked, key deleted, user
  deleted, API disabled...) makes it ``failing`` at once. Both are retried until they succeed, a failing calendar
  at most every 15 minutes, so it recovers by itself once the cause is fixed;
- a storm on some calendars never takes the workers from the others: a sync runs in one of its worker's threads
  (``SYNC_THREADS``), so a hanging Google call holds a thread, not the worker; and a calendar retrying after
  failures is only ever claimed by the scheduler, at most ``SYNC_RETRY_CONCURRENCY`` of them at once;
- ``source_health`` tells whoever owns the calendar (a person, a room) when it fails, retries or recovers; the
  engine never knows who that is.

Every claim is one conditional UPDATE, so 100 pushes in a second give one or two syncs, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import django.dispatch
from django.conf import settings
from django.db import connection, connections, router, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.query import get_related_populators
from django.utils import timezone

from calendar_sync.google import errors as gerrors
from calendar_sync.google.backoff import Backoff
from calendar_sync.google.gateway import single_attempt
from calendar_sync.sync import channels as channel_services
from calendar_sync.sync.engine import BudgetExhausted, calendar_sync_once, outbox_process_due
from calendar_sync.sync.models import CalendarSource, Channel, Meeting, OutboxEntry
from controlhub.tenancy import live
from controlhub.tenancy.errors import describe_google_error
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.keys import newest_key_version
from controlhub.tenancy.queue import enqueue_after_commit

logger = logging.getLogger(__name__)

QUEUED_STALE_SECONDS = 20  # a queued task that has not started by then is presumed lost (its cluster died)
RUN_BUDGET_SECONDS = 30.0  # a run stops looping after this and hands its calendar to a fresh task
CHANNEL_RETRY_SECONDS = 300
MAX_LOOPS = 20

# Between runs of a calendar that failed: transient failures 2 s, 4 s, 8 s ... capped at 5 minutes; failures only
# an admin can fix 1, 2, 4, 8 then every 15 minutes. ``Retry-After`` wins when Google sends it (>= 1 s).
RETRY_BACKOFF = Backoff(base=2, cap=300, floor=1.0)
FAILING_BACKOFF = Backoff(base=60, cap=900, floor=1.0)


def lease_seconds():
    return settings.SYNC_LEASE_SECONDS


def heartbeat_seconds():
    return max(0.05, settings.SYNC_LEASE_SECONDS / 4)


# Sent when a run of a source fails or succeeds after failures. ``health`` is one of the three below;
# ``error_code`` keys into the error catalogue, ``detail`` is the plain description of the failure, ``since``
# when the failures began and ``retry_at`` when the next attempt is due. Receivers must not raise (they are called
# with send_robust; a failure is logged) and must be idempotent: "failing" and "retrying" come with every failed
# run, "recovered" once.
source_health = django.dispatch.Signal()
FAILING = "failing"
RETRYING = "retrying"
RECOVERED = "recovered"


def _enqueue_sync(source_id):
    # A sync records its outcome on the source's row; a django-q2 success row per sync would be one more write
    # beside it (measured: +6 ms p50, +25 ms p99 change-to-visible on SQLite at 20 changes/s). Failures are kept.
    enqueue_after_commit(source_sync_task, source_id, group="calendar_sync", save=False)


def _free(now):
    """Rows nobody is syncing and no task is queued for (or the queued one is presumed lost)."""
    stale = now - dt.timedelta(seconds=QUEUED_STALE_SECONDS)
    return (Q(lease_until__isnull=True) | Q(lease_until__lt=now)) & (
        Q(queued_at__isnull=True) | Q(queued_at__lt=stale)
    )


def _backing_off(now):
    """Rows waiting out the backoff of a failed run (a push does not cut it short)."""
    return Q(attempts__gt=0, next_sync_at__gt=now)


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
                      error_code="", retrying_since=None, next_sync_at=now)
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
        live.publish(f"source:{sub.pk}")  # open meetings pages empty their list
        OutboxEntry.objects.filter(source=sub).delete()  # nothing more is done for a calendar we stopped reading
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
    (then only ``dirty`` is set and the running sync loops once more) or the calendar is failing (its retry,
    claimed by the scheduler when its backoff ends, reads the change). Returns True when a task was enqueued."""
    now = now or timezone.now()
    live = CalendarSource.objects.filter(pk=source_id).exclude(state=CalendarSource.State.STOPPED).exclude(
        _backing_off(now))
    for _ in range(2):
        # Joins the caller's transaction when there is one (the webhook's): no savepoint round trips.
        with transaction.atomic(savepoint=False):
            # A calendar retrying after failures is left to the scheduler, which runs few of them at once.
            if live.filter(_free(now), attempts=0).update(queued_at=now, next_sync_at=now):
                _enqueue_sync(source_id)
                return True
        # Queued or running: leave a mark. If the running sync released its lease in between, claim again.
        if not live.update(dirty=True, next_sync_at=now):
            return False
    return False


# --- the leased run -----------------------------------------------------------------------------------------
def _acquire(source_id, now):
    return (
        CalendarSource.objects.filter(pk=source_id)
        .exclude(state=CalendarSource.State.STOPPED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + dt.timedelta(seconds=lease_seconds()), queued_at=None, dirty=False)
    )


def _source_for_run_queryset(source_id):
    return (
        CalendarSource.objects.select_related("organization")
        .annotate(outbox_waiting=Exists(OutboxEntry.objects.filter(source=OuterRef("pk"),
                                                                   state=OutboxEntry.State.PENDING)),
                  newest_key_version=newest_key_version())
        .filter(pk=source_id)
    )


class _CompiledSourceRead:
    """``_source_for_run_queryset`` compiled once for a database: its SQL, where its one parameter goes, and how
    a row becomes the source (with its organization cached and the two annotations set), as Django's own
    iterator does it. Building and compiling the queryset cost about 3 ms of every run's 17 (SQLite)."""

    _SENTINEL = 7_340_271_559_013_913  # a source id no database holds, to find the parameter's place

    def __init__(self, alias):
        queryset = _source_for_run_queryset(self._SENTINEL).using(alias)
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.at = self.params.index(self._SENTINEL)
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        self.converters = list(compiler.get_converters([column for column, _, _ in select]).items())
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column.target.attname for column, _, _ in select[self.start:self.end]]
        self.related = get_related_populators(klass_info, select, alias)
        self.annotations = list(annotation_col_map.items())
        self.alias = alias

    def get(self, connection, source_id):
        params = list(self.params)
        params[self.at] = source_id
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            raise CalendarSource.DoesNotExist(f"no calendar source {source_id}")
        row = list(row)
        for position, (converters, expression) in self.converters:
            value = row[position]
            for converter in converters:
                value = converter(value, expression, connection)
            row[position] = value
        source = CalendarSource.from_db(self.alias, self.init_list, row[self.start:self.end])
        for populator in self.related:
            populator.populate(row, source)
        for name, position in self.annotations:
            setattr(source, name, row[position])
        return source


_COMPILED_SOURCE_READ = {}


def source_for_run(source_id):
    """The source as a run reads it, in one query: its organization, whether outbox entries wait (else the run
    skips looking for them) and the version of the org's newest data key (its cipher is then cached)."""
    connection = connections[router.db_for_read(CalendarSource)]
    compiled = _COMPILED_SOURCE_READ.get(connection.alias)
    if compiled is None:
        compiled = _COMPILED_SOURCE_READ[connection.alias] = _CompiledSourceRead(connection.alias)
    return compiled.get(connection, source_id)


class _Heartbeat:
    """Renews a running sync's lease every ``heartbeat_seconds()`` from a thread of its own (its own database
    connection), whatever the sync is waiting on, and stops with the run. A killed worker's heartbeat dies with
    it, so its lease runs out ``SYNC_LEASE_SECONDS`` later.

    Not started inside a caller's transaction (tests, inline calls): another connection would wait on the rows
    that transaction holds; such a run is never a worker's and nobody else can claim its rows meanwhile."""

    def __init__(self, source_id):
        self.source_id = source_id
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, name=f"lease-{self.source_id}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return False

    def _run(self):
        try:
            while not self._stop.wait(heartbeat_seconds()):
                try:
                    CalendarSource.objects.filter(pk=self.source_id, lease_until__isnull=False).update(
                        lease_until=timezone.now() + dt.timedelta(seconds=lease_seconds()))
                except Exception:  # noqa: BLE001 - the next beat tries again; the lease lasts several beats
                    logger.warning("lease heartbeat of source %s failed", self.source_id, exc_info=True)
        finally:
            connections.close_all()  # this thread's connections


def backoff_seconds(attempts, retry_after=None, *, failing=False):
    return (FAILING_BACKOFF if failing else RETRY_BACKOFF).delay(attempts, retry_after)


def _describe(exc):
    return describe_google_error(exc, limit=500) if isinstance(exc, gerrors.GoogleError) else \
        f"{exc.__class__.__name__}: {exc}"[:500]


def _announce(source_id, health, **fields):
    """Tell the owner of the source (the row is already written: a run commits as it goes); a receiver's failure
    is logged, never raised into the run."""
    for receiver, result in source_health.send_robust(sender=CalendarSource, source_id=source_id, health=health,
                                                      **fields):
        if isinstance(result, Exception):
            logger.error("source_health receiver %s failed for source %s", receiver, source_id, exc_info=result)


def _record_failure(sub, exc, now):
    """A failed run: record why, schedule the next attempt (never sleep), free the lease, tell the owner.

    A Google error that is not retryable is one only an admin can fix: the source is ``failing`` at once (and
    retried every 15 minutes at most, so it recovers by itself). Anything else (5xx, timeouts, rate limits, our
    own bugs) is retried with a growing backoff and leaves the state as it was."""
    attempts = sub.attempts + 1
    permanent = isinstance(exc, gerrors.GoogleError) and not exc.retryable
    delay = backoff_seconds(attempts, None if permanent else getattr(exc, "retry_after", None), failing=permanent)
    code = getattr(exc, "error_code", "") or "internal_error"
    detail = _describe(exc)
    since = sub.retrying_since or now
    retry_at = now + dt.timedelta(seconds=delay)
    CalendarSource.objects.filter(pk=sub.pk).update(
        attempts=attempts,
        error_code=code[:40],
        last_error=detail,
        last_error_at=now,
        retrying_since=since,
        next_sync_at=retry_at,
        state=CalendarSource.State.FAILING if permanent else sub.state,
        lease_until=None,
        dirty=False,
    )
    log = logger.warning if permanent else logger.info
    log("sync of source %s failed (attempt %s, retry in %.0fs): %s", sub.pk, attempts, delay, detail)
    _announce(sub.pk, FAILING if permanent else RETRYING, error_code=code, detail=detail, since=since,
              retry_at=retry_at)


def _next_due(now, channel, channel_ok):
    due = now + dt.timedelta(minutes=settings.SYNC_SAFETY_POLL_MINUTES)
    if not channel_ok:
        return min(due, now + dt.timedelta(seconds=CHANNEL_RETRY_SECONDS))
    renew_at = channel_services.channel_renew_at(channel)
    if renew_at is not None:
        due = min(due, max(renew_at, now))
    return due


def _ensure_channel(sub, gateway, now):
    """Open or renew the push channel when due; a failure never blocks the sync (the safety poll covers).
    Returns (the current channel, whether it is in order)."""
    channel = channel_services.channel_current(source=sub)
    if not channel_services.channel_due(channel, now=now):
        return channel, True
    try:
        return channel_services.channel_renew(source=sub, gateway=gateway), True
    except gerrors.GoogleError as exc:
        logger.warning("push channel for source %s could not be opened: %s", sub.pk, _describe(exc))
        return channel, False


_HEALTHY = dict(attempts=0, state=CalendarSource.State.ACTIVE, last_error="", error_code="", retrying_since=None)


def source_run(*, source_id, now=None):
    """Sync one calendar under a lease, looping while pushes marked it dirty meanwhile, then act on the outbox
    entries it left. Returns the last SyncOutcome, or None when another worker holds the lease (it will loop), the
    calendar is not active, or the run failed (recorded on the row; the retry is scheduled).

    Bounded: every Google call is one attempt, and after ``RUN_BUDGET_SECONDS`` of loops the calendar is handed to
    a fresh task at the back of the queue, so one busy calendar never holds a worker for long."""
    started = time.monotonic()
    if not _acquire(source_id, now or timezone.now()):
        CalendarSource.objects.filter(pk=source_id).exclude(
            state=CalendarSource.State.STOPPED
        ).update(dirty=True, queued_at=None)
        return None
    outcome = None
    changed = False
    with single_attempt(), _Heartbeat(source_id):
        for _ in range(MAX_LOOPS):
            current = now or timezone.now()
            sub = source_for_run(source_id)
            if sub.state == CalendarSource.State.STOPPED:
                CalendarSource.objects.filter(pk=sub.pk).update(lease_until=None, next_sync_at=None)
                return None
            try:
                gateway = org_gateway(sub.organization)
                channel, channel_ok = _ensure_channel(sub, gateway, current)
                outcome = calendar_sync_once(source=sub, gateway=gateway, now=current)
                effects_at = None
                if sub.outbox_waiting or outcome.effects_failed:  # leftovers: a failure, or a worker killed
                    effects_at = outbox_process_due(source=sub, gateway=gateway, outcome=outcome, now=current)
            except BudgetExhausted as exc:
                CalendarSource.objects.filter(pk=sub.pk).update(
                    lease_until=None, next_sync_at=current + dt.timedelta(seconds=exc.retry_in)
                )
                return None
            except Exception as exc:  # noqa: BLE001 - recorded on the row, shown to the admin and the owner
                if not isinstance(exc, gerrors.GoogleError):
                    logger.exception("sync of source %s crashed", sub.pk)
                _record_failure(sub, exc, current)
                live.publish(f"source:{sub.pk}")  # the meetings page says the calendar is behind
                return None
            recovered = sub.attempts > 0 or sub.state == CalendarSource.State.FAILING
            done = timezone.now()
            due = _next_due(current, channel, channel_ok)
            if effects_at is not None:
                due = min(due, max(effects_at, current))
            released = CalendarSource.objects.filter(pk=sub.pk, dirty=False).update(
                lease_until=None, last_synced_at=done, next_sync_at=due, **_HEALTHY,
            )
            if recovered:
                _announce(sub.pk, RECOVERED)
            changed = changed or bool(outcome.upserted or outcome.deleted or recovered)
            if released:
                if changed:  # after the stamp: open meetings pages fetch the new rows under a new ETag
                    live.publish(f"source:{sub.pk}")
                return outcome
            # Changed while we synced: clear the mark, keep the lease, go again (within the run's budget).
            CalendarSource.objects.filter(pk=sub.pk).update(
                dirty=False, lease_until=timezone.now() + dt.timedelta(seconds=lease_seconds()),
                last_synced_at=done, **_HEALTHY,
            )
            if changed:
                live.publish(f"source:{sub.pk}")
                changed = False
            if time.monotonic() - started > RUN_BUDGET_SECONDS or _threads.stopping:
                break
    # Out of loops or budget: hand the calendar to a fresh task, behind the others waiting.
    CalendarSource.objects.filter(pk=source_id).update(lease_until=None, next_sync_at=timezone.now())
    source_mark_changed(source_id=source_id)
    return outcome


# --- background entry points (django-q2: positional ids only, never meeting data) ----------------------------
class _SyncThreads:
    """Up to ``SYNC_THREADS`` syncs at once in one worker process, each in a thread of its own.

    A sync mostly waits on Google; in a thread that wait holds the thread, not the worker: the worker takes the
    next task at once, so a calendar whose Google calls time out never keeps another calendar waiting while
    threads are free. When they are all busy the sync runs in the worker itself (so a saturated process stops
    taking tasks and the others take them). Running syncs finish before the worker process exits (a clean stop,
    a recycle); a killed one leaves its lease to run out like any other."""

    def __init__(self):
        self._lock = threading.Lock()
        self._busy = 0
        self._pool = None
        self.stopping = False

    def _stop(self):
        # The worker process is exiting (a clean stop, a recycle): running syncs hand their calendar over at the
        # end of the pass in hand instead of looping on (see source_run).
        self.stopping = True

    def submit(self, source_id):
        size = settings.SYNC_THREADS
        with self._lock:
            if size <= 1 or self._busy >= size:
                return False
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sync")
                # Called when the process exits, before its threads are joined (as concurrent.futures does).
                register = getattr(threading, "_register_atexit", None)
                if register is not None:
                    register(self._stop)
            self._busy += 1
        self._pool.submit(self._run, source_id)
        return True

    def _run(self, source_id):
        from django.db import close_old_connections

        try:
            close_old_connections()
            source_run(source_id=source_id)
        except Exception:  # noqa: BLE001 - recorded on the row by source_run; anything else is logged
            logger.exception("sync of source %s failed in its thread", source_id)
        finally:
            with self._lock:
                self._busy -= 1


_threads = _SyncThreads()


def source_sync_task(source_id):
    """Sync one calendar (claimed by a push or the scheduler), in a thread of this worker when one is free (see
    ``_SyncThreads``; inline when tasks run inline, as in tests). Returns nothing about its content."""
    if not settings.Q_CLUSTER.get("sync") and _threads.submit(source_id):
        return {"threaded": True}
    outcome = source_run(source_id=source_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}
