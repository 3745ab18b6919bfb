"""What a room display does to the room's calendar, and what the service does on its own: free/busy refresh,
book now, extend, end early, check-in, and the release of meetings nobody checked in to.

Every write goes to Google as the scheduling account, on the room's calendar: ``events.insert`` with the room
as a resource attendee (accepted), ``events.patch`` of the end, and for a release the room's own answer
(``responseStatus: declined`` with a comment), so Google, the organizer and every other client see the room
free again.

No double booking: two displays (or two workers) may press Book now for the same slot at the same instant.
A booking first takes the room's booking lock, one conditional UPDATE (``booking_lock_until``), so only one
booking per room runs at a time on any number of processes and databases; under the lock it asks Google's
``freeBusy`` for the slot again and checks the mirror, and only then inserts. The second display finds the
lock taken, or (once the first is done) the slot busy in Google: a clear conflict either way.
"""

import datetime as dt
import logging
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_sync.google import errors as google_errors
from calendar_sync.sync import sources
from calendar_sync.sync.models import Meeting
from calendar_sync.workspaces import selectors as sel
from calendar_sync.workspaces.config import workspace_settings
from calendar_sync.workspaces.freebusy import FREEBUSY_AHEAD, bump, room_freebusy_refresh
from calendar_sync.workspaces.freebusy import freebusy_of as _freebusy
from calendar_sync.workspaces.freebusy import iso as _iso
from calendar_sync.workspaces.models import Room, RoomEvent
from controlhub.tenancy.google_connection import org_gateway

logger = logging.getLogger(__name__)

LOCK_SECONDS = 30
EXTEND_MINUTES = 15
BOOKING_PROPERTY = "calendarHubBooking"
RELEASE_COMMENT = "Released: nobody checked in within {minutes} minutes of the start."
END_EARLY_COMMENT = "Ended early at the room display."


class RoomActionRefused(Exception):
    """A display action that cannot be done, with a code and a message for the person at the display."""

    def __init__(self, code, message, *, status=409):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


def _room_for_action(room):
    room = Room.objects.select_related("organization", "source").get(pk=room.pk)
    if room.state != Room.State.ACTIVE or room.source_id is None:
        raise RoomActionRefused("not_active", _("This room is not available right now."))
    return room


def _subject(room):
    sched = workspace_settings(room.organization).scheduling_account
    if not sched:
        raise RoomActionRefused("not_active", _("This room is not available right now."))
    return sched


# --- the booking lock -----------------------------------------------------------------------------------------
@contextmanager
def booking_lock(room):
    """Hold the room's booking lock (one conditional UPDATE) or refuse: another display is booking it now."""
    now = timezone.now()
    taken = Room.objects.filter(pk=room.pk).filter(
        Q(booking_lock_until__isnull=True) | Q(booking_lock_until__lt=now)
    ).update(booking_lock_until=now + dt.timedelta(seconds=LOCK_SECONDS))
    if not taken:
        raise RoomActionRefused("conflict", _("Another display is booking this room right now. Try again."))
    try:
        yield
    finally:
        Room.objects.filter(pk=room.pk).update(booking_lock_until=None)


def _day_meetings(room, now):
    start, end = sel.local_day(room, now)
    return sel.room_meetings(room, start=start - dt.timedelta(hours=12), end=end + FREEBUSY_AHEAD)


def _check_free(gateway, subject, room, start, end, now):
    if not sel.room_free_for(room, _day_meetings(room, now), start=start, end=end):
        raise RoomActionRefused("conflict", _("The room is already booked for that time."))
    spans, error = _freebusy(gateway, subject, room, start, end)
    if error:
        raise RoomActionRefused("freebusy_unavailable",
                                _("Google did not confirm that the room is free, so it was not booked."))
    if any(s < end and start < e for s, e in spans):
        raise RoomActionRefused("conflict", _("The room is already booked for that time."))


def _after_write(room, gateway, subject, now):
    """Show the change at once (free/busy from Google) and sync the mirror (the push follows too)."""
    room_freebusy_refresh(room_id=room.pk, now=now, gateway=gateway)
    sources.source_mark_changed(source_id=room.source_id)


