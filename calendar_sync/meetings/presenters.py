"""What the meetings list and the API show of the rows ``selectors.meetings_read`` returns: day groups and
labels, the HTML rows and the context of ``meetings_list.html``, the JSON document, the time-zone options.

HTML: every value from a calendar (title, organizer, attendees, join URL) and every label goes through Django's
escaping (``format_html``, ``format_html_join``, ``conditional_escape``, ``escape``); nothing is marked safe by hand.
The markup (classes, ``data-*`` attributes) is what ``static/js/meetings.js`` and the browser tests read, byte for
byte what it was before this module (``tests/calendar_sync/test_meetings_html.py`` compares it with a template's
output, hostile text included): change it with them. How the list is written, and why not with a template loop or
``format_html_join`` over per-row tuples, is told above ``_DAY``. Measured on the bench's data
(``bench.bench_meetings``: 300 meetings, each with its own title and join URL, the same 8 attendees), CPU ms:

Writing the rows (min / median of 15 rounds of 20, the three writers interleaved in one process):

======================================================  ===========  ===========
rows                                                    100          300
======================================================  ===========  ===========
before: f-strings over a home-made escape               0.62 / 0.66  2.0 / 2.2
``format_html_join`` over per-row tuples (earlier run)  2.0          6.0
one ``format_html``, every row's texts escaped by it    0.89 / 0.92  2.7 / 2.9
one ``format_html``, texts escaped once (this module)   0.73 / 0.80  2.3 / 2.5
======================================================  ===========  ===========

What the last line saves: each title and join URL is escaped once, by ``escape`` without its lazy-string check
(``_escape``; ``format_html`` then passes the ``SafeString`` through), and is one argument however many rows
repeat it; a row's meta line, provider cell and the markup between them are one shared argument (``_TAIL``), so
the format string is a third shorter. What remains over the hand-written writer: ``format_html`` scans the whole
list for its ``{n}`` and formats each reference of a ``SafeString`` argument (~0.5 ms for 300 rows).

Whole requests (``python -m bench.bench_meetings``, in-process part, 200 iterations per case, CPU ms, median of
9 runs alternating with the tree before the reshape, same machine):

===========================  ======  =======================  ======  =======  =======
request                      before  one format_html, before  after   change   queries
===========================  ======  =======================  ======  =======  =======
page, 100 rows               5.16    5.54 (+11%)              5.37    +4%      4
list partial, 100 rows       3.96    4.06 (+4%)               4.02    +2%      4
list partial (304)           1.39    1.40 (-1%)               1.45    +4%      3
page, all 300 rows           9.58    10.02 (+7%)              9.89    +3%      4
JSON API (200, 100 rows)     2.42    2.42 (+2%)               2.41    0%       2
JSON API (304)               0.52    0.56 (+8%)               0.57    +10%     1
JSON API, all 300 rows       5.60    5.48 (-1%)               5.49    -2%      2
===========================  ======  =======================  ======  =======  =======

("one format_html, before": every row's texts escaped by the one call, 4 runs against 4 of the old tree; query
counts the same in all three.) The page's remaining difference is mostly its template, which has grown since (the
page less the partial: 1.20 ms before, 1.35 ms after); the JSON API and its 304 do not go through this module's
HTML (the 304's ~50 µs is within this machine's noise for it: ±10% between runs of the same tree).

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
from django.utils.html import conditional_escape, escape, format_html, format_html_join
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
# is an argument, escaped by Django (``format_html``, ``conditional_escape``, ``escape``), or a value that
# ``format_html`` made. A value is one argument however many rows show it, referenced by position: the labels ({0}
# the Join label, {1} "All day", {2} the out-of-office chip), a day's names, a title or join URL that repeats (the
# instances of a recurring meeting), and a row's tail: its organizer-and-participants line and provider cell with
# the markup around them, up to the Join button's URL (``_TAIL_JOIN``) or the end of the row (``_TAIL``), one
# ``format_html`` per distinct (line, provider). Why not a template loop or ``format_html_join`` over per-row
# tuples: Django's escaping costs ~1 µs per argument and ~2 µs per call and a row has a dozen values (figures in the
# module docstring); this way a row costs the escaping of its title and join URL (``_escape``), at most.
# A day: its date (%04d-%02d-%02d) and the positions of its weekday and date label.
_DAY = ('<section class="day" data-day="%04d-%02d-%02d"><div class="day-head"><h2>{%d}</h2>'
        '<span class="date">{%d}</span></div><ul class="mtgs">')
_TODAY = ('<section class="day today" data-day="%04d-%02d-%02d" id="today"><div class="day-head"><h2>{%d}</h2>'
          '<span class="date">{%d}</span></div><ul class="mtgs">')
_DAY_END = "</ul></section>"
# A row: %s one of ``_CLASSES``; id, start and end (epoch ms); the position of its title; the time range (%02d) or
# {1}; the position of its title, %s the chip ("{2}" or nothing), the positions of its title again and of its tail;
# with a Join button, the position of its join URL and the epoch ms from which the button is enabled.
_ROW_START = '<li class="mtg%s" data-id="%d" data-start="%d" data-end="%d" data-title="{%d}"><div class="mtg-time">'
_ROW_MAIN = '<span class="state"></span></div><div class="mtg-main"><div class="mtg-title" title="{%d}">%s{%d}{%d}'
_JOIN = '{%d}" data-join-from="%d" disabled>{0}</button></div></li>'
_TIMED_ROW = _ROW_START + '<span class="range">%02d:%02d – %02d:%02d</span>' + _ROW_MAIN
_ALL_DAY_ROW = _ROW_START + '<span class="range">{1}</span>' + _ROW_MAIN
_TIMED_JOIN, _ALL_DAY_JOIN = _TIMED_ROW + _JOIN, _ALL_DAY_ROW + _JOIN
_CLASSES = {(False, False): "", (True, False): " allday", (False, True): " ooo", (True, True): " allday ooo"}
_CHIP = {False: "", True: "{2}"}
# A row's tail (a ``format_html`` of its meta line and provider cell), to the Join button's URL or the row's end.
_TAIL_START = '</div><div class="mtg-meta">{}</div></div><div class="mtg-provider">{}</div><div class="mtg-action">'
_TAIL_JOIN = _TAIL_START + '<button type="button" class="btn join" data-join-url="'
_TAIL = _TAIL_START + "</div></li>"
_OOO_CHIP = '<span class="chip ooo">{}</span> '
_ORGANIZER = '<span class="organizer">{}</span>'
_PEOPLE = '<span class="people" title="{}">{}: {}{}</span>'
_META_BOTH = '{}<span class="sep">·</span>{}'
_PROVIDER = '<img src="{}" alt="" width="20" height="20"><span>{}</span>'
_NOTHING = conditional_escape("")
# Django's ``escape`` without its ``keep_lazy`` wrapper (which ``functools.wraps`` keeps as ``__wrapped__``): the
# same ``SafeString`` of the same bytes for the plain ``str`` a title or URL is (never a lazy translation), at a
# third of the cost: the wrapper's check for lazy arguments is most of ``escape``'s. Pinned by a test.
_escape = escape.__wrapped__


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
        # Positions in ``args`` of the values rows share: day names, row tails, titles and join URLs.
        self.names, self.tails, self.texts = {}, {}, {}
        self.fragments = []

    def share(self, positions, key, make):
        """The position of the shared argument ``key`` (in ``positions``), made (``make(key)``) the first time."""
        at = positions.get(key)
        if at is None:
            at = positions[key] = len(self.args)
            self.args.append(make(key))
        return at

    def tail(self, key):
        """A row's tail for ``(who, count, names, provider, join)`` (``meta`` for the first three)."""
        who, count, names, provider, join = key
        cell = _provider_cell(provider, self.language, settings.STATIC_URL) if provider else _NOTHING
        return format_html(_TAIL_JOIN if join else _TAIL, self.meta(who, count, names), cell)

    def meta(self, who, count, names):
        """The organizer-and-participants line. ``who``: None (out of office: nobody named), True (the viewer
        organizes), else the organizer's name ("" for none)."""
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
        zone, args, tails, texts, add = self.zone, self.args, self.tails, self.texts, self.fragments.append
        d = day.day
        add((_TODAY if day.is_today else _DAY) % (d.year, d.month, d.day, self.share(self.names, day.weekday, str),
                                                 self.share(self.names, day.label, str)))
        for (mid, title, start, end, all_day, start_date, _end_date, _last_day, _org_email, org_name, count, names,
             provider, join_url, ooo, mine) in day.rows:
            key = (None if ooo else True if mine else org_name or "", count, names, provider, bool(join_url))
            tail = tails.get(key)
            if tail is None:
                tail = self.share(tails, key, self.tail)
            at = texts.get(title)
            if at is None:
                at = texts[title] = len(args)
                args.append(_escape(title))
            start_ms = int(start.timestamp() * 1000)
            classes, chip, end_ms = _CLASSES[all_day, ooo], _CHIP[ooo], int(end.timestamp() * 1000)
            if join_url:
                url = texts.get(join_url)
                if url is None:
                    url = texts[join_url] = len(args)
                    args.append(_escape(join_url))
                if start_date is None:
                    s, e = start.astimezone(zone), end.astimezone(zone)
                    add(_TIMED_JOIN % (classes, mid, start_ms, end_ms, at, s.hour, s.minute, e.hour, e.minute, at,
                                       chip, at, tail, url, start_ms - JOIN_EARLY_MS))
                else:
                    add(_ALL_DAY_JOIN % (classes, mid, start_ms, end_ms, at, at, chip, at, tail, url,
                                         start_ms - JOIN_EARLY_MS))
            elif start_date is None:
                s, e = start.astimezone(zone), end.astimezone(zone)
                add(_TIMED_ROW % (classes, mid, start_ms, end_ms, at, s.hour, s.minute, e.hour, e.minute, at, chip,
                                  at, tail))
            else:
                add(_ALL_DAY_ROW % (classes, mid, start_ms, end_ms, at, at, chip, at, tail))
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
    """A moment in the reader's zone: the time alone today, else the date and time in the language's one format
    (``controlhub/formats``)."""
    local = value.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return formats.date_format(local, "DATETIME_FORMAT")


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


