"""events.quickAdd: the supported subset of text, and access."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.errors import HttpError

from google_emulator.calendar_api import parse_quick_add

from .helpers import DOMAIN, http_error

ALICE, BOB = f"alice@{DOMAIN}", f"bob@{DOMAIN}"
MONDAY = dt.date(2026, 5, 4)


@pytest.mark.parametrize("text,expected", [
    ("Meeting at 3pm tomorrow", {"summary": "Meeting", "date": dt.date(2026, 5, 5), "start": (15, 0)}),
    ("Appointment at Somewhere on June 3rd 10am-10:25am",
     {"summary": "Appointment", "location": "Somewhere", "date": dt.date(2026, 6, 3), "start": (10, 0),
      "end": (10, 25)}),
    ("Dinner with Michael at Cafe Boulud 7pm tomorrow",
     {"summary": "Dinner with Michael", "location": "Cafe Boulud", "date": dt.date(2026, 5, 5), "start": (19, 0)}),
    ("Lunch with Bob 2026-05-04 12:30", {"summary": "Lunch with Bob", "date": MONDAY, "start": (12, 30)}),
    ("Standup 9:30am next monday for 15 min",
     {"summary": "Standup", "date": dt.date(2026, 5, 11), "start": (9, 30), "minutes": 15}),
    ("Review 10-11am friday", {"summary": "Review", "date": dt.date(2026, 5, 8), "start": (10, 0), "end": (11, 0)}),
    ("Planning 11-1pm", {"summary": "Planning", "start": (11, 0), "end": (13, 0)}),
    ("Sync from 3pm to 4:30pm on Friday",
     {"summary": "Sync", "date": dt.date(2026, 5, 8), "start": (15, 0), "end": (16, 30)}),
    ("Call at 15:00", {"summary": "Call", "start": (15, 0)}),
    ("Party tonight at 8", {"summary": "Party", "date": MONDAY, "start": (20, 0)}),
    ("Lunch at noon", {"summary": "Lunch", "start": (12, 0)}),
    ("Offsite on 3 June", {"summary": "Offsite", "date": dt.date(2026, 6, 3)}),
    ("Kickoff January 12", {"summary": "Kickoff", "date": dt.date(2027, 1, 12)}),  # past this year: next year
    ("Launch March 2, 2028 for 2 hours at 9am", {"summary": "Launch", "date": dt.date(2028, 3, 2), "start": (9, 0),
                                                 "minutes": 120}),
    ("Table for 2-3 people", {"summary": "Table for 2-3 people"}),
    ("Think", {"summary": "Think"}),
    ("Ship 2026-05-06T09:15", {"summary": "Ship", "date": dt.date(2026, 5, 6), "start": (9, 15)}),
    ("Ship 2026-05-06 3:30pm", {"summary": "Ship", "date": dt.date(2026, 5, 6), "start": (15, 30)}),
    ("Odd 2026-13-45 at 99:99", {"summary": "Odd 2026-13-45", "location": "99:99"}),  # not a date or time
    ("tomorrow", {"summary": "tomorrow", "date": dt.date(2026, 5, 5)}),
])
def test_parser(text, expected):
    assert parse_quick_add(text, MONDAY) == expected


def test_quick_add_through_the_client(world, ctl):
    svc = world.calendar()  # alice's calendar is in Europe/Paris
    ev = svc.events().quickAdd(calendarId="primary",
                               text="Appointment at Somewhere on 2026-06-03 10:00 for 25 minutes").execute()
    assert (ev["summary"], ev["location"]) == ("Appointment", "Somewhere")
    assert ev["start"] == {"dateTime": "2026-06-03T10:00:00+02:00", "timeZone": "Europe/Paris"}
    assert ev["end"] == {"dateTime": "2026-06-03T10:25:00+02:00", "timeZone": "Europe/Paris"}
    assert ev["organizer"] == {"email": ALICE, "self": True} and ev["creator"] == {"email": ALICE, "self": True}
    assert svc.events().get(calendarId="primary", eventId=ev["id"]).execute() == ev
    paris = ZoneInfo("Europe/Paris")
    now = dt.datetime.fromtimestamp(ctl.get("/clock")["now"], paris)
    three = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(15), tzinfo=paris)
    later = svc.events().quickAdd(calendarId="primary", text="Meeting at 3pm tomorrow").execute()
    assert later["summary"] == "Meeting"
    assert dt.datetime.fromisoformat(later["start"]["dateTime"]) == three
    assert dt.datetime.fromisoformat(later["end"]["dateTime"]) == three + dt.timedelta(hours=1)
    all_day = svc.events().quickAdd(calendarId="primary", text="Offsite 2026-06-10").execute()
    assert all_day["start"] == {"date": "2026-06-10"} and all_day["end"] == {"date": "2026-06-11"}
    # the subject's default event length applies when the text gives no end
    ctl.patch(f"/users/{ALICE}", {"settings": {"defaultEventLength": "30"}})
    short = svc.events().quickAdd(calendarId="primary", text="Chat 2026-06-11 09:00").execute()
    assert short["end"]["dateTime"] == "2026-06-11T09:30:00+02:00"
    assert world.calendar().settings().get(setting="defaultEventLength").execute()["value"] == "30"
    ctl.patch(f"/users/{ALICE}", {"settings": {"defaultEventLength": 30}}, expect=400)
    with pytest.raises(HttpError) as info:
        svc.events().quickAdd(calendarId="primary", text="").execute()
    assert info.value.resp.status == 400


def test_quick_add_needs_writer_access(world, ctl):
    bob = world.calendar(subject=BOB)
    with pytest.raises(HttpError) as info:
        bob.events().quickAdd(calendarId=ALICE, text="Sneak in 2026-05-04 10:00").execute()
    assert info.value.resp.status == 404
    ctl.post(f"/calendars/{ALICE}/acl", {"scope": {"type": "user", "value": BOB}, "role": "reader"})
    with pytest.raises(HttpError) as info:
        bob.events().quickAdd(calendarId=ALICE, text="Sneak in 2026-05-04 10:00").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (403, "You need to have writer access to this calendar.",
                                                 "requiredAccessLevel")
    ctl.post(f"/calendars/{ALICE}/acl", {"scope": {"type": "user", "value": BOB}, "role": "writer"})
    ev = bob.events().quickAdd(calendarId=ALICE, text="Invited 2026-05-04 10:00").execute()
    assert ev["organizer"] == {"email": ALICE, "self": True} and ev["creator"] == {"email": BOB}
