"""Selectors for the meetings list page and the JSON API.

Cost discipline (the page is opened by every user every day and polled every ~10 s):
- one query for the meetings of the window (``only`` the columns shown), person + organization + subscription in
  one more; the ETag comes from one aggregate query *before* anything is decrypted, so a 304 decrypts nothing;
- decryption only for the rows returned, with one cipher per key version;
- times are preformatted here with ``zoneinfo`` (Django's date filters cost ~12 ms per 200 rows);
- all-day events are placed by their ``start_date``/``end_date``, never by UTC datetimes, so they never shift.
"""

import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import Count, Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from calendar_sync.meeting_crypto import TABLE, row_key
from calendar_sync.models import CalendarSubscription, Meeting
from calendar_sync.services.presence import presence_of
from controlhub.models import Person
from controlhub.services.keys import org_cipher_version
from controlhub.services.orgs import audit_record

PAST_DAYS = 7
FUTURE_DAYS = 31
JOIN_EARLY = timedelta(minutes=5)
STALE_AFTER = timedelta(minutes=35)
NAMES_SHOWN = 4

PROVIDER_LABELS = {
    "webex": gettext_lazy("Webex"),
    "zoom": gettext_lazy("Zoom"),
    "meet": gettext_lazy("Google Meet"),
    "teams": gettext_lazy("Microsoft Teams"),
    "sip": gettext_lazy("Video system (SIP)"),
    "tel": gettext_lazy("Phone"),
    "other": gettext_lazy("Online meeting"),
}
_FIELDS = ("title", "organizer_email", "organizer_name", "attendees", "join_url")
_COLUMNS = (
    "id", "subscription_id", "google_event_id", "start", "end", "all_day", "start_date", "end_date", "status",
    "event_type", "attendee_count", "join_provider", "key_version", "synced_at",
    *(f"{name}_enc" for name in _FIELDS),
)
MeetingRow = namedtuple("MeetingRow", [c.removesuffix("_enc") + ("_enc" if c.endswith("_enc") else "")
                                       for c in _COLUMNS])
PAGE_ROWS = 100  # rows shown (and decrypted) per page; "Show more" raises it
MAX_ROWS = 1000


def zone_of(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- who ------------------------------------------------------------------------------------------------------
def person_for_member(*, user, organization):
    """The ``Person`` of a signed-in member: linked by ``Person.user``, else matched by email in the org.

    One query; organization and subscription come with it."""
    base = Person.objects.select_related("organization", "subscription").filter(organization=organization)
    person = base.filter(user=user).first()
    if person is None and user.email:
        person = base.filter(email__iexact=user.email.strip()).first()
    return person


def subscription_of(person):
    try:
        return person.subscription
    except CalendarSubscription.DoesNotExist:
        return None


# --- the window -----------------------------------------------------------------------------------------------
@dataclass
class Window:
    zone: ZoneInfo
    today: date
    first_day: date
    last_day: date  # inclusive
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    show_past: bool = False


def window_for(*, time_zone, now=None, show_past=False):
    now = now or timezone.now()
    zone = zone_of(time_zone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=PAST_DAYS) if show_past else today
    last = today + timedelta(days=FUTURE_DAYS)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end_day = last + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
    return Window(zone, today, first, last, start, end, show_past)


def _window_queryset(subscription, window):
    # A day of slack on both sides for all-day rows (stored at midnight of the calendar's zone); the exact
    # placement happens in Python by dates.
    return Meeting.objects.filter(
        subscription=subscription,
        end__gt=window.start - timedelta(days=1),
        start__lt=window.end + timedelta(days=1),
    ).exclude(status="cancelled")


# --- ETag (cheap, before any decryption) -----------------------------------------------------------------------
def meetings_etag(*, person, subscription, window, variant="", now=None, loaded=None):
    """``loaded``: the ``Meeting`` rows already fetched by ``meetings_load`` (saves the aggregate query)."""
    now = now or timezone.now()
    agg = {"n": 0, "last": None}
    if loaded is not None:
        agg = {"n": len(loaded), "last": max((m.synced_at for m in loaded), default=None)}
    elif subscription is not None:
        agg = _window_queryset(subscription, window).aggregate(n=Count("id"), last=Max("synced_at"))
    stale = subscription_is_stale(subscription, now=now) if subscription is not None else None
    parts = [
        variant, person.pk, person.calendar_state, person.error_code, window.zone.key, window.today, window.show_past,
        agg["n"], agg["last"], getattr(subscription, "last_synced_at", None), getattr(subscription, "state", None),
        stale, person.ooo_start, person.ooo_end, person.is_out_of_office(now), person.organization.keyword_webex,
    ]
    return '"' + hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:24] + '"'


