"""The room's free/busy as Google answers it (``freeBusy.query`` as the scheduling account), kept for the display,
and the sync engine's page hook that records what the mirror does not keep (an event's visibility).

A per-calendar error (or a failed call) is kept as the error: the display then never says "free". Free/busy is
asked again after every change of the room's calendar (the page hook), after every write of a display, and by
the backstop for rooms not asked for ``FREEBUSY_BACKSTOP``.
"""

import datetime as dt
import logging

from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from calendar_sync.google import errors as google_errors
from calendar_sync.sync.models import CalendarSource
from calendar_sync.workspaces import selectors as sel
from calendar_sync.workspaces.config import workspace_settings
from calendar_sync.workspaces.models import Room, RoomEvent
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.queue import enqueue_after_commit, enqueue_each_after_commit

logger = logging.getLogger(__name__)

FREEBUSY_AHEAD = dt.timedelta(days=1)
# A room whose calendar did not change is asked again this often (96 freeBusy calls a day); the display calls
# free/busy unknown only after ``selectors.STALE_FREEBUSY`` without an answer.
FREEBUSY_BACKSTOP = dt.timedelta(minutes=15)


def bump(room_id, **fields):
    Room.objects.filter(pk=room_id).update(display_version=F("display_version") + 1, **fields)


def iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def freebusy_of(gateway, subject, room, start, end):
    """(busy spans, error reason or "") of the room calendar between start and end, from Google."""
    try:
        calendars = gateway.freebusy_query(subject, [room.email], time_min=iso(start), time_max=iso(end))
    except google_errors.GoogleError as exc:
        return [], exc.error_code
    entry = calendars.get(room.email)
    if entry is None:
        entry = next((v for k, v in calendars.items() if k.lower() == room.email), None)
    if entry is None:
        return [], "notFound"
    errors = entry.get("errors") or []
    if errors:
        return [], str((errors[0] or {}).get("reason") or "unknown")[:100]
    spans = []
    for b in entry.get("busy") or []:
        s, e = parse_datetime(b.get("start") or ""), parse_datetime(b.get("end") or "")
        if s and e:
            spans.append((s, e))
    return spans, ""


def room_freebusy_refresh(*, room_id, now=None, gateway=None):
    """Ask Google for the room's free/busy from now to the end of tomorrow and keep it for the display.
    A per-calendar error (or a failed call) is kept as the error: the display then never says "free"."""
    room = Room.objects.select_related("organization").filter(pk=room_id, state=Room.State.ACTIVE).first()
    if room is None:
        return None
    now = now or timezone.now()
    subject = workspace_settings(room.organization).scheduling_account
    start = now - dt.timedelta(hours=1)
    end = sel.local_day(room, now)[1] + FREEBUSY_AHEAD
    try:
        gateway = gateway or org_gateway(room.organization)
        spans, error = freebusy_of(gateway, subject, room, start, end)
    except google_errors.GoogleError as exc:
        spans, error = [], exc.error_code
    busy = [[iso(s), iso(e)] for s, e in spans]
    if error:
        logger.info("free/busy of room %s: %s", room.pk, error)
    bump(room.pk, freebusy_busy=busy, freebusy_error=error, freebusy_checked_at=timezone.now(),
          freebusy_range_end=end)
    return error or None


def rooms_freebusy_refresh_stale(*, now=None):
    """The periodic backstop: refresh the free/busy of active rooms not refreshed for a while."""
    now = now or timezone.now()
    stale = now - FREEBUSY_BACKSTOP
    ids = list(Room.objects.filter(state=Room.State.ACTIVE).filter(
        Q(freebusy_checked_at__isnull=True) | Q(freebusy_checked_at__lt=stale)).values_list("pk", flat=True))
    enqueue_each_after_commit(room_freebusy_refresh_task, ids)  # one task per room: none holds the others
    return len(ids)


# --- the page hook: what the mirror does not keep ------------------------------------------------------------
def room_events_note(*, source, events, zone):
    """After each committed page of a room's sync: record each event's visibility (private and confidential
    events show as "Private" on the display) with the etag it came with, and refresh the room's free/busy."""
    if source.kind != CalendarSource.Kind.ROOM:
        return
    room = Room.objects.filter(source_id=source.pk).only("pk").first()
    if room is None:
        return
    now = timezone.now()
    live = [e for e in events if isinstance(e, dict) and e.get("id") and e.get("status") != "cancelled"]
    known = {e.google_event_id: e for e in RoomEvent.objects.filter(room=room, google_event_id__in=[
        e["id"] for e in live])}
    new = []
    for event in live:
        private = event.get("visibility") in ("private", "confidential")
        row = known.get(event["id"])
        if row is None:
            new.append(RoomEvent(room=room, google_event_id=event["id"], etag=event.get("etag", ""),
                                 private=private, updated_at=now))
        elif row.etag != event.get("etag", "") or row.private != private:
            RoomEvent.objects.filter(pk=row.pk).update(etag=event.get("etag", ""), private=private, updated_at=now)
    if new:
        RoomEvent.objects.bulk_create(new, ignore_conflicts=True)
    bump(room.pk)
    enqueue_after_commit(room_freebusy_refresh_task, room.pk)


def room_freebusy_refresh_task(room_id):
    """Background entry point (django-q2: positional ids only)."""
    return room_freebusy_refresh(room_id=room_id)
