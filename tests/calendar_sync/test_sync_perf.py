"""The fast paths of the sync engine store and find exactly what the slow, obvious ones did."""

import datetime as dt
import threading

import pytest
from django.db import connection

from calendar_sync.google.gateway import Gateway, RetryPolicy
from calendar_sync.google.keys import parse_service_account_key
from calendar_sync.sync import engine as sync
from calendar_sync.sync.event_time import calendar_zone
from calendar_sync.sync.joinlinks import extract_links
from calendar_sync.sync.meeting_fields import cipher_for_writes, decrypt_fields
from calendar_sync.sync.models import Meeting
from controlhub.people.models import Person
from tests.calendar_sync.test_meetings_support import linked_source

pytestmark = pytest.mark.django_db

PARIS = "Europe/Paris"


def _source(org, email):
    person = Person.objects.create(organization=org, email=email, calendar_state=Person.CalendarState.ACTIVATED)
    return linked_source(person, organization=org, calendar_id=email)


def _events():
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    timed = now + dt.timedelta(hours=5, microseconds=123456)
    return [
        {   # timed, with microseconds, an offset, an original start, attendees, a webex room, non-ASCII text
            "id": "timed_1", "etag": '"1"', "status": "confirmed", "iCalUID": "u1@google.com",
            "recurringEventId": "series", "summary": "Réunion — budget 📈", "description": "Agenda: numbers",
            "location": "https://acme.webex.com/meet/ana", "updated": "2025-03-04T05:06:07.891Z",
            "start": {"dateTime": timed.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat(),
                      "timeZone": PARIS},
            "end": {"dateTime": (timed + dt.timedelta(minutes=30)).isoformat()},
            "originalStartTime": {"dateTime": timed.isoformat()},
            "organizer": {"email": "Ana@Acme.test", "displayName": "Ana", "self": True},
            "attendees": [{"email": "bo@acme.test", "displayName": "Bø", "responseStatus": "accepted"},
                          {"email": "room@acme.test", "resource": True}],
        },
        {   # all day, in the calendar's zone, no text at all
            "id": "allday_2", "etag": '"2"', "transparency": "transparent",
            "start": {"date": (now + dt.timedelta(days=1)).date().isoformat()},
            "end": {"date": (now + dt.timedelta(days=2)).date().isoformat()},
        },
        {   # whole seconds (SQLite text without a fraction), a dial-in only
            "id": "tel_3", "etag": '"3"', "summary": "Call", "eventType": "focusTime",
            "description": "Dial tel:+15551234567", "updated": "2025-03-04T05:06:07Z",
            "start": {"dateTime": (now + dt.timedelta(days=3)).isoformat()},
            "end": {"dateTime": (now + dt.timedelta(days=3, hours=1)).isoformat()},
        },
    ]


def _stored(source):
    """Every column as the database holds it (not as the ORM converts it), encrypted columns left out."""
    names = [f.column for f in Meeting._meta.concrete_fields
             if f.column not in ("id", "source_id") and not f.column.endswith("_enc")]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(qn(n) for n in names)} FROM {qn(Meeting._meta.db_table)} "
                       f"WHERE {qn('source_id')} = %s ORDER BY {qn('google_event_id')}", [source.pk])
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _apply(source, events, zone=PARIS):
    outcome = sync.SyncOutcome()
    sync._apply_page(source=source, items=events, zone=calendar_zone(zone),
                     cipher=cipher_for_writes(source.organization), window=sync.sync_window(),
                     outcome=outcome)
    return outcome


def test_raw_upsert_stores_what_bulk_create_stored(org):
    fast, orm = _source(org, "ana@acme.test"), _source(org, "bo@acme.test")
    events = _events()
    _apply(fast, events)
    cipher = cipher_for_writes(org)
    synced_at = Meeting.objects.filter(source=fast).first().synced_at
    Meeting.objects.bulk_create(
        [sync.meeting_from_event(source=orm, event=e, cipher=cipher, zone=calendar_zone(PARIS),
                                 synced_at=synced_at) for e in events],
        update_conflicts=True, unique_fields=["source", "google_event_id"], update_fields=sync.UPDATE_FIELDS,
    )
    assert _stored(fast) == _stored(orm)
    for fast_row in Meeting.objects.filter(source=fast):
        orm_row = Meeting.objects.get(source=orm, google_event_id=fast_row.google_event_id)
        for field in Meeting._meta.concrete_fields:
            if field.attname not in ("id", "source_id") and not field.attname.endswith("_enc"):
                assert getattr(fast_row, field.attname) == getattr(orm_row, field.attname), field.attname
        assert decrypt_fields(org, fast_row) == decrypt_fields(org, orm_row)


