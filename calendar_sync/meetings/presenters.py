"""What the meetings list and the API show of the rows ``selectors.meetings_read`` returns: day groups and
labels, the HTML rows and the context of ``meetings_list.html``, the JSON document, the time-zone options.

HTML: every value from a calendar (title, organizer, attendees, join URL) and every label goes through Django's
escaping (``format_html``, ``format_html_join``, ``conditional_escape``); nothing is marked safe by hand. The
markup (classes, ``data-*`` attributes) is what ``static/js/meetings.js`` and the browser tests read, byte for byte
what it was before this module: change it with them. How the list is written, and why not with a template loop or
``format_html_join`` over per-row tuples, is told above ``_DAY``. Measured on the bench's data
(``bench.bench_meetings``: 300 meetings, each with its own title and join URL, the same 8 attendees), CPU ms:

Writing the rows (min of 15 rounds of 20, the old and new writers in one process):

===============================================  =========  =========
rows                                             100        300
===============================================  =========  =========
before: f-strings over a home-made escape        0.60       1.8
``format_html_join`` over per-row tuples         2.0        6.0
one ``format_html`` per list (this module)       0.9        2.7
===============================================  =========  =========

Whole requests through the test client (the bench's, with the views before and after this module mounted side by
side in one process and 400 request pairs per case, interleaved in random order: the median of each, two runs):

=============================  ===========  ===========  ============
request                        before       after        change
=============================  ===========  ===========  ============
page, 100 rows                 7.3 / 10.0   7.7 / 10.5   +5%
list partial, 100 rows (200)   7.0 / 8.1    7.7 / 8.9    +10 / +11%
list partial (304)             2.5 / 2.5    2.5 / 2.5    0%
page, all 300 rows             15.5 / 13.5  17.2 / 15.4  +11 / +15%
JSON API (200, 304, 300 rows)  unchanged (-3% to +2%)
=============================  ===========  ===========  ============

What remains is Django's escaping itself: ~1 µs per value where the home-made replace chain took 0.15 µs, and
two values per row (its title and join URL) that no other row shares on the bench's data.

Times are preformatted with ``zoneinfo`` (Django's date filters cost ~12 ms per 200 rows). Provider names and
icons come from ``calendar_sync.sync.joinlinks`` (``provider_info``); the generic ones are translated here.

JSON: ``meetings_json`` writes the document ``json.dumps(meetings_payload(...))`` would, each row one format over
encoded strings (about twice as fast as building and encoding dicts).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from functools import lru_cache

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

from calendar_sync.meetings.forms import time_zone_names
from calendar_sync.meetings.selectors import MAX_ROWS, source_is_stale
from calendar_sync.sync.joinlinks import provider_info
from controlhub.people.models import Person
from controlhub.tenancy.errors import error_info

JOIN_EARLY = timedelta(minutes=5)
JOIN_EARLY_MS = int(JOIN_EARLY.total_seconds() * 1000)
NAMES_SHOWN = 4

# joinlinks names services by their brand (not translated); these three are words.
_GENERIC_PROVIDER_NAMES = {
    "sip": gettext_lazy("Video system (SIP)"),
    "tel": gettext_lazy("Phone"),
    "other": gettext_lazy("Online meeting"),
}


def provider_name(provider_id):
    """The display name of a stored ``join_provider`` (an unknown id reads as "Online meeting")."""
    info = provider_info(provider_id)
    return str(_GENERIC_PROVIDER_NAMES.get(info.id, info.name))


# --- days -----------------------------------------------------------------------------------------------------
@dataclass
class Day:
    day: date
    label: str
    weekday: str
    is_today: bool
    rows: list = field(default_factory=list)


@lru_cache(maxsize=2048)
def _date_label(language, day):
    return formats.date_format(day, "DATE_FORMAT")


def group_by_day(entries, window):
    """Entries into days (today first unless the past is shown), all-day rows on top of each day they cover."""
    all_day = {}
    timed = {}
    zone = window.zone
    first_day, last_day = window.first_day, window.last_day
    for entry in entries:
        if entry.all_day and entry.start_date:
            d = max(entry.start_date, first_day)
            last = min(entry.last_day, last_day)
            while d <= last:
                all_day.setdefault(d, []).append(entry)
                d += timedelta(days=1)
        else:
            d = entry.start.astimezone(zone).date()
            # Timed rows arrive in (start, id) order already.
            (all_day if entry.all_day else timed).setdefault(d if d > first_day else first_day, []).append(entry)
    language = get_language()
    out = []
    for d in sorted(all_day.keys() | timed.keys()):
        rows = sorted(all_day.get(d, ()), key=lambda e: (e.start, e.id)) + timed.get(d, [])
        out.append(Day(d, _date_label(language, d), _weekday(d, window.today), d == window.today, rows))
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


# --- HTML -----------------------------------------------------------------------------------------------------
# The whole list is ONE ``format_html`` call. Its format string is put together from the literal fragments below,
# into which only numbers are written, with %d / %02d (dates, ids, epoch milliseconds, hours and minutes, and the
# positions of arguments: nothing but digits can come out, anything else raises TypeError), and with %s only the
# literals of ``_CLASSES`` and ``_CHIP``. Every text (title, organizer, attendees, join URL, labels, day names)
# is an argument, escaped by ``format_html``, or a value that ``format_html``/``conditional_escape`` made. Values
# many rows share (labels, a provider's cell, the organizer-and-participants line of a recurring meeting, a day's
# names) are one argument each, referenced by position; the first three are {0} the Join label, {1} "All day"
# and {2} the out-of-office chip. Why not a template loop or ``format_html_join`` over per-row tuples: Django's
# escaping costs ~1 µs per argument and ~2 µs per call and a row has a dozen values (figures in the module
# docstring); this way a row costs the escaping of its title and join URL.
# A day: its date (%04d-%02d-%02d) and the positions of its weekday and date label.
_DAY = ('<section class="day" data-day="%04d-%02d-%02d"><div class="day-head"><h2>{%d}</h2>'
        '<span class="date">{%d}</span></div><ul class="mtgs">')
_TODAY = ('<section class="day today" data-day="%04d-%02d-%02d" id="today"><div class="day-head"><h2>{%d}</h2>'
          '<span class="date">{%d}</span></div><ul class="mtgs">')
_DAY_END = "</ul></section>"
# A row: %s one of ``_CLASSES``; id, start and end (epoch ms); the position of its title; the time range (%02d) or
# {1}; the position of its title, %s the chip ("{2}" or nothing), the position of its title again, those of its
# meta line and provider cell; with a Join button, the position of its join URL and the epoch ms from which the
# button is enabled.
_ROW_START = '<li class="mtg%s" data-id="%d" data-start="%d" data-end="%d" data-title="{%d}"><div class="mtg-time">'
_ROW_MAIN = ('<span class="state"></span></div><div class="mtg-main"><div class="mtg-title" title="{%d}">%s{%d}</div>'
             '<div class="mtg-meta">{%d}</div></div><div class="mtg-provider">{%d}</div><div class="mtg-action">')
_JOIN = '<button type="button" class="btn join" data-join-url="{%d}" data-join-from="%d" disabled>{0}</button>'
_TIMED_ROW = _ROW_START + '<span class="range">%02d:%02d – %02d:%02d</span>' + _ROW_MAIN
_ALL_DAY_ROW = _ROW_START + '<span class="range">{1}</span>' + _ROW_MAIN
_ROW_END = "</div></li>"
_TIMED_JOIN, _TIMED = _TIMED_ROW + _JOIN + _ROW_END, _TIMED_ROW + _ROW_END
_ALL_DAY_JOIN, _ALL_DAY = _ALL_DAY_ROW + _JOIN + _ROW_END, _ALL_DAY_ROW + _ROW_END
_CLASSES = {(False, False): "", (True, False): " allday", (False, True): " ooo", (True, True): " allday ooo"}
_CHIP = {False: "", True: "{2}"}
_OOO_CHIP = '<span class="chip ooo">{}</span> '
_ORGANIZER = '<span class="organizer">{}</span>'
_PEOPLE = '<span class="people" title="{}">{}: {}{}</span>'
_META_BOTH = '{}<span class="sep">·</span>{}'
_PROVIDER = '<img src="{}" alt="" width="20" height="20"><span>{}</span>'
_NOTHING = conditional_escape("")


@lru_cache(maxsize=16)
def _labels(language):
    """``(You organize, Join, All day, the out-of-office chip)`` in ``language`` (the active one), escaped."""
    return (format_html(_ORGANIZER, _("You organize")), conditional_escape(_("Join")),
            conditional_escape(_("All day")), format_html(_OOO_CHIP, _("Out of office")))


@lru_cache(maxsize=1024)
def _provider_cell(provider_id, language, static_url):
    """A service's icon and name in ``language`` (the active one); ``static_url`` keys the cache on settings."""
    return format_html(_PROVIDER, static(provider_info(provider_id).icon), provider_name(provider_id))


