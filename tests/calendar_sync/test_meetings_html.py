"""The meetings list's HTML writer (``presenters.days_html``) writes, byte for byte, what a Django template with
autoescaping writes for the same rows, hostile calendar text included; and its escaper is Django's ``escape``."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.template import engines
from django.templatetags.static import static
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString

from calendar_sync.meetings import presenters
from calendar_sync.meetings.selectors import Entry
from calendar_sync.sync.joinlinks import provider_info

HOSTILE = ['<script>alert("x")</script>', "Bob's 1:1 & co", "{0} {1} %s %d {}", '"><img src=x onerror=alert(1)>',
           "&amp; already &lt;escaped&gt;", "café – 회의 · naïve"]

# The list as a template would write it: the same markup, every text through autoescaping.
_TEMPLATE = (
    '{% for day in days %}<section class="day{% if day.is_today %} today{% endif %}" data-day="{{ day.iso }}"'
    '{% if day.is_today %} id="today"{% endif %}><div class="day-head"><h2>{{ day.weekday }}</h2>'
    '<span class="date">{{ day.label }}</span></div><ul class="mtgs">{% for r in day.rows %}'
    '<li class="mtg{% if r.all_day %} allday{% endif %}{% if r.ooo %} ooo{% endif %}" data-id="{{ r.id }}" '
    'data-start="{{ r.start_ms }}" data-end="{{ r.end_ms }}" data-title="{{ r.title }}"><div class="mtg-time">'
    '<span class="range">{% if r.all_day %}All day{% else %}{{ r.range }}{% endif %}</span>'
    '<span class="state"></span></div><div class="mtg-main"><div class="mtg-title" title="{{ r.title }}">'
    '{% if r.ooo %}<span class="chip ooo">Out of office</span> {% endif %}{{ r.title }}</div>'
    '<div class="mtg-meta">{% if r.organizer %}<span class="organizer">{{ r.organizer }}</span>{% endif %}'
    '{% if r.organizer and r.count %}<span class="sep">·</span>{% endif %}{% if r.count %}'
    '<span class="people" title="{{ r.names }}">{{ r.count_label }}: {{ r.shown }}{{ r.more }}</span>{% endif %}'
    '</div></div><div class="mtg-provider">{% if r.icon %}<img src="{{ r.icon }}" alt="" width="20" height="20">'
    '<span>{{ r.provider_name }}</span>{% endif %}</div><div class="mtg-action">{% if r.join_url %}'
    '<button type="button" class="btn join" data-join-url="{{ r.join_url }}" data-join-from="{{ r.join_from }}" '
    'disabled>Join</button>{% endif %}</div></li>{% endfor %}</ul></section>{% endfor %}'
)


def _reference(days, zone):
    out = []
    for day in days:
        rows = []
        for e in day.rows:
            s, t = e.start.astimezone(zone), e.end.astimezone(zone)
            organizer = "" if e.out_of_office else "You organize" if e.organized_by_me else e.organizer_name or ""
            names = e.attendee_names
            rows.append({
                "id": e.id, "title": e.title, "all_day": e.all_day, "ooo": e.out_of_office,
                "start_ms": int(e.start.timestamp() * 1000), "end_ms": int(e.end.timestamp() * 1000),
                "range": f"{s:%H:%M} – {t:%H:%M}", "organizer": organizer, "count": e.attendee_count,
                "count_label": f"{e.attendee_count} participant{'' if e.attendee_count == 1 else 's'}",
                "names": ", ".join(names), "shown": ", ".join(names[:presenters.NAMES_SHOWN]),
                "more": f" +{len(names) - presenters.NAMES_SHOWN}" if len(names) > presenters.NAMES_SHOWN else "",
                "icon": static(provider_info(e.provider).icon) if e.provider else "",
                "provider_name": presenters.provider_name(e.provider) if e.provider else "",
                "join_url": e.join_url, "join_from": int(e.start.timestamp() * 1000) - presenters.JOIN_EARLY_MS,
            })
        out.append({"iso": day.day.isoformat(), "is_today": day.is_today, "weekday": day.weekday,
                    "label": day.label, "rows": rows})
    return engines["django"].from_string(_TEMPLATE).render({"days": out})


def _entry(i, start, *, title, minutes=45, all_day=False, ooo=False, mine=False, organizer="", names=(),
           count=None, provider="webex", join_url=""):
    end = start + timedelta(minutes=minutes)
    start_date = start.date() if all_day else None
    return Entry(i, title, start, end, all_day, start_date, start_date + timedelta(days=1) if all_day else None,
                 start_date, "o@x.test", organizer, len(names) if count is None else count, tuple(names), provider,
                 join_url, ooo, mine)


def _days():
    paris = ZoneInfo("Europe/Paris")
    d1, d2 = date(2030, 3, 30), date(2030, 3, 31)  # the spring change of Europe/Paris is in the night of d2
    at = lambda d, h, m=0: datetime(d.year, d.month, d.day, h, m, tzinfo=paris).astimezone(UTC)  # noqa: E731
    many = [f"P{i} {HOSTILE[i % len(HOSTILE)]}" for i in range(7)]
    first = [
        _entry(1, at(d1, 0), title="Away <all day> & 'off'", minutes=24 * 60, all_day=True, ooo=True, provider=""),
        _entry(2, at(d1, 9, 30), title=HOSTILE[0], organizer=HOSTILE[1], names=many,
               join_url='https://x.test/j?a=1&b="2"\'><script>alert(3)</script>'),
        _entry(3, at(d1, 11), title=HOSTILE[2], mine=True, names=["Me", HOSTILE[3]], provider="other",
               join_url="https://meet.example/{0}%s"),
        _entry(4, at(d1, 13), title=HOSTILE[3], organizer="", names=[], count=0, provider="retired-service"),
        _entry(5, at(d1, 15), title=HOSTILE[4], ooo=True, names=["Solo"], provider="tel", join_url="tel:+331234"),
        _entry(6, at(d1, 23, 30), title=HOSTILE[5], organizer=HOSTILE[5], names=many[:1], minutes=90,
               provider="sip", join_url="sip:room@x.test"),
    ]
    # A recurring meeting: the same title, people and join URL on several rows.
    second = [_entry(10 + i, at(d2, 8 + i), title=HOSTILE[1], organizer=HOSTILE[1], names=many[:4],
                     join_url="https://x.test/weekly?a=1&b=2") for i in range(3)]
    second.append(_entry(20, at(d2, 12), title=HOSTILE[1], organizer=HOSTILE[0], names=many[:4]))
    return paris, [presenters.Day(d1, "30 <March>", "Today & now", True, first),
                   presenters.Day(d2, 'March "31"', "Tomorrow", False, second)]


def test_the_list_is_what_a_template_writes_for_the_same_rows():
    zone, days = _days()
    with translation.override("en"):
        html = presenters.days_html(days, zone)
        assert isinstance(html, SafeString)
        assert html == _reference(days, zone)
    assert "<script>" not in html and "<img src=x" not in html and "&amp;amp; already" in html
    assert html.count('<li class="mtg') == 10


def test_an_empty_list_is_empty():
    assert presenters.days_html([], ZoneInfo("UTC")) == ""


@pytest.mark.parametrize("text", HOSTILE + ["", "plain"])
def test_the_row_escaper_is_djangos_escape(text):
    escaped = presenters._escape(text)
    assert escaped == escape(text) and type(escaped) is SafeString


@pytest.mark.parametrize(("language", "expected"), [("en", "2026-12-04 09:30"), ("fr", "04/12/2026 09:30"),
                                                    ("ko", "2026. 12. 4. 09:30")])
def test_out_of_office_until_and_stale_since_are_written_in_the_languages_one_format(language, expected):
    zone = ZoneInfo("Europe/Paris")
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    with translation.override(language):
        assert presenters._local(datetime(2026, 12, 4, 8, 30, tzinfo=UTC), zone, now) == expected
        assert presenters._local(datetime(2026, 12, 2, 12, 15, tzinfo=UTC), zone, now) == "13:15"  # today
