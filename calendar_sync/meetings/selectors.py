"""Queries of the meetings list page and the JSON API: who is asking, the window, its rows, the ETag, staleness.

What the rows look like (day groups, labels, HTML, JSON) is ``presenters``; the one write of the page (the
time-zone override) is ``services``.

Cost discipline (the page is opened by every user every day and polled every ~10 s; devices poll the API):
- who: one query brings the person, organization, source and membership (``person_of_user``); the API's
  device token brings person, organization and source with it; both are compiled once per database
  (``compiled.compiled_first``: building and compiling them cost more than running them);
- the ETag (``meetings_etag``) comes from what that query already loaded (the source's sync stamps, the
  person's state, zone and presence, the window, the minute): no query of its own, so a 304 is the "who" query
  alone and decrypts nothing;
- the meetings of the window: ONE query (``values_list`` columns through a plain cursor, compiled once:
  ``compiled.compiled_rows``; no model instances, no per-value converters), ``limit + 1`` rows so truncation
  needs no count;
- decryption only for the rows returned: one decryptor per key version and column, the associated-data prefix
  prepared once (``DataCipher.decryptor``); an attendee list shared by several rows (a recurring meeting) is
  parsed once per read;
- all-day events are placed by their ``start_date``/``end_date``, never by UTC datetimes, so they never shift.
"""

import hashlib
import json
from collections import namedtuple
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_sync.encryption.crypto import aad_for
from calendar_sync.meetings.compiled import compiled_first, compiled_rows
from calendar_sync.presence.services import presence_of
from calendar_sync.sync.meeting_fields import TABLE, row_key
from calendar_sync.sync.models import CalendarSource, Meeting
from controlhub.people.models import Person
from controlhub.tenancy.keys import org_cipher_version

PAST_DAYS = 7
FUTURE_DAYS = 31
STALE_AFTER = timedelta(minutes=35)

# The columns a list row needs, in the order ``meetings_read`` unpacks them.
_COLUMNS = (
    "id", "google_event_id", "start", "end", "all_day", "start_date", "end_date", "event_type", "attendee_count",
    "join_provider", "key_version", "title_enc", "attendees_enc", "join_url_enc", "organizer_email_enc",
    "organizer_name_enc",
)
_DECRYPTED = ("title", "attendees", "join_url", "organizer_email", "organizer_name")
_json_decode = json.JSONDecoder().raw_decode  # json.loads minus its whitespace checks (the column is ours)
PAGE_ROWS = 100  # rows shown (and decrypted) per page; "Show more" raises it
MAX_ROWS = 1000