class _ListWriter:
    """The day sections of one list, as one ``format_html`` call (see the comment above ``_DAY``)."""

    def __init__(self, zone):
        self.zone = zone
        self.language = get_language()
        self.me, join, all_day, chip = _labels(self.language)
        self.args = [join, all_day, chip]  # {0}, {1}, {2} of the fragments
        # Positions in ``args`` of the values many rows reference: day names, meta lines, provider cells.
        self.names, self.metas, self.cells = {}, {}, {}
        self.fragments = []

    def share(self, positions, key, make):
        """The position of the shared argument ``key`` (in ``positions``), made (``make(key)``) the first time."""
        at = positions.get(key)
        if at is None:
            at = positions[key] = len(self.args)
            self.args.append(make(key))
        return at

    def provider(self, provider_id):
        """The provider cell of a stored ``join_provider`` ("" for none)."""
        return _provider_cell(provider_id, self.language, settings.STATIC_URL) if provider_id else _NOTHING

    def meta(self, key):
        """The organizer-and-participants line of ``(who, count, names)``. ``who``: None (out of office: nobody
        named), True (the viewer organizes), else the organizer's name ("" for none)."""
        who, count, names = key
        organizer = _NOTHING if who is None or who == "" else self.me if who is True else format_html(
            _ORGANIZER, who)
        people = _NOTHING
        if count:
            label = ngettext("%(n)s participant", "%(n)s participants", count) % {"n": count}
            more = f" +{len(names) - NAMES_SHOWN}" if len(names) > NAMES_SHOWN else ""
            people = format_html(_PEOPLE, ", ".join(names), label, ", ".join(names[:NAMES_SHOWN]), more)
        return format_html(_META_BOTH, organizer, people) if organizer and people else organizer or people

    def day(self, day):
        """Adds a day section (``Day``) to the list."""
        zone, args, metas, cells, add = self.zone, self.args, self.metas, self.cells, self.fragments.append
        d = day.day
        add((_TODAY if day.is_today else _DAY) % (d.year, d.month, d.day, self.share(self.names, day.weekday, str),
                                                 self.share(self.names, day.label, str)))
        for (mid, title, start, end, all_day, start_date, _end_date, _last_day, _org_email, org_name, count, names,
             provider, join_url, ooo, mine) in day.rows:
            start_ms = int(start.timestamp() * 1000)
            key = (None if ooo else True if mine else org_name or "", count, names)
            meta = metas.get(key)
            if meta is None:
                meta = self.share(metas, key, self.meta)
            cell = cells.get(provider)
            if cell is None:
                cell = self.share(cells, provider, self.provider)
            at = len(args)  # the row's own arguments: its title (and join URL)
            classes, chip, end_ms = _CLASSES[all_day, ooo], _CHIP[ooo], int(end.timestamp() * 1000)
            if start_date is None:
                s, e = start.astimezone(zone), end.astimezone(zone)
                if join_url:
                    add(_TIMED_JOIN % (classes, mid, start_ms, end_ms, at, s.hour, s.minute, e.hour, e.minute, at,
                                       chip, at, meta, cell, at + 1, start_ms - JOIN_EARLY_MS))
                else:
                    add(_TIMED % (classes, mid, start_ms, end_ms, at, s.hour, s.minute, e.hour, e.minute, at, chip,
                                  at, meta, cell))
            elif join_url:
                add(_ALL_DAY_JOIN % (classes, mid, start_ms, end_ms, at, at, chip, at, meta, cell, at + 1,
                                     start_ms - JOIN_EARLY_MS))
            else:
                add(_ALL_DAY % (classes, mid, start_ms, end_ms, at, at, chip, at, meta, cell))
            if join_url:
                args += (title, join_url)
            else:
                args.append(title)
        add(_DAY_END)

    def html(self):
        """The list: the one ``format_html`` call."""
        return format_html("".join(self.fragments), *self.args)


