"""One reading of Google's EventDateTime for the whole product: an all-day event is a date in the calendar's zone."""

import datetime as dt
from zoneinfo import ZoneInfo

from calendar_sync.sync.event_time import calendar_zone, event_time

PARIS = ZoneInfo("Europe/Paris")


def test_all_day_is_midnight_in_the_calendar_zone_and_keeps_its_date():
    instant, day = event_time({"date": "2026-07-14"}, PARIS)
    assert day == dt.date(2026, 7, 14)
    assert instant == dt.datetime(2026, 7, 13, 22, 0, tzinfo=dt.UTC)  # 00:00 CEST


def test_timed_events_keep_their_offset_or_named_zone():
    assert event_time({"dateTime": "2026-07-14T10:00:00+02:00"}, dt.UTC) == (
        dt.datetime(2026, 7, 14, 8, 0, tzinfo=dt.UTC), None)
    assert event_time({"dateTime": "2026-01-05T10:00:00", "timeZone": "Europe/Paris"}, dt.UTC)[0] == \
        dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    assert event_time({"dateTime": "2026-01-05T10:00:00"}, PARIS)[0] == dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def test_malformed_values_are_none_not_errors():
    assert event_time(None, dt.UTC) == (None, None)
    assert event_time({"date": "not-a-date"}, dt.UTC) == (None, None)
    assert event_time({"dateTime": "soon"}, dt.UTC) == (None, None)
    assert calendar_zone("Mars/Olympus") is dt.UTC and calendar_zone("") is dt.UTC
