"""What the meetings list and the API show of the rows ``selectors.meetings_read`` returns: day groups and
labels, the HTML rows and the context of ``meetings_list.html``, the JSON document, the time-zone options.

HTML: every value from a calendar (title, organizer, attendees, join URL) and every label goes through Django's
escaping (``format_html``, ``format_html_join``, ``conditional_escape``); nothing is marked safe by hand. The
markup (classes, ``data-*`` attributes) is what ``static/js/meetings.js`` and the browser tests read: change it
with them. How a day section is written, and why not with a template loop or ``format_html_join`` over per-row
tuples, is told above ``_DAY``. Measured (CPU ms to write the rows of the bench's list, ``bench.bench_meetings``'s
data, min of 15 rounds, the same machine):

===============================================  =========  =========
rows                                             100        300
===============================================  =========  =========
before: f-strings over a home-made escape        0.60       1.8
``format_html_join`` over per-row tuples         2.0        6.0
one ``format_html`` per day (this module)        1.1        3.2
===============================================  =========  =========

The page, partial and API figures before and after this layout are in the commit that introduced it.

Times are preformatted with ``zoneinfo`` (Django's date filters cost ~12 ms per 200 rows). Provider names and
icons come from ``calendar_sync.sync.joinlinks`` (``provider_info``); the generic ones are translated here.

JSON: ``meetings_json`` writes the document ``json.dumps(meetings_payload(...))`` would, each row one format over
encoded strings (about twice as fast as building and encoding dicts).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from functools import lru_cache

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
# A day section is ONE ``format_html`` call. Its format string is put together from the literal fragments below,
# into which only numbers are written with %d / %02d (ids, epoch milliseconds, hours and minutes, and the
# positions of the row's arguments: nothing but digits can come out, anything else raises TypeError) and, with %s,
# only the literals of ``_CLASSES`` and ``_CHIP``. Every text (title, organizer, attendees, join URL, labels, the
# day's names) is an argument, escaped by ``format_html``, or a value that ``format_html`` made. Why not
# ``format_html_join`` over per-row tuples: Django's escaping costs ~1 µs per argument and ~2 µs per call, and a
# row has a dozen values (~20 µs a row against ~6 before); this way a row costs the escaping of its title and
# join URL, and a reference to the rest. The figures are in the module docstring.
_DAY = ('<section class="day" data-day="{0}"><div class="day-head"><h2>{1}</h2><span class="date">{2}</span></div>'
        '<ul class="mtgs">')
_TODAY = ('<section class="day today" data-day="{0}" id="today"><div class="day-head"><h2>{1}</h2>'
          '<span class="date">{2}</span></div><ul class="mtgs">')
_DAY_END = "</ul></section>"
# The day's first arguments, referenced by every row: {3} the Join label, {4} "All day", {5} the out-of-office chip.
_ROW_START = '<li class="mtg%s" data-id="%d" data-start="%d" data-end="%d" data-title="{%d}"><div class="mtg-time">'
_TIME = '<span class="range">%02d:%02d – %02d:%02d</span>'
_ALL_DAY = '<span class="range">{4}</span>'
_ROW_MAIN = ('<span class="state"></span></div><div class="mtg-main"><div class="mtg-title" title="{%d}">%s{%d}</div>'
             '<div class="mtg-meta">{%d}</div></div><div class="mtg-provider">{%d}</div><div class="mtg-action">')
_JOIN = '<button type="button" class="btn join" data-join-url="{%d}" data-join-from="%d" disabled>{3}</button>'
_ROW_END = "</div></li>"
_CLASSES = {(False, False): "", (True, False): " allday", (False, True): " ooo", (True, True): " allday ooo"}
_CHIP = {False: "", True: "{5}"}
_OOO_CHIP = '<span class="chip ooo">{}</span> '
_ORGANIZER = '<span class="organizer">{}</span>'
_PEOPLE = '<span class="people" title="{}">{}: {}{}</span>'
_META_BOTH = '{}<span class="sep">·</span>{}'
_PROVIDER = '<img src="{}" alt="" width="20" height="20"><span>{}</span>'
_NOTHING = conditional_escape("")


class _ListWriter:
    """The day sections of one list. What repeats across rows is escaped once per list: the labels, a provider's
    cell, the organizer-and-participants line of a recurring meeting."""

    def __init__(self, zone):
        self.zone = zone
        self.join_label = conditional_escape(_("Join"))
        self.all_day = conditional_escape(_("All day"))
        self.ooo_chip = format_html(_OOO_CHIP, _("Out of office"))
        self.me = format_html(_ORGANIZER, _("You organize"))
        self.providers = {}
        self.metas = {}

    def provider(self, provider_id):
        cell = self.providers.get(provider_id)
        if cell is None:
            cell = self.providers[provider_id] = format_html(
                _PROVIDER, static(provider_info(provider_id).icon), provider_name(provider_id))
        return cell

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
        """One day section (``Day``): one ``format_html`` call (see the comment above ``_DAY``)."""
        zone, metas = self.zone, self.metas
        fragments = [_TODAY if day.is_today else _DAY]
        args = [day.day.isoformat(), day.weekday, day.label, self.join_label, self.all_day, self.ooo_chip]
        add = fragments.append
        for (mid, title, start, end, all_day, start_date, _end_date, _last_day, _org_email, org_name, count, names,
             provider, join_url, ooo, mine) in day.rows:
            start_ms = int(start.timestamp() * 1000)
            key = (None if ooo else True if mine else org_name or "", count, names)
            meta = metas.get(key)
            if meta is None:
                meta = metas[key] = self.meta(*key)
            at = len(args)  # the row's arguments: title, meta line, provider cell (and join URL), in this order
            args += (title, meta, self.provider(provider) if provider else _NOTHING)
            add(_ROW_START % (_CLASSES[all_day, ooo], mid, start_ms, int(end.timestamp() * 1000), at))
            if start_date is None:
                s, e = start.astimezone(zone), end.astimezone(zone)
                add(_TIME % (s.hour, s.minute, e.hour, e.minute))
            else:
                add(_ALL_DAY)
            add(_ROW_MAIN % (at, _CHIP[ooo], at, at + 1, at + 2))
            if join_url:
                args.append(join_url)
                add(_JOIN % (at + 3, start_ms - JOIN_EARLY_MS))
            add(_ROW_END)
        add(_DAY_END)
        return format_html("".join(fragments), *args)


def days_html(days, zone):
    """The day sections of the list (``Day`` from ``group_by_day``)."""
    writer = _ListWriter(zone)
    return format_html_join("", "{}", ((writer.day(day),) for day in days))


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


