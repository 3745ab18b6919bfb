"""Mirror one calendar into ``Meeting`` rows: full sync over the window, then incremental sync with the token.

Google's contract (https://developers.google.com/workspace/calendar/api/guides/sync):
- a full sync lists the window with ``singleEvents=true``; ``nextSyncToken`` is on the very last page only;
- an incremental sync with ``syncToken`` returns every change since, deletions included; it cannot take
  ``timeMin``/``timeMax``, so changes are filtered to the window here (an instance moved out of it is deleted);
- a token can be invalidated at any time (410): the calendar is then synced fully again and every row Google
  did not return is deleted (mark and sweep: the same end state as wiping first, without an empty list meanwhile).

Idempotent and crash-safe: each page is one transaction with ONE bulk upsert keyed by (subscription, event id);
the sync token is saved in the transaction of the last page. A sync killed half-way leaves the old token (or
none), so the next run simply repeats the work. Nothing is decrypted here: unchanged events are recognised by
their etag and skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from calendar_sync.google import errors as gerrors
from calendar_sync.joinlinks import find_join_target
from calendar_sync.meeting_crypto import cipher_for_writes, encrypt_fields
from calendar_sync.models import CalendarSubscription, Meeting

logger = logging.getLogger(__name__)

PAGE_SIZE = 2500  # Google's maximum: the fewest calls per calendar (https://developers.google.com/workspace/calendar/api/v3/reference/events/list)
UPDATE_FIELDS = [
    "organization", "ical_uid", "recurring_event_id", "original_start", "start", "end", "all_day", "start_date",
    "end_date", "time_zone", "status", "event_type", "transparency", "etag", "google_updated", "is_organizer",
    "attendee_count", "join_provider", "key_version", "title_enc", "description_enc", "location_enc",
    "attendees_enc", "organizer_email_enc", "organizer_name_enc", "join_url_enc", "organizer_email_index",
    "synced_at",
]
# Per-user request budget: Google allows 600 requests/min per user; stay well under it in each process.
USER_BUDGET_PER_MINUTE = 500


class BudgetExhausted(Exception):
    def __init__(self, retry_in):
        super().__init__(f"per-user request budget exhausted; retry in {retry_in:.1f}s")
        self.retry_in = retry_in


class RequestBudget:
    """A sliding one-minute window of Google calls per subject, per process."""

    def __init__(self, per_minute=USER_BUDGET_PER_MINUTE, window=60.0):
        self.per_minute = per_minute
        self.window = window
        self._calls = {}
        self._lock = threading.Lock()

    def spend(self, subject):
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(subject.lower(), deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.per_minute:
                raise BudgetExhausted(calls[0] + self.window - now)
            calls.append(now)


budget = RequestBudget()


@dataclass
class SyncOutcome:
    full: bool = False
    pages: int = 0
    calls: int = 0
    upserted: int = 0
    skipped: int = 0
    deleted: int = 0
    events: list = field(default_factory=list, repr=False)


# --- the window ---------------------------------------------------------------------------------------------
def sync_window(*, now=None):
    """[start, end) of the mirror: whole UTC days, 7 back and 31 ahead by default, so it slides once a day."""
    now = now or timezone.now()
    today = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - dt.timedelta(days=settings.SYNC_WINDOW_PAST_DAYS)
    end = today + dt.timedelta(days=settings.SYNC_WINDOW_FUTURE_DAYS + 1)
    return start, end


def _zone(name):
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _event_time(value, zone):
    """(aware UTC datetime, date or None) of an EventDateTime; all-day dates are midnight in the calendar zone."""
    if not isinstance(value, dict):
        return None, None
    if value.get("dateTime"):
        parsed = parse_datetime(value["dateTime"])
        if parsed is None:
            return None, None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=_zone(value.get("timeZone")) if value.get("timeZone") else zone)
        return parsed.astimezone(dt.UTC), None
    if value.get("date"):
        day = parse_date(value["date"])
        if day is None:
            return None, None
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC), day
    return None, None


def _in_window(start, end, window_start, window_end):
    # Same semantics as events.list: timeMin bounds the END (exclusive), timeMax bounds the START (exclusive).
    return end > window_start and start < window_end


# --- one event -> one row --------------------------------------------------------------------------------------
def _attendees(event):
    out = []
    for a in event.get("attendees") or []:
        if not isinstance(a, dict):
            continue
        out.append({
            "email": a.get("email", ""),
            "name": a.get("displayName", ""),
            "response_status": a.get("responseStatus", ""),
            "organizer": bool(a.get("organizer")),
            "resource": bool(a.get("resource")),
            "self": bool(a.get("self")),
        })
    return out


def meeting_from_event(*, subscription, event, cipher, zone, synced_at):
    """An unsaved ``Meeting`` for a (non-cancelled) Google event, its content encrypted."""
    start, start_date = _event_time(event.get("start"), zone)
    end, end_date = _event_time(event.get("end"), zone)
    original_start, _ = _event_time(event.get("originalStartTime"), zone)
    organizer = event.get("organizer") or {}
    attendees = _attendees(event)
    target = find_join_target(event)
    organizer_email = organizer.get("email") or None
    values = {
        "title": event.get("summary"),
        "description": event.get("description"),
        "location": event.get("location"),
        "attendees": attendees,
        "organizer_email": organizer_email,
        "organizer_name": organizer.get("displayName") or None,
        "join_url": target.url if target else None,
    }
    encrypted = encrypt_fields(
        cipher, subscription_id=subscription.pk, google_event_id=event["id"], values=values
    )
    updated = parse_datetime(event["updated"]) if event.get("updated") else None
    return Meeting(
        organization_id=subscription.organization_id,
        subscription_id=subscription.pk,
        google_event_id=event["id"],
        ical_uid=event.get("iCalUID", ""),
        recurring_event_id=event.get("recurringEventId", ""),
        original_start=original_start,
        start=start,
        end=end,
        all_day=start_date is not None,
        start_date=start_date,
        end_date=end_date,
        time_zone=(event.get("start") or {}).get("timeZone", "") or "",
        status=event.get("status", "confirmed"),
        event_type=event.get("eventType", "default"),
        transparency=event.get("transparency", "opaque"),
        etag=event.get("etag", ""),
        google_updated=updated,
        is_organizer=bool(organizer.get("self")),
        attendee_count=len(attendees),
        join_provider=target.provider if target else "",
        key_version=cipher.key_version,
        organizer_email_index=cipher.blind_index(organizer_email) if organizer_email else "",
        synced_at=synced_at,
        **encrypted,
    )


# --- applying pages ------------------------------------------------------------------------------------------
def _apply_page(*, subscription, items, zone, cipher, window, outcome, seen=None):
    """Upsert the live in-window events of one page (one bulk statement), delete cancelled or moved-out ones."""
    window_start, window_end = window
    now = timezone.now()
    live, gone = {}, set()
    for event in items:
        event_id = event.get("id")
        if not event_id:
            continue
        if event.get("status") == "cancelled":
            gone.add(event_id)
            if not event.get("recurringEventId"):
                gone.add(("series", event_id))
            live.pop(event_id, None)
            continue
        start, _ = _event_time(event.get("start"), zone)
        end, _ = _event_time(event.get("end"), zone)
        if start is None or end is None or not _in_window(start, end, window_start, window_end):
            gone.add(event_id)
            live.pop(event_id, None)
            continue
        gone.discard(event_id)
        live[event_id] = event
    if seen is not None:
        seen.update(live)
    existing = {}
    if live:
        existing = dict(
            Meeting.objects.filter(subscription=subscription, google_event_id__in=list(live)).values_list(
                "google_event_id", "etag"
            )
        )
    rows = []
    for event_id, event in live.items():
        if existing.get(event_id) and existing[event_id] == event.get("etag"):
            outcome.skipped += 1
            continue
        rows.append(meeting_from_event(subscription=subscription, event=event, cipher=cipher, zone=zone,
                                       synced_at=now))
    if rows:
        Meeting.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["subscription", "google_event_id"],
            update_fields=UPDATE_FIELDS,
        )
        outcome.upserted += len(rows)
    ids = [g for g in gone if isinstance(g, str)]
    series = [g[1] for g in gone if isinstance(g, tuple)]
    if ids:
        outcome.deleted += Meeting.objects.filter(subscription=subscription, google_event_id__in=ids).delete()[0]
    if series:
        outcome.deleted += Meeting.objects.filter(
            subscription=subscription, recurring_event_id__in=series
        ).delete()[0]


def _after_page(subscription, items):
    """Keyword scheduling plugs in here, after the page is committed; it never makes sync fail."""
    if not items or subscription.person.calendar_state != "activated":
        return
    try:
        from calendar_sync.services import keywords

        keywords.process_events(subscription=subscription, events=items)
    except Exception:  # noqa: BLE001 - keyword scheduling must never break the mirror
        logger.exception("keyword processing failed for subscription %s", subscription.pk)


def _list_page(gateway, subscription, outcome, **params):
    budget.spend(subscription.person.email)
    outcome.calls += 1
    return gateway.events_list(
        subscription.person.email, subscription.calendar_id, maxResults=PAGE_SIZE, singleEvents=True, **params
    )


def _full_sync(*, subscription, gateway, outcome, now):
    outcome.full = True
    window = sync_window(now=now)
    cipher = cipher_for_writes(subscription.organization)
    seen = set()
    page_token = None
    params = {"timeMin": window[0].isoformat(), "timeMax": window[1].isoformat()}
    while True:
        page = _list_page(gateway, subscription, outcome, pageToken=page_token, **params)
        outcome.pages += 1
        zone = _zone(page.get("timeZone"))
        items = page.get("items") or []
        last = not page.get("nextPageToken")
        with transaction.atomic():
            _apply_page(subscription=subscription, items=items, zone=zone, cipher=cipher, window=window,
                        outcome=outcome, seen=seen)
            if last:
                stale = [
                    pk for pk, event_id in Meeting.objects.filter(subscription=subscription).values_list(
                        "pk", "google_event_id") if event_id not in seen
                ]
                for i in range(0, len(stale), 500):
                    outcome.deleted += Meeting.objects.filter(pk__in=stale[i:i + 500]).delete()[0]
                CalendarSubscription.objects.filter(pk=subscription.pk).update(
                    sync_token=page.get("nextSyncToken", ""), window_start=window[0], window_end=window[1],
                    last_full_sync_at=timezone.now(),
                )
        _after_page(subscription, items)
        if last:
            subscription.sync_token = page.get("nextSyncToken", "")
            subscription.window_start, subscription.window_end = window
            return
        page_token = page["nextPageToken"]


def _incremental_sync(*, subscription, gateway, outcome):
    window = (subscription.window_start, subscription.window_end)
    cipher = cipher_for_writes(subscription.organization)
    page_token = None
    while True:
        page = _list_page(gateway, subscription, outcome, syncToken=subscription.sync_token, pageToken=page_token)
        outcome.pages += 1
        zone = _zone(page.get("timeZone"))
        items = page.get("items") or []
        last = not page.get("nextPageToken")
        with transaction.atomic():
            _apply_page(subscription=subscription, items=items, zone=zone, cipher=cipher, window=window,
                        outcome=outcome)
            if last:
                CalendarSubscription.objects.filter(pk=subscription.pk).update(
                    sync_token=page.get("nextSyncToken", subscription.sync_token)
                )
        _after_page(subscription, items)
        if last:
            subscription.sync_token = page.get("nextSyncToken", subscription.sync_token)
            return
        page_token = page["nextPageToken"]


def calendar_sync_once(*, subscription, gateway, now=None):
    """One pass: incremental when a token exists and the window has not slid, else full. Returns SyncOutcome.

    Raises the gateway's typed errors (except ``SyncTokenInvalid``, handled by a full resync) and
    ``BudgetExhausted``.
    """
    now = now or timezone.now()
    outcome = SyncOutcome()
    window = sync_window(now=now)
    slid = subscription.window_start != window[0] or subscription.window_end != window[1]
    if subscription.sync_token and not slid:
        try:
            _incremental_sync(subscription=subscription, gateway=gateway, outcome=outcome)
            return outcome
        except gerrors.SyncTokenInvalid:
            logger.info("sync token of subscription %s invalidated (410): full resync", subscription.pk)
            CalendarSubscription.objects.filter(pk=subscription.pk).update(sync_token="")
            subscription.sync_token = ""
    _full_sync(subscription=subscription, gateway=gateway, outcome=outcome, now=now)
    return outcome


def meetings_purge_outside_window(*, now=None):
    """Delete meetings that ended before the window (the daily slide); returns the count."""
    start, _ = sync_window(now=now)
    return Meeting.objects.filter(end__lte=start).delete()[0]