def subscription_is_stale(subscription, *, now=None):
    if subscription is None:
        return False
    now = now or timezone.now()
    if subscription.state == CalendarSubscription.State.FAILING:
        return True
    return subscription.last_synced_at is None or now - subscription.last_synced_at > STALE_AFTER


# --- rows -----------------------------------------------------------------------------------------------------
@dataclass
class Row:
    id: int
    title: str
    start: datetime
    end: datetime
    start_ms: int
    end_ms: int
    join_from_ms: int
    all_day: bool
    time_label: str
    organizer_email: str
    organizer_name: str
    attendee_count: int
    attendee_names: list
    names_shown: str
    more_names: int
    provider: str
    provider_label: str
    join_url: str
    out_of_office: bool
    organized_by_me: bool = False
    start_date: date | None = None
    end_date: date | None = None


@dataclass
class Day:
    day: date
    label: str
    weekday: str
    is_today: bool
    rows: list = field(default_factory=list)


def _hm(value, zone, fmt):
    return value.astimezone(zone).strftime(fmt)


def _decrypt_row(organization, meeting, ciphers):
    """Title, attendees and join URL; the organizer comes from the attendee list when it is there (it usually
    is), so its two columns are decrypted only for events without attendees."""
    cipher = ciphers.get(meeting.key_version)
    if cipher is None:
        cipher = ciphers[meeting.key_version] = org_cipher_version(organization, meeting.key_version)
    key = row_key(meeting.subscription_id, meeting.google_event_id)

    def dec(name):
        blob = getattr(meeting, f"{name}_enc")
        return None if blob is None else cipher.decrypt(blob, aad=f"{TABLE}/{name}/{key}")

    out = {"title": dec("title"), "join_url": dec("join_url"), "organizer_email": None, "organizer_name": None}
    attendees = dec("attendees")
    parsed = json.loads(attendees) if attendees else []
    out["attendees"] = parsed
    for a in parsed:
        if a.get("organizer"):
            out["organizer_email"], out["organizer_name"] = a.get("email"), a.get("name") or None
            break
    else:
        out["organizer_email"], out["organizer_name"] = dec("organizer_email"), dec("organizer_name")
    return out


def _attendee_names(attendees):
    names = [a.get("name") or a.get("email") or "" for a in attendees if not a.get("resource")]
    return names, len(names)


def meetings_load(*, person, subscription, window, now=None, limit=None):
    """The first ``limit`` rows of the window (one query, no model instances), decrypted, plus the raw rows
    (``MeetingRow`` tuples, for presence and the ETag)."""
    if subscription is None:
        return [], []
    qs = _window_queryset(subscription, window).order_by("start", "id").values_list(*_COLUMNS)
    if limit:
        qs = qs[:limit]
    meetings = [MeetingRow(*values) for values in qs]
    organization = person.organization
    zone = window.zone
    time_fmt = "%H:%M"
    my_email = person.email.lower()
    ciphers = {}
    rows = []
    for m in meetings:
        if m.all_day and m.start_date:
            last = (m.end_date or m.start_date + timedelta(days=1)) - timedelta(days=1)
            if last < window.first_day or m.start_date > window.last_day:
                continue
            start_local = datetime(m.start_date.year, m.start_date.month, m.start_date.day, tzinfo=zone)
            end_day = last + timedelta(days=1)
            end_local = datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone)
            label = _("All day")
        else:
            if not (m.end > window.start and m.start < window.end):
                continue
            start_local, end_local = m.start, m.end
            label = f"{_hm(m.start, zone, time_fmt)} – {_hm(m.end, zone, time_fmt)}"
        values = _decrypt_row(organization, m, ciphers)
        names, count = _attendee_names(values["attendees"])
        start_ms = int(start_local.timestamp() * 1000)
        rows.append(Row(
            id=m.id,
            title=values["title"] or _("(No title)"),
            start=start_local,
            end=end_local,
            start_ms=start_ms,
            end_ms=int(end_local.timestamp() * 1000),
            join_from_ms=start_ms - int(JOIN_EARLY.total_seconds() * 1000),
            all_day=m.all_day,
            time_label=label,
            organizer_email=values["organizer_email"] or "",
            organizer_name=values["organizer_name"] or values["organizer_email"] or "",
            attendee_count=count if names else m.attendee_count,
            attendee_names=names,
            names_shown=", ".join(names[:NAMES_SHOWN]),
            more_names=max(0, len(names) - NAMES_SHOWN),
            provider=m.join_provider,
            provider_label=str(PROVIDER_LABELS.get(m.join_provider, "")),
            join_url=values["join_url"] or "",
            out_of_office=m.event_type == "outOfOffice",
            organized_by_me=(values["organizer_email"] or "").lower() == my_email,
            start_date=m.start_date if m.all_day else None,
            end_date=(m.end_date - timedelta(days=1)) if (m.all_day and m.end_date) else None,
        ))
    return rows, meetings