def _note(room, event, **fields):
    RoomEvent.objects.update_or_create(room=room, google_event_id=event["id"], defaults={
        "etag": event.get("etag", ""), "private": event.get("visibility") in ("private", "confidential"),
        "updated_at": timezone.now(), **fields})


def _minute(now):
    return now.replace(second=0, microsecond=0)


def _google_refused(exc):
    logger.warning("room action refused by Google: %s", exc.error_code)
    return RoomActionRefused("google_error", _("Google refused the change. Try again in a moment."), status=502)


# --- the display's actions ---------------------------------------------------------------------------------------
def book_now(*, room, minutes, now=None, title=None):
    """Book the room from now for ``minutes`` (one of its policy's lengths). Returns the Google event."""
    room = _room_for_action(room)
    if int(minutes) not in (room.booking_lengths or []):
        raise RoomActionRefused("bad_length", _("This length cannot be booked here."), status=400)
    subject = _subject(room)
    now = now or timezone.now()
    start = _minute(now)
    end = start + dt.timedelta(minutes=int(minutes))
    gateway = org_gateway(room.organization)
    zone = str(sel.room_zone(room))
    with booking_lock(room):
        _check_free(gateway, subject, room, max(start, now), end, now)
        body = {
            "summary": title or _("Booked at the room display"),
            "start": {"dateTime": start.astimezone(sel.room_zone(room)).isoformat(), "timeZone": zone},
            "end": {"dateTime": end.astimezone(sel.room_zone(room)).isoformat(), "timeZone": zone},
            "attendees": [{"email": room.email, "resource": True, "responseStatus": "accepted"}],
            "extendedProperties": {"private": {BOOKING_PROPERTY: "display"}},
            "transparency": "opaque",
        }
        try:
            event = gateway.event_insert(subject, room.email, body)
        except google_errors.GoogleError as exc:
            raise _google_refused(exc) from exc
        _note(room, event, booked_from_display=True, checked_in_at=now)
    _after_write(room, gateway, subject, now)
    return event


def _current(room, event_id, now):
    for m in _day_meetings(room, now):
        if m.event_id == event_id:
            return m
    raise RoomActionRefused("no_meeting", _("This meeting is no longer in the room's calendar."), status=404)


def extend(*, room, event_id, minutes=EXTEND_MINUTES, now=None):
    """Make a booking ``minutes`` longer if the room is free after it: the event's end moves when the room
    organizes it, else a follow-up booking is made right after it."""
    room = _room_for_action(room)
    subject = _subject(room)
    now = now or timezone.now()
    meeting = _current(room, event_id, now)
    if not meeting.is_booking(room) or meeting.end <= now or meeting.all_day:
        raise RoomActionRefused("not_allowed", _("This meeting cannot be extended."), status=400)
    new_end = meeting.end + dt.timedelta(minutes=minutes)
    gateway = org_gateway(room.organization)
    with booking_lock(room):
        _check_free(gateway, subject, room, meeting.end, new_end, now)
        try:
            if meeting.room_organizes:
                zone = sel.room_zone(room)
                event = gateway.event_patch(subject, event_id, {"end": {
                    "dateTime": new_end.astimezone(zone).isoformat(), "timeZone": str(zone)}},
                    calendar_id=room.email)
            else:
                event = gateway.event_insert(subject, room.email, {
                    "summary": _("Extension at the room display"),
                    "start": {"dateTime": _iso(meeting.end)}, "end": {"dateTime": _iso(new_end)},
                    "attendees": [{"email": room.email, "resource": True, "responseStatus": "accepted"}],
                    "extendedProperties": {"private": {BOOKING_PROPERTY: "display"}},
                })
        except google_errors.GoogleError as exc:
            raise _google_refused(exc) from exc
        _note(room, event, booked_from_display=meeting.booked_here or not meeting.room_organizes,
              checked_in_at=now)
    _after_write(room, gateway, subject, now)
    return event


