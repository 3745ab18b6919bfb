"""The one reading of a Google ``EventDateTime`` (https://developers.google.com/workspace/calendar/api/v3/reference/events).

A timed event has ``dateTime`` (RFC 3339, with an offset unless ``timeZone`` names the zone). An all-day event has
only ``date``: a calendar date with no zone of its own, which Google shows in the calendar's time zone, so its
instant is midnight of that date in the calendar's zone (``events.list`` returns it as ``timeZone``), and the date
itself is kept to place it without shifting. The sync engine and keyword scheduling both read times through here.
"""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def calendar_zone(name):
    """The zone of a calendar (``events.list``'s ``timeZone``); UTC when missing or unknown."""
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def event_time(value, zone):
    """``(aware UTC datetime, date or None)`` of an EventDateTime; all-day dates are midnight in ``zone``."""
    if not isinstance(value, dict):
        return None, None
    if value.get("dateTime"):
        parsed = parse_datetime(value["dateTime"])
        if parsed is None:
            return None, None
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=calendar_zone(value.get("timeZone")) if value.get("timeZone") else zone)
        return parsed.astimezone(dt.UTC), None
    if value.get("date"):
        day = parse_date(value["date"])
        if day is None:
            return None, None
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC), day
    return None, None