@lru_cache(maxsize=512)
def zone_of(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --- who ------------------------------------------------------------------------------------------------------
_PERSON_RELATED = ("organization", "source")
_PLACEHOLDER_USER = 2_000_000_029


def _person_of_user_queryset(alias, user_id):
    return (
        Person.objects.using(alias).select_related(*_PERSON_RELATED, "user__membership")
        .filter(user_id=user_id, organization__memberships__user_id=user_id)[:1]
    )


def person_of_user(*, user):
    """The ``Person`` linked to ``user`` in the user's own organization, with organization, source and the
    user's membership (``person.user.membership``, its organization set) in ONE query, compiled once
    (``compiled_first``); None when no person is linked (callers then fall back to ``person_for_member``, which
    also matches by email)."""
    if not getattr(user, "pk", None):
        return None
    person = compiled_first(_person_of_user_queryset, (_PLACEHOLDER_USER,), (user.pk,), model=Person)
    if person is not None:
        person.user.membership.organization = person.organization
    return person


def person_for_member(*, user, organization):
    """The ``Person`` of a signed-in member: linked by ``Person.user``, else matched by email in the org.

    One query; organization and source come with it."""
    base = Person.objects.select_related(*_PERSON_RELATED).filter(organization=organization)
    person = base.filter(user=user).first()
    if person is None and user.email:
        person = base.filter(email__iexact=user.email.strip()).first()
    return person


def source_of(person):
    return person.source


class SourceViewer:
    """Whom the meetings of a source that is not a person's (a room) are shown as: the source's name and
    subject, the organization's time zone, never out of office. It answers the attributes the selectors read
    of a ``Person``, so one read path serves every kind of source."""

    calendar_state = "activated"
    error_code = ""
    ooo_start = ooo_end = ooo_checked_at = None
    ooo_source = ""
    time_zone = ""

    def __init__(self, source):
        self.source = source
        self.organization = source.organization
        self.pk = -source.pk
        self.email = source.calendar_id
        self.name = source.name

    @property
    def effective_time_zone(self):
        return self.organization.default_time_zone or "UTC"

    @property
    def effective_language(self):
        return self.source.language or "en"

    def is_out_of_office(self, at=None):
        return False


def viewer_of_source(source):
    """The person who owns ``source`` (with the source and organization set), or a ``SourceViewer``."""
    person = getattr(source, "person", None)
    if person is None:
        return SourceViewer(source)
    person.source = source
    person.organization = source.organization
    return person


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


def _read_queryset(alias, source_id, after, before, limit):
    # ``_run`` passes the window with a day of slack on both sides for all-day rows (stored at midnight of the
    # calendar's zone); the exact placement happens in Python by dates.
    qs = (
        Meeting.objects.using(alias).filter(source_id=source_id, end__gt=after, start__lt=before)
        .exclude(status="cancelled").order_by("start", "id").values_list(*_COLUMNS)
    )
    return qs[:limit] if limit else qs


# Compiled once per database (``compiled.compiled_rows``): building and compiling it costs more than running it.
_PLACEHOLDER_SOURCE = 2_000_000_017
_PLACEHOLDER_AFTER = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)
_PLACEHOLDER_BEFORE = datetime(1902, 3, 4, 5, 6, 7, tzinfo=UTC)


def _run(build, source, window, limit=None):
    """Rows of ``build``'s queryset for the window, as tuples from the driver (no model instances, no
    converters: SQLite's registered ones give datetimes/dates/bools; the callers handle the rest)."""
    return compiled_rows(
        build, (_PLACEHOLDER_SOURCE, _PLACEHOLDER_AFTER, _PLACEHOLDER_BEFORE),
        (source.pk, window.start - timedelta(days=1), window.end + timedelta(days=1)), model=Meeting,
        shape=(limit,),
    )


def _utc(value):
    """A stored datetime as an aware UTC datetime: SQLite returns naive UTC (text for computed columns),
    PostgreSQL aware datetimes."""
    if value is None:
        return None
    if value.__class__ is str:
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _day(value):
    return date.fromisoformat(value) if value.__class__ is str else value


# --- ETag (no query, before any decryption) -------------------------------------------------------------------
ETAG_CLOCK_SECONDS = 60


def etag_clock_bucket(now):
    """The coarse clock in the ETag: presence from calendar ``outOfOffice`` rows and the purge of rows that slid
    out of the window depend on the time, not on anything the ETag reads; so no ETag outlives a minute."""
    return int(now.timestamp()) // ETAG_CLOCK_SECONDS


def meetings_etag(*, person, source, window, variant="", now=None):
    """The ETag of the list/API response, from what the "who" query loaded (person, organization, source):
    no query. The 304 path and the full response both call this, before the rows are read.

    Meetings change only through a sync run (each one stamps ``last_synced_at`` when it ends; a failed or cut-short
    run moves ``next_sync_at``/``last_error_at``), the daily purge (the window's day moves, plus the minute bucket)
    and deactivation (``calendar_state``, source ``state``). A sync commits its pages before it stamps the
    source, so a poll in between may get the new rows under the old ETag; the first poll after the stamp
    gets a new ETag and the full list again. Acceptable: the rows are read AFTER the source, so the reverse
    (old rows under the new ETag) cannot happen, and no 304 is served for a state older than the last finished
    sync."""
    now = now or timezone.now()
    parts = (
        variant, etag_clock_bucket(now), person.pk, person.email, person.name, person.calendar_state,
        person.error_code, window.zone.key, window.today, window.first_day, window.show_past, person.ooo_start,
        person.ooo_end, person.ooo_source, person.ooo_checked_at, person.is_out_of_office(now),
        person.organization.keyword_webex,
    )
    if source is not None:
        parts += (
            source.pk, source.state, source.last_synced_at, source.next_sync_at,
            source.last_error_at, source_is_stale(source, now=now),
        )
    return '"' + hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()[:24] + '"'