def test_raw_upsert_reads_back_through_the_orm(org):
    sub = _source(org, "ana@acme.test")
    outcome = _apply(sub, _events())
    assert outcome.upserted == 3
    timed = Meeting.objects.get(source=sub, google_event_id="timed_1")
    assert timed.start.tzinfo is not None and timed.start.microsecond == 123456
    assert timed.end - timed.start == dt.timedelta(minutes=30)
    assert timed.google_updated == dt.datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)
    assert timed.original_start == timed.start
    assert timed.is_organizer and not timed.all_day and timed.attendee_count == 2
    assert timed.join_provider == "webex" and timed.time_zone == PARIS and timed.recurring_event_id == "series"
    assert timed.organizer_email_index == cipher_for_writes(org).blind_index("ana@acme.test")
    assert isinstance(bytes(timed.title_enc), bytes)
    values = decrypt_fields(org, timed)
    assert values["title"] == "Réunion — budget 📈"
    assert values["attendees"][0] == {"email": "bo@acme.test", "name": "Bø", "response_status": "accepted",
                                      "organizer": False, "resource": False, "self": False}
    assert values["join_url"] == "https://acme.webex.com/meet/ana"
    all_day = Meeting.objects.get(source=sub, google_event_id="allday_2")
    assert all_day.all_day and isinstance(all_day.start_date, dt.date) and all_day.transparency == "transparent"
    assert all_day.start == dt.datetime.combine(all_day.start_date, dt.time(), tzinfo=calendar_zone(PARIS))
    assert decrypt_fields(org, all_day)["title"] is None and all_day.title_enc is None
    tel = Meeting.objects.get(source=sub, google_event_id="tel_3")
    assert tel.join_provider == "tel" and tel.event_type == "focusTime" and tel.start.second == 0


def test_raw_upsert_updates_in_place_and_skips_unchanged_etags(org):
    sub = _source(org, "ana@acme.test")
    events = _events()
    _apply(sub, events)
    pks = dict(Meeting.objects.filter(source=sub).values_list("google_event_id", "pk"))
    events[0] = {**events[0], "etag": '"9"', "summary": "Renamed", "location": "Room 4"}
    outcome = _apply(sub, events)
    assert (outcome.upserted, outcome.skipped) == (1, 2)
    assert dict(Meeting.objects.filter(source=sub).values_list("google_event_id", "pk")) == pks
    row = Meeting.objects.get(source=sub, google_event_id="timed_1")
    assert row.etag == '"9"' and row.join_provider == ""
    assert decrypt_fields(org, row, ("title", "join_url")) == {"title": "Renamed", "join_url": None}


def test_a_page_larger_than_one_statement_is_upserted_in_chunks(org):
    sub = _source(org, "ana@acme.test")
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    events = [{"id": f"e{i:03d}", "etag": f'"{i}"', "summary": f"Meeting {i}",
               "start": {"dateTime": (start + dt.timedelta(minutes=i)).isoformat()},
               "end": {"dateTime": (start + dt.timedelta(minutes=i + 30)).isoformat()}} for i in range(150)]
    if connection.vendor == "sqlite":  # its variable limit lowered (32,766 by default): 30 rows a statement
        import sqlite3

        connection.ensure_connection()
        kept = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 30 * len(sync.ROW_FIELDS) + 7)
        try:
            assert _apply(sub, events).upserted == 150
        finally:
            connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, kept)
    else:  # one statement whatever the rows (unnest)
        assert _apply(sub, events).upserted == 150
    assert Meeting.objects.filter(source=sub).count() == 150
    assert sorted(decrypt_fields(org, m, ("title",))["title"] for m in Meeting.objects.filter(source=sub)) == \
        sorted(f"Meeting {i}" for i in range(150))


def test_gateway_builds_each_sub_resource_once_per_thread(google):
    gw = Gateway(parse_service_account_key(google.key), endpoint=google.base_url, timeout=5,
                 retry=RetryPolicy(max_attempts=1))
    events = gw.calendar().events()
    assert gw.calendar().events() is events
    assert gw.calendar().settings() is gw.calendar().settings()
    assert gw.gmail().users().settings() is gw.gmail().users().settings()
    other = []
    thread = threading.Thread(target=lambda: other.append(gw.calendar().events()))
    thread.start()
    thread.join()
    assert other[0] is not events
    assert events.list(calendarId="primary").uri.startswith(google.base_url)


@pytest.mark.parametrize("text", [
    "Agenda: numbers", "Room 4, 2nd floor", "Bring the slides\nand the budget", "ſip:ana@acme.webex.com",
    "zoom&#46;us/j/1234567890", "HTTPS://ZOOM.US/j/1234567890", "ana@acme.webex.com", "TEL:+1555",
    "acme.webex.com/meet/ana", "<p>Join: <a href='https://meet.google.com/abc-defg-hij'>here</a></p>",
])
def test_link_prefilter_never_hides_a_candidate(text):
    from calendar_sync.sync import joinlinks

    expected = []
    plain = joinlinks._to_text(text)
    for match in joinlinks._CANDIDATE.finditer(plain):
        expected.append(match.group(0))
    found = extract_links(text)
    if expected:
        assert joinlinks._MAY_LINK.search(text)
    else:
        assert found == []
