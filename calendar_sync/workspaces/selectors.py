"""Reads of rooms: a room's meetings from the mirror (decrypted for the display only), what counts as a booking,
the busy periods, and the room display's document and ETag.

Cost discipline (every display polls every few seconds): the display token query brings the display, room,
source and organization in one query; the ETag is computed from what it loaded (the room's display version and
free/busy stamp, the source's sync stamp, the local day, the language, the page's build), so a 304 is that
query alone and decrypts nothing. Otherwise two more queries: the day's meetings and their room events.

What counts as a booking: a mirrored event of the room that is not transparent, was not released by the service,
and, when the room honours Google's acceptance, that the room did not decline (its own attendee entry).
Free/busy is Google's ``freeBusy`` answer (refreshed on every change, ``booking.room_freebusy_refresh``) merged
with the bookings of the mirror; when Google gave an error for the room, the display says so and never "free".
"""

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.templatetags.static import static
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from calendar_sync.sync.joinlinks import provider_info
from calendar_sync.sync.meeting_fields import decrypt_field
from calendar_sync.sync.models import Meeting
from calendar_sync.workspaces.errors import room_error_info
from calendar_sync.workspaces.models import Room, RoomEvent

JOIN_EARLY = timedelta(minutes=5)
CHECKIN_EARLY = timedelta(minutes=5)
STALE_FREEBUSY = timedelta(minutes=35)


def room_zone(room):
    for name in (room.time_zone, room.organization.default_time_zone, "UTC"):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_day(room, now):
    """[start, end) of the room's local day holding ``now``, as aware UTC datetimes."""
    zone = room_zone(room)
    local = now.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass
class RoomMeeting:
    event_id: str
    start: datetime
    end: datetime
    all_day: bool
    title: str
    organizer_name: str
    organizer_email: str
    join_url: str
    join_provider: str
    room_response: str
    room_organizes: bool
    transparent: bool
    private: bool
    booked_here: bool
    checked_in_at: datetime | None
    released_at: datetime | None

    def is_booking(self, room):
        if self.transparent or self.released_at is not None:
            return False
        return not (room.honour_acceptance and self.room_response == "declined")


def _room_response(room, attendees):
    for a in attendees or []:
        if a.get("self") or (a.get("email") or "").lower() == room.email:
            return a.get("response_status") or "needsAction"
    return "accepted"  # written straight into the room's calendar: the room holds it


def room_meetings(room, *, start, end):
    """The room's mirrored events overlapping [start, end), oldest first, decrypted."""
    if not room.source_id:
        return []
    rows = list(Meeting.objects.filter(source_id=room.source_id, end__gt=start, start__lt=end)
                .exclude(status="cancelled").order_by("start", "google_event_id"))
    extras = {e.google_event_id: e for e in RoomEvent.objects.filter(
        room=room, google_event_id__in=[m.google_event_id for m in rows])}
    org = room.organization
    out = []
    for m in rows:
        extra = extras.get(m.google_event_id)
        attendees = decrypt_field(org, m, "attendees") or []
        # Fail closed: until the page hook recorded this version of the event, its visibility is unknown.
        private = extra is None or extra.etag != m.etag or extra.private
        out.append(RoomMeeting(
            event_id=m.google_event_id, start=m.start, end=m.end, all_day=m.all_day,
            title=decrypt_field(org, m, "title") or "", organizer_name=decrypt_field(org, m, "organizer_name") or "",
            organizer_email=decrypt_field(org, m, "organizer_email") or "",
            join_url=decrypt_field(org, m, "join_url") or "", join_provider=m.join_provider,
            room_response=_room_response(room, attendees), room_organizes=m.is_organizer,
            transparent=m.transparency == "transparent", private=private,
            booked_here=bool(extra and extra.booked_from_display),
            checked_in_at=extra.checked_in_at if extra else None, released_at=extra.released_at if extra else None,
        ))
    return out


def _merge(spans):
    merged = []
    for s, e in sorted(spans):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def freebusy_spans(room):
    out = []
    for item in room.freebusy_busy or []:
        s, e = parse_datetime(item[0]), parse_datetime(item[1])
        if s and e:
            out.append((s, e))
    return out


def busy_spans(room, meetings):
    """Merged busy periods: Google's free/busy (as last answered) and the mirror's bookings."""
    spans = freebusy_spans(room) if not room.freebusy_error else []
    spans += [(m.start, m.end) for m in meetings if m.is_booking(room)]
    return _merge(spans)


def busy_at(spans, at):
    """The end of the busy period holding ``at``, or None when free then."""
    for s, e in spans:
        if s <= at < e:
            return e
    return None


def next_busy_after(spans, at):
    starts = [s for s, _e in spans if s > at]
    return min(starts) if starts else None


def freebusy_ok(room, now):
    return bool(room.freebusy_checked_at) and not room.freebusy_error and \
        now - room.freebusy_checked_at < STALE_FREEBUSY