def days_html(days, zone):
    """The day sections of the list (``Day`` from ``group_by_day``)."""
    if not days:
        return _NOTHING
    writer = _ListWriter(zone)
    for day in days:
        writer.day(day)
    return writer.html()


# --- the list's context and the page's time-zone options -------------------------------------------------------
def _local(value, zone, now):
    local = value.astimezone(zone)
    return local.strftime("%H:%M") if local.date() == now.astimezone(zone).date() else local.strftime(
        "%Y-%m-%d %H:%M")


def more_url(*, show_past, limit):
    """The "Show more meetings" link: twice as many rows (at most ``MAX_ROWS``)."""
    query = f"limit={min(limit * 2, MAX_ROWS)}" + ("&past=1" if show_past else "")
    return reverse("meetings") + "?" + query


def meetings_list_context(*, person, source, window, read, presence, now, show_past, limit):
    """The context of ``meetings_list.html`` for a person (``read``: ``selectors.meetings_read``)."""
    zone = window.zone
    stale = source_is_stale(source, now=now) if source else False
    ctx = {
        "days_html": days_html(group_by_day(read.entries, window), zone),
        "more_url": more_url(show_past=show_past, limit=limit) if read.truncated else "",
        "meeting_count": len(read.entries),
        "presence": presence,
        "presence_until": _local(presence.end, zone, now) if presence.out_of_office and presence.end else "",
        "stale": stale,
        "stale_since": _local(source.last_synced_at, zone, now) if stale and source.last_synced_at else "",
        "subscription_failing": bool(source and source.state == source.State.FAILING),
    }
    if person.calendar_state != Person.CalendarState.ACTIVATED:
        ctx["empty_reason"] = "not_activated"
        ctx["error"] = error_info(person.error_code) if person.error_code else None
    elif not read.entries:
        ctx["empty_reason"] = "no_subscription" if source is None else "no_meetings"
    return ctx