def source_is_stale(source, *, now=None):
    if source is None:
        return False
    now = now or timezone.now()
    if source.state == CalendarSource.State.FAILING:
        return True
    return source.last_synced_at is None or now - source.last_synced_at > STALE_AFTER


# --- rows -----------------------------------------------------------------------------------------------------
Entry = namedtuple("Entry", [
    "id", "title", "start", "end", "all_day", "start_date", "end_date", "last_day", "organizer_email",
    "organizer_name", "attendee_count", "attendee_names", "provider", "join_url", "out_of_office",
    "organized_by_me",
])
Entry.__doc__ = """One decrypted meeting of the window. ``start``/``end``: aware datetimes (midnights of the
user's zone for all-day rows); ``start_date``/``end_date``: the stored all-day dates (end exclusive), ``last_day``
the last day an all-day row covers (inclusive); None for timed rows. ``attendee_names``: a tuple, shared by the rows
with the same attendee list."""
OooRow = namedtuple("OooRow", "event_type status start end")  # what ``presence_of`` reads of a meeting


@dataclass
class MeetingsRead:
    entries: list  # Entry, in (start, id) order
    out_of_office: list  # OooRow of the rows read, for presence
    truncated: bool  # more rows than ``limit`` in the window


def _decryptors(organization, source_id, version):
    cipher = org_cipher_version(organization, version)
    key_prefix = row_key(source_id, "")
    return tuple(cipher.decryptor(aad_for(TABLE, name, key_prefix)) for name in _DECRYPTED)