# --- the display document -------------------------------------------------------------------------------
# The files the display page is made of: in production their URLs carry a hash of their content.
DISPLAY_ASSETS = ("js/room_display.js", "css/room_display.css")


@functools.cache
def display_build():
    """What the display page in front of a device was built from: the URLs of its script and style (hashed by
    content in production). A display polls for ever without reloading; when this changes (a deploy), it
    reloads itself. The same for the life of a process, so computed once."""
    return hashlib.sha256("|".join(static(a) for a in DISPLAY_ASSETS).encode()).hexdigest()[:16]


def display_etag(*, room, source, now, language):
    day = now.astimezone(room_zone(room)).date().isoformat()
    parts = (room.pk, room.state, room.display_version, room.freebusy_checked_at, room.freebusy_error,
             source.last_synced_at if source else None, source.state if source else None, day, language,
             display_build())
    return '"' + hashlib.sha256(repr(parts).encode()).hexdigest()[:32] + '"'


def _ms(value):
    return int(value.timestamp() * 1000) if value else None


def _title(room, m):
    if m.private:
        return _("Private")
    if not room.show_titles:
        return _("Booked")
    return m.title or _("(No title)")


def _organizer(room, m):
    if m.private:
        return ""
    if m.booked_here:
        return _("Booked at this display")
    if m.room_organizes:
        return ""
    return m.organizer_name or m.organizer_email


def provider_label(provider_id):
    """The name and icon URL the meetings list shows for a ``join_provider`` (``joinlinks.PROVIDER_INFO``): a
    service's brand as it is, the generic ones (SIP, phone, "Online meeting") in the active language (the same
    msgids the meetings list marks)."""
    info = provider_info(provider_id)
    return (_(info.name) if info.id in _GENERIC_PROVIDERS else info.name), static(info.icon)


_GENERIC_PROVIDERS = {"sip", "tel", "other"}


def meeting_json(room, m, now):
    booking = m.is_booking(room)
    joinable = booking and bool(m.join_url)
    label, icon = provider_label(m.join_provider) if joinable else ("", "")
    live = m.start <= now < m.end
    release_at = m.start + timedelta(minutes=room.release_minutes)
    needs_checkin = (booking and room.checkin_required and m.checked_in_at is None and not m.booked_here
                     and not m.all_day)
    return {
        "id": m.event_id, "title": _title(room, m), "organizer": _organizer(room, m),
        "start": _ms(m.start), "end": _ms(m.end), "all_day": m.all_day, "booking": booking,
        "declined": m.room_response == "declined" or m.released_at is not None,
        "join_url": m.join_url if joinable else "",
        "join_provider": provider_info(m.join_provider).id if joinable else "",
        "provider_label": label, "provider_icon": icon,
        "checked_in": m.checked_in_at is not None or m.booked_here,
        "needs_checkin": needs_checkin, "release_at": _ms(release_at) if needs_checkin else None,
        "can_end": booking and live and not m.all_day,
        "can_extend": booking and not m.all_day and m.end > now,
    }


def display_payload(*, room, now=None, etag=""):
    """Everything the display shows, as plain data (times as epoch ms; the device computes what changes with
    the clock: now/next, free or busy until, the Join and check-in buttons)."""
    now = now or timezone.now()
    day_start, day_end = local_day(room, now)
    active = room.state == Room.State.ACTIVE
    meetings = room_meetings(room, start=day_start, end=day_end) if active else []
    spans = busy_spans(room, meetings)
    fb_ok = freebusy_ok(room, now)
    error_code = room.freebusy_error or ("" if fb_ok else "freebusy_unavailable")
    return {
        "version": etag,
        "build": display_build(),
        "generated_at": _ms(now),
        "active": active,
        "unavailable": "" if active else (str(room_error_info(room.error_code).title) if room.error_code
                                          else str(room.get_state_display())),
        "room": {"name": room.name, "location": room.location, "capacity": room.capacity},
        "time_zone": str(room_zone(room)),
        "day_end": _ms(day_end),
        "freebusy": {"ok": fb_ok, "error": error_code,
                     "error_title": str(room_error_info("freebusy_unavailable").title) if not fb_ok else "",
                     "checked_at": _ms(room.freebusy_checked_at)},
        "busy": [[_ms(s), _ms(e)] for s, e in spans if e > day_start],
        "meetings": [meeting_json(room, m, now) for m in meetings],
        "policy": {"lengths": list(room.booking_lengths or []), "checkin_required": room.checkin_required,
                   "release_minutes": room.release_minutes},
    }


def display_json(**kwargs):
    return json.dumps(display_payload(**kwargs), ensure_ascii=False, separators=(",", ":"))


def room_free_for(room, meetings, *, start, end):
    """Whether [start, end) is free by the mirror and the cached free/busy (the pre-check; the booking asks
    Google again under the room's lock)."""
    for s, e in busy_spans(room, meetings):
        if s < end and start < e:
            return False
    return True


def rooms_of(organization):
    return Room.objects.filter(organization=organization).select_related("source").order_by("name", "email")