@lru_cache(maxsize=64)
def time_zone_options(selected):
    """The ~430 ``<option>``s of the time-zone selector, made once per selected value (a template loop over them
    costs milliseconds on every page view)."""
    return format_html_join("", '<option value="{}"{}>{}</option>', (
        (name, " selected" if name == selected else "", name.replace("_", " ")) for name in time_zone_names()
    ))


# --- JSON -----------------------------------------------------------------------------------------------------
_JSON = {"ensure_ascii": False, "separators": (",", ":")}


def _iso(value):
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # an aware UTC isoformat ends with "+00:00"


def _start_end(e):
    if e.start_date:  # all-day: dates, as Google gives them (end exclusive)
        return e.start_date.isoformat(), e.end_date.isoformat() if e.end_date else _iso(e.end)
    return _iso(e.start), _iso(e.end)


def _person_json(person, window, presence):
    return {
        "email": person.email,
        "name": person.name,
        "time_zone": window.zone.key,
        "presence": {
            "status": presence.status,
            "out_of_office": presence.out_of_office,
            "source": presence.source,
            "until": _iso(presence.end) if presence.out_of_office and presence.end else None,
        },
    }


def meetings_payload(*, person, window, read, presence, now=None):
    """The API document as dicts (the reference shape; ``meetings_json`` writes the same document faster)."""
    now = now or timezone.now()
    meetings = []
    add = meetings.append
    for e in read.entries:
        start, end = _start_end(e)
        add({
            "id": e.id,
            "title": e.title,
            "start": start,
            "end": end,
            "all_day": e.all_day,
            "organizer": {"email": e.organizer_email, "name": e.organizer_name},
            "attendees": {"count": e.attendee_count, "names": list(e.attendee_names)},
            "provider": e.provider or None,
            "join_url": e.join_url or None,
            "join_enabled_from": _iso(e.start - JOIN_EARLY) if e.join_url else None,
        })
    return {"person": _person_json(person, window, presence), "meetings": meetings, "generated_at": _iso(now)}


def _js(value):
    return "null" if value is None else _json_str(value)


_json_str = json.encoder.encode_basestring  # what ``json.dumps(..., ensure_ascii=False)`` uses for strings


def meetings_json(*, person, window, read, presence, now=None, extra=None):
    """``json.dumps(meetings_payload(...) | extra, ensure_ascii=False, separators=(",", ":"))`` without the
    per-row dicts: each row is one format over encoded strings (building the dicts and encoding them cost about
    the same, ~3 µs per row each; this is ~2x faster in all)."""
    now = now or timezone.now()
    rows = []
    add = rows.append
    names_json = {}  # rows of a recurring meeting share their attendee names tuple
    for e in read.entries:
        start, end = _start_end(e)
        names = e.attendee_names
        names_js = names_json.get(names)
        if names_js is None:
            names_js = names_json[names] = ",".join([_json_str(n) for n in names])
        join_url = e.join_url
        add(
            f'{{"id":{int(e.id)},"title":{_json_str(e.title)},"start":"{start}","end":"{end}",'
            f'"all_day":{"true" if e.all_day else "false"},'
            f'"organizer":{{"email":{_js(e.organizer_email)},"name":{_js(e.organizer_name)}}},'
            f'"attendees":{{"count":{int(e.attendee_count)},"names":[{names_js}]}},'
            f'"provider":{_js(e.provider or None)},"join_url":{_js(join_url or None)},'
            f'"join_enabled_from":{_js(_iso(e.start - JOIN_EARLY)) if join_url else "null"}}}'
        )
    head = json.dumps({"person": _person_json(person, window, presence)}, **_JSON)
    tail = json.dumps({"generated_at": _iso(now), **(extra or {})}, **_JSON)
    return f'{head[:-1]},"meetings":[{",".join(rows)}],{tail[1:]}'


