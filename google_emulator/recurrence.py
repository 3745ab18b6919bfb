"""A small RFC 5545 recurrence expander (RRULE/RDATE/EXDATE) for the Calendar emulator.

Supported: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with INTERVAL, COUNT, UNTIL, BYDAY (weekly lists,
monthly/yearly ordinals such as 2MO or -1FR), BYMONTHDAY and BYMONTH. Timed series are expanded
in wall-clock time of the event's ``start.timeZone`` so 09:00 Europe/Paris stays 09:00 across DST.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from dataclasses import dataclass

from .util import UTC, get_zone, parse_date, parse_datetime

WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
MAX_INSTANCES = 5000
MAX_PERIODS = 200_000


@dataclass
class Occurrence:
    original: dt.datetime | dt.date  # aware datetime (timed) or date (all-day)
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date
    all_day: bool

    def suffix(self) -> str:
        if self.all_day:
            return self.original.strftime("%Y%m%d")
        return self.original.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def start_utc(self, zone) -> dt.datetime:
        return as_instant(self.start, zone)

    def end_utc(self, zone) -> dt.datetime:
        return as_instant(self.end, zone)


def as_instant(value, zone) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(0), tzinfo=zone)


def parse_rrule(line: str) -> dict:
    body = line.split(":", 1)[1] if ":" in line else line
    parts = {}
    for item in body.split(";"):
        if "=" in item:
            k, v = item.split("=", 1)
            parts[k.strip().upper()] = v.strip()
    return parts


def _parse_byday(value: str) -> list[tuple[int, int]]:
    out = []
    for tok in value.split(","):
        tok = tok.strip().upper()
        if len(tok) < 2 or tok[-2:] not in WEEKDAYS:
            continue
        n = tok[:-2]
        out.append((int(n) if n not in ("", "+") else 0, WEEKDAYS[tok[-2:]]))
    return out


def _parse_stamp(value: str, zone, all_day: bool):
    """Parse an iCalendar DATE or DATE-TIME value."""
    value = value.strip()
    if all_day or len(value) == 8:
        d = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        if all_day:
            return d
        return dt.datetime.combine(d, dt.time(0), tzinfo=zone)
    base = dt.datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
    if value.endswith("Z"):
        return base.replace(tzinfo=UTC)
    return base.replace(tzinfo=zone)


def _stamp_params(line: str):
    head, _, values = line.partition(":")
    params = {}
    for p in head.split(";")[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.upper()] = v
    return params, [v for v in values.split(",") if v.strip()]


def _nth_weekday(year: int, month: int, n: int, wd: int) -> int | None:
    days = _cal.monthrange(year, month)[1]
    matches = [d for d in range(1, days + 1) if dt.date(year, month, d).weekday() == wd]
    if n == 0:
        return None
    idx = n - 1 if n > 0 else n
    try:
        return matches[idx]
    except IndexError:
        return None


def _month_days(year: int, month: int, rule: dict, default_day: int) -> list[int]:
    ndays = _cal.monthrange(year, month)[1]
    out: set[int] = set()
    if "BYDAY" in rule:
        for n, wd in _parse_byday(rule["BYDAY"]):
            if n == 0:
                out.update(d for d in range(1, ndays + 1) if dt.date(year, month, d).weekday() == wd)
            else:
                d = _nth_weekday(year, month, n, wd)
                if d:
                    out.add(d)
    elif "BYMONTHDAY" in rule:
        for tok in rule["BYMONTHDAY"].split(","):
            d = int(tok)
            if d < 0:
                d = ndays + 1 + d
            if 1 <= d <= ndays:
                out.add(d)
    elif default_day <= ndays:
        out.add(default_day)
    return sorted(out)


def _rule_dates(rule: dict, start: dt.date):
    """Yield candidate dates (ascending) for a rule whose first occurrence is ``start``."""
    freq = rule.get("FREQ", "DAILY").upper()
    interval = max(1, int(rule.get("INTERVAL", "1") or 1))
    for k in range(MAX_PERIODS):
        if freq == "DAILY":
            yield start + dt.timedelta(days=k * interval)
        elif freq == "WEEKLY":
            wds = sorted({wd for _, wd in _parse_byday(rule["BYDAY"])}) if "BYDAY" in rule else [start.weekday()]
            week0 = start - dt.timedelta(days=start.weekday()) + dt.timedelta(weeks=k * interval)
            for wd in wds:
                yield week0 + dt.timedelta(days=wd)
        elif freq == "MONTHLY":
            m = start.month - 1 + k * interval
            y, m = start.year + m // 12, m % 12 + 1
            if y > 9999:
                return
            for d in _month_days(y, m, rule, start.day):
                yield dt.date(y, m, d)
        elif freq == "YEARLY":
            y = start.year + k * interval
            if y > 9999:
                return
            months = [int(x) for x in rule["BYMONTH"].split(",")] if "BYMONTH" in rule else [start.month]
            for m in sorted(months):
                if "BYDAY" in rule or "BYMONTHDAY" in rule:
                    days = _month_days(y, m, rule, start.day)
                else:
                    days = [start.day] if start.day <= _cal.monthrange(y, m)[1] else []
                for d in days:
                    yield dt.date(y, m, d)
        else:
            return


def expand(event: dict, lo: dt.datetime | None = None, hi: dt.datetime | None = None,
           horizon: dt.datetime | None = None, default_zone: str | None = None) -> list[Occurrence]:
    """Expand a recurring event into occurrences overlapping (lo, hi).

    An occurrence is kept when its end is after ``lo`` and its start is before ``hi``. Expansion never
    goes past ``hi`` (or ``horizon`` when there is no ``hi``) to keep open-ended series finite.
    """
    start = event.get("start") or {}
    end = event.get("end") or {}
    all_day = "date" in start
    zone = get_zone(start.get("timeZone") or default_zone)
    stop = hi if hi is not None else horizon

    if all_day:
        first = parse_date(start["date"])
        length = parse_date(end["date"]) - first if end.get("date") else dt.timedelta(days=1)
        first_wall = dt.datetime.combine(first, dt.time(0))
    else:
        st = parse_datetime(start["dateTime"])
        if not start.get("timeZone"):
            zone = st.tzinfo
        first_aware = st.astimezone(zone)
        first_wall = first_aware.replace(tzinfo=None)
        en = parse_datetime(end["dateTime"]) if end.get("dateTime") else st + dt.timedelta(hours=1)
        length = en - st

    def make(wall: dt.datetime):
        if all_day:
            d = wall.date()
            return d, d, d + length
        aware = wall.replace(tzinfo=zone)
        return aware, aware, aware + length

    def instant(value):
        return as_instant(value, zone)

    exdates: set = set()
    starts: dict = {}
    for line in event.get("recurrence") or []:
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name in ("EXDATE", "RDATE"):
            params, values = _stamp_params(line)
            z = get_zone(params["TZID"]) if "TZID" in params else zone
            for v in values:
                stamp = _parse_stamp(v, z, all_day)
                if name == "EXDATE":
                    exdates.add(stamp if all_day else stamp.astimezone(UTC))
                else:
                    wall = (dt.datetime.combine(stamp, dt.time(0)) if all_day
                            else stamp.astimezone(zone).replace(tzinfo=None))
                    starts.setdefault(wall, None)
    for line in event.get("recurrence") or []:
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name != "RRULE":
            continue
        rule = parse_rrule(line)
        count = int(rule["COUNT"]) if "COUNT" in rule else None
        until = None
        if "UNTIL" in rule:
            u = _parse_stamp(rule["UNTIL"], zone, False)
            until = u if not all_day else u.replace(tzinfo=None)
        n = 0
        for day in _rule_dates(rule, first_wall.date()):
            wall = dt.datetime.combine(day, first_wall.time())
            if wall < first_wall:
                continue
            if until is not None:
                if all_day:
                    if wall.date() > until.date():
                        break
                elif wall.replace(tzinfo=zone) > until:
                    break
            if stop is not None and instant(make(wall)[1]) >= stop:
                break
            starts.setdefault(wall, None)
            n += 1
            if count is not None and n >= count:
                break
            if len(starts) > MAX_INSTANCES:
                break
    if not any(line.upper().startswith("RRULE") for line in event.get("recurrence") or []):
        starts.setdefault(first_wall, None)

    out = []
    for wall in sorted(starts):
        orig, s, e = make(wall)
        key = orig if all_day else orig.astimezone(UTC)
        if key in exdates:
            continue
        if stop is not None and instant(s) >= stop:
            continue
        if lo is not None and instant(e) <= lo:
            continue
        out.append(Occurrence(orig, s, e, all_day))
    return out