def end_early(*, room, event_id, now=None):
    """End the meeting now: its end moves to now when the room organizes it (a booking not a minute old is
    deleted), else the room declines it with a comment. The room is free at once."""
    room = _room_for_action(room)
    subject = _subject(room)
    now = now or timezone.now()
    meeting = _current(room, event_id, now)
    if not meeting.is_booking(room) or not (meeting.start <= now < meeting.end) or meeting.all_day:
        raise RoomActionRefused("not_allowed", _("Only the meeting under way can be ended."), status=400)
    gateway = org_gateway(room.organization)
    try:
        if meeting.room_organizes and now - meeting.start < dt.timedelta(minutes=1):
            gateway.event_delete(subject, room.email, event_id)
            RoomEvent.objects.filter(room=room, google_event_id=event_id).update(released_at=now)
        elif meeting.room_organizes:
            zone = sel.room_zone(room)
            event = gateway.event_patch(subject, event_id, {"end": {
                "dateTime": now.astimezone(zone).isoformat(), "timeZone": str(zone)}}, calendar_id=room.email)
            _note(room, event)
        else:
            gateway.event_patch_attendee_response(subject, room.email, event_id, attendee=room.email,
                                                  response_status="declined", comment=END_EARLY_COMMENT)
            RoomEvent.objects.update_or_create(room=room, google_event_id=event_id, defaults={"released_at": now})
    except google_errors.GoogleError as exc:
        raise _google_refused(exc) from exc
    _after_write(room, gateway, subject, now)


def check_in(*, room, event_id, now=None):
    """Someone is in the room for this meeting: it will not be released."""
    room = _room_for_action(room)
    now = now or timezone.now()
    meeting = _current(room, event_id, now)
    if not meeting.is_booking(room) or not (meeting.start - sel.CHECKIN_EARLY <= now < meeting.end):
        raise RoomActionRefused("not_allowed", _("Check-in opens 5 minutes before the start."), status=400)
    with transaction.atomic():
        row, _created = RoomEvent.objects.get_or_create(room=room, google_event_id=event_id)
        if row.checked_in_at is None:
            RoomEvent.objects.filter(pk=row.pk).update(checked_in_at=now, updated_at=now)
        bump(room.pk)


# --- release of no-shows -------------------------------------------------------------------------------------------
def room_release(*, room, meeting, now):
    """The room declines a meeting nobody checked in to (or cancels one it organized itself)."""
    subject = _subject(room)
    gateway = org_gateway(room.organization)
    comment = RELEASE_COMMENT.format(minutes=room.release_minutes)
    if meeting.room_organizes:
        gateway.event_delete(subject, room.email, meeting.event_id)
    else:
        gateway.event_patch_attendee_response(subject, room.email, meeting.event_id, attendee=room.email,
                                              response_status="declined", comment=comment)
    RoomEvent.objects.update_or_create(room=room, google_event_id=meeting.event_id,
                                       defaults={"released_at": now, "updated_at": now})
    _after_write(room, gateway, subject, now)


def rooms_release_due(*, now=None):
    """Release every meeting of a check-in room that started more than its release minutes ago and nobody
    checked in to. Returns how many were released."""
    now = now or timezone.now()
    released = 0
    rooms = Room.objects.select_related("organization").filter(state=Room.State.ACTIVE, checkin_required=True,
                                                               source__isnull=False)
    for room in rooms:
        candidates = Meeting.objects.filter(source_id=room.source_id, start__lte=now, end__gt=now,
                                            all_day=False).exists()
        if not candidates:
            continue
        for meeting in sel.room_meetings(room, start=now, end=now + dt.timedelta(seconds=1)):
            due = meeting.start + dt.timedelta(minutes=room.release_minutes)
            if (meeting.all_day or not meeting.is_booking(room) or meeting.booked_here
                    or meeting.checked_in_at is not None or now < due):
                continue
            try:
                room_release(room=room, meeting=meeting, now=now)
                released += 1
            except (google_errors.GoogleError, RoomActionRefused) as exc:
                logger.warning("release of a meeting of room %s failed: %s", room.pk,
                               getattr(exc, "error_code", getattr(exc, "code", "")))
    return released