def group_by_day(rows, window):
    """Rows into days (today first unless the past is shown), all-day rows on top of each day they cover."""
    days = {}
    zone = window.zone
    for row in rows:
        if row.all_day and row.start_date:
            first = max(row.start_date, window.first_day)
            last = min(row.end_date or row.start_date, window.last_day)
            covered = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        else:
            first = max(row.start.astimezone(zone).date(), window.first_day)
            covered = [first]
        for d in covered:
            days.setdefault(d, []).append(row)
    out = []
    for d in sorted(days):
        rows_of_day = sorted(days[d], key=lambda r: (not r.all_day, r.start_ms, r.id))
        out.append(Day(
            day=d,
            label=formats.date_format(d, "DATE_FORMAT"),
            weekday=_weekday(d, window.today),
            is_today=d == window.today,
            rows=rows_of_day,
        ))
    return out


_WEEKDAYS = (
    gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"), gettext_lazy("Thursday"),
    gettext_lazy("Friday"), gettext_lazy("Saturday"), gettext_lazy("Sunday"),
)


def _weekday(d, today):
    if d == today:
        return _("Today")
    if d == today + timedelta(days=1):
        return _("Tomorrow")
    if d == today - timedelta(days=1):
        return _("Yesterday")
    return str(_WEEKDAYS[d.weekday()])


# --- JSON -----------------------------------------------------------------------------------------------------
def _iso(value):
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def meetings_payload(*, person, window, rows, presence, now=None):
    now = now or timezone.now()
    return {
        "person": {
            "email": person.email,
            "name": person.name,
            "time_zone": window.zone.key,
            "presence": {
                "status": presence.status,
                "out_of_office": presence.out_of_office,
                "source": presence.source,
                "until": _iso(presence.end) if presence.out_of_office and presence.end else None,
            },
        },
        "meetings": [
            {
                "id": r.id,
                "title": r.title,
                "start": r.start_date.isoformat() if r.all_day and r.start_date else _iso(r.start),
                "end": (r.end_date + timedelta(days=1)).isoformat() if r.all_day and r.end_date else _iso(r.end),
                "all_day": r.all_day,
                "organizer": {"email": r.organizer_email, "name": r.organizer_name},
                "attendees": {"count": r.attendee_count, "names": r.attendee_names},
                "provider": r.provider or None,
                "join_url": r.join_url or None,
                "join_enabled_from": _iso(r.start - JOIN_EARLY) if r.join_url else None,
            }
            for r in rows
        ],
        "generated_at": _iso(now),
    }


def presence_for(person, meetings, now=None):
    return presence_of(person, meetings=meetings, at=now)


# --- the one write of the page ---------------------------------------------------------------------------------
@transaction.atomic
def person_time_zone_set(*, person, time_zone, actor=None):
    """The user's own time-zone override ('' = back to their Google Calendar setting)."""
    Person.objects.filter(pk=person.pk).update(time_zone=time_zone)
    person.time_zone = time_zone
    audit_record(organization=person.organization, actor=actor, action="person.time_zone", target=person,
                 detail={"time_zone": time_zone})
    return person