def meetings_read(*, person, source, window, limit=None):
    """The first ``limit`` rows of the window, decrypted (one query, no model instances).

    Title, attendees and join URL are decrypted; the organizer comes from the attendee list when it is there (it
    usually is), so its two columns are decrypted only for events without attendees."""
    if source is None:
        return MeetingsRead([], [], False)
    raw = _run(_read_queryset, source, window, limit + 1 if limit else None)
    if not raw:
        return MeetingsRead([], [], False)
    truncated = bool(limit) and len(raw) > limit
    if truncated:
        del raw[limit:]
    organization = person.organization
    zone = window.zone
    win_start, win_end, first_day, last_day_of_window = window.start, window.end, window.first_day, window.last_day
    my_email = person.email.lower()
    no_title = _("(No title)")
    one_day = timedelta(days=1)
    decryptors = {}
    entries = []
    ooo = []
    decode = _json_decode
    new_entry = tuple.__new__
    # attendee list (plaintext) -> (organizer email, organizer name, names): the instances of a recurring
    # meeting usually carry the same list, parsed once per call then.
    parsed = {}
    host_providers = _HOST_PROVIDERS
    hosted = {}  # entry index -> (event id, join url) of rows a host link may exist for
    for (mid, eid, start, end, all_day, start_date, end_date, event_type, attendee_count, provider, version,
         title_b, attendees_b, url_b, org_email_b, org_name_b) in raw:
        if start.__class__ is datetime and end.__class__ is datetime and start.tzinfo is end.tzinfo is None:
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)  # SQLite: naive UTC
        else:
            start, end = _utc(start), _utc(end)
        out_of_office = event_type == "outOfOffice"
        if out_of_office:
            ooo.append(OooRow(event_type, "confirmed", start, end))
        all_day = bool(all_day)
        last_day = None
        if all_day and start_date:
            start_date = _day(start_date)
            end_date = _day(end_date) if end_date else None
            last_day = (end_date or start_date + one_day) - one_day
            if last_day < first_day or start_date > last_day_of_window:
                continue
            start_local = datetime(start_date.year, start_date.month, start_date.day, tzinfo=zone)
            after = last_day + one_day
            end_local = datetime(after.year, after.month, after.day, tzinfo=zone)
        else:
            if not (end > win_start and start < win_end):
                continue
            start_local, end_local = start, end
            start_date = end_date = None
        decs = decryptors.get(version)
        if decs is None:
            decs = decryptors[version] = _decryptors(organization, source.pk, version)
        dec_title, dec_attendees, dec_url, dec_org_email, dec_org_name = decs
        suffix = eid.encode()
        attendees = dec_attendees(attendees_b, suffix)
        hit = parsed.get(attendees)
        if hit is None:
            organizer_email = organizer_name = None
            names = []
            if attendees:
                for a in decode(attendees)[0]:
                    if organizer_email is None and a.get("organizer"):
                        organizer_email, organizer_name = a.get("email"), a.get("name") or None
                    if not a.get("resource"):
                        names.append(a.get("name") or a.get("email") or "")
            hit = parsed[attendees] = (organizer_email, organizer_name, tuple(names))
        organizer_email, organizer_name, names = hit
        if organizer_email is None:
            organizer_email, organizer_name = dec_org_email(org_email_b, suffix), dec_org_name(org_name_b, suffix)
        organizer_email = organizer_email or ""
        url = dec_url(url_b, suffix) or ""
        mine = organizer_email.lower() == my_email
        if mine and url and provider in host_providers:
            hosted[len(entries)] = (eid, url)
        entries.append(new_entry(Entry, (  # Entry(...) without the keyword binding of its 16 fields
            mid, dec_title(title_b, suffix) or no_title, start_local, end_local, all_day, start_date, end_date,
            last_day, organizer_email, organizer_name or organizer_email, len(names) if names else attendee_count,
            names, provider, url, out_of_office, mine,
        )))
    if hosted:
        _with_host_links(source, entries, hosted)
    return MeetingsRead(entries, ooo, truncated)


# --- links with host rights -------------------------------------------------------------------------------------
_HOST_LINKS = []
_HOST_PROVIDERS = frozenset()  # every registered provider's ``providers``, kept with the registry


def host_links_provider(*, providers):
    """Register ``fn(source, {event id: join url}) -> {event id: host url}`` for the meetings of ``source`` whose
    Join link is one of ``providers``' (``join_provider``) and that its owner organizes: the links with host
    (moderator) rights the meeting service made for them, given only where the event still carries that
    meeting's join link. The organizer's Join then opens that link; everyone else's, the event's. Asked once per
    read, only when such a row is read (the meeting service registers one at start-up)."""
    def register(fn):
        global _HOST_PROVIDERS
        if all(f is not fn for _, f in _HOST_LINKS):
            _HOST_LINKS.append((frozenset(providers), fn))
            _HOST_PROVIDERS = _HOST_PROVIDERS | frozenset(providers)
        return fn
    return register


def _with_host_links(source, entries, hosted):
    """Swap in the host links of ``hosted`` ({entry index: (event id, join url)}) in ``entries``, in place."""
    if getattr(source, "kind", "") != CalendarSource.Kind.PERSON:
        return  # a room organizes nothing: no host link is ever shown on a display
    links = {}
    for providers, fn in _HOST_LINKS:
        ask = {eid: url for i, (eid, url) in hosted.items() if entries[i].provider in providers}
        if ask:
            links.update(fn(source, ask) or {})
    for i, (eid, _url) in hosted.items():
        host = links.get(eid)
        if host:
            entries[i] = entries[i]._replace(join_url=host)


def presence_for(person, read, now=None):
    return presence_of(person, meetings=read.out_of_office, at=now)
