"""Free/busy, bookings and releases of a room against the emulated Google: declined and overlapping events, book
now and its race between two displays, extend, end early, check-in, and the release written to Google."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from calendar_sync.sync.models import Meeting
from calendar_sync.sync.sources import source_run
from calendar_sync.workspaces import booking
from calendar_sync.workspaces import selectors as sel
from calendar_sync.workspaces.booking import RoomActionRefused
from calendar_sync.workspaces.models import Room, RoomEvent
from tests.calendar_sync.conftest import event_at, iso
from tests.calendar_sync.workspaces.conftest import ROOM_A
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def invite(google, organizer, title, start, minutes=60, **extra):
    """``organizer`` books Room A (the emulated room answers: accepted, or declined on a conflict)."""
    body = event_at(title, start, minutes, attendees=[{"email": organizer}, {"email": ROOM_A, "resource": True}],
                    **extra)
    return google.create_event(organizer, body)


def room_answer(google, organizer, event_id):
    event = google.call("GET", f"/_emulator/users/{organizer}/events/{event_id}")
    return next(a for a in event["attendees"] if a["email"] == ROOM_A)


def synced(room):
    """Sync the room's mirror to now: a run of ours (a push-triggered run in the live server may hold the lease,
    then ours only marks the source dirty and that run loops): until a run of ours had the lease."""
    def ran():
        return source_run(source_id=room.source_id) is not None

    wait_until(ran, timeout=20, message="a sync run of the room")
    room.refresh_from_db()
    return room


def tomorrow(hour, minute=0):
    day = (timezone.now() + dt.timedelta(days=1)).date()
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def spans_of(room, start, end):
    meetings = sel.room_meetings(room, start=start, end=end)
    return [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in sel.busy_spans(room, meetings)
            if s < end and e > start]


def test_free_busy_with_declined_and_overlapping_events(active_room, rooms_google):
    planning = invite(rooms_google, "ana@acme.test", "Planning", tomorrow(10))
    clash = invite(rooms_google, "bo@acme.test", "Clash", tomorrow(10, 30))
    assert room_answer(rooms_google, "ana@acme.test", planning["id"])["responseStatus"] == "accepted"
    assert room_answer(rooms_google, "bo@acme.test", clash["id"])["responseStatus"] == "declined"
    invite(rooms_google, "ana@acme.test", "Overlap one", tomorrow(13))
    rooms_google.create_event(ROOM_A, event_at("Overlap two", tomorrow(13, 30), 90))  # written on the room
    room = synced(active_room)
    booking.room_freebusy_refresh(room_id=room.pk)
    room.refresh_from_db()
    # Google's free/busy: the declined clash is not busy; the overlapping ones merge.
    assert not room.freebusy_error
    assert [(s[11:16], e[11:16]) for s, e in room.freebusy_busy] == [("10:00", "11:00"), ("13:00", "15:00")]
    day = (tomorrow(0), tomorrow(23, 59))
    assert spans_of(room, *day) == [("10:00", "11:00"), ("13:00", "15:00")]
    titles = {m.title: m for m in sel.room_meetings(room, start=day[0], end=day[1])}
    assert not titles["Clash"].is_booking(room) and titles["Planning"].is_booking(room)

    # Without honouring Google's acceptance, the declined clash books the room too.
    Room.objects.filter(pk=room.pk).update(honour_acceptance=False)
    room.refresh_from_db()
    assert spans_of(room, *day) == [("10:00", "11:30"), ("13:00", "15:00")]


def test_free_busy_error_is_never_free(active_room, rooms_google):
    rooms_google.freebusy_error(ROOM_A, "notFound")
    booking.room_freebusy_refresh(room_id=active_room.pk)
    room = Room.objects.get(pk=active_room.pk)
    payload = sel.display_payload(room=room)
    assert room.freebusy_error == "notFound"
    assert payload["freebusy"]["ok"] is False and payload["freebusy"]["error"] == "notFound"
    with pytest.raises(RoomActionRefused) as refused:
        booking.book_now(room=room, minutes=30)
    assert refused.value.code == "freebusy_unavailable"
    assert not [e for e in rooms_google.events(ROOM_A)["items"] if e.get("status") != "cancelled"]


def test_book_now_extend_and_end_early(active_room, rooms_google):
    now = timezone.now()
    event = booking.book_now(room=active_room, minutes=30, now=now)
    stored = rooms_google.call("GET", f"/_emulator/users/{ROOM_A}/events/{event['id']}")
    room_attendee = next(a for a in stored["attendees"] if a["email"] == ROOM_A)
    assert room_attendee["responseStatus"] == "accepted" and stored["organizer"]["email"] == ROOM_A
    wait_until(lambda: Meeting.objects.filter(source_id=active_room.source_id, google_event_id=event["id"]).exists(),
               message="the booking in the mirror")
    row = RoomEvent.objects.get(room=active_room, google_event_id=event["id"])
    assert row.booked_from_display and row.checked_in_at is not None  # booked here: checked in
    room = Room.objects.get(pk=active_room.pk)
    payload = sel.display_payload(room=room)
    assert payload["meetings"][0]["checked_in"] and not payload["meetings"][0]["needs_checkin"]
    assert sel.busy_at(sel.busy_spans(room, sel.room_meetings(room, start=now, end=now + dt.timedelta(hours=1))),
                       now) is not None

    # A second booking of the same slot is a conflict, not a double booking.
    with pytest.raises(RoomActionRefused) as refused:
        booking.book_now(room=room, minutes=15, now=now)
    assert refused.value.code == "conflict"

    booking.extend(room=room, event_id=event["id"], now=now)
    stored = rooms_google.call("GET", f"/_emulator/users/{ROOM_A}/events/{event['id']}")
    start = dt.datetime.fromisoformat(stored["start"]["dateTime"])
    end = dt.datetime.fromisoformat(stored["end"]["dateTime"])
    assert end - start == dt.timedelta(minutes=45)

    synced(room)
    later = start + dt.timedelta(minutes=5)
    booking.end_early(room=room, event_id=event["id"], now=later)
    stored = rooms_google.call("GET", f"/_emulator/users/{ROOM_A}/events/{event['id']}")
    assert dt.datetime.fromisoformat(stored["end"]["dateTime"]) == later.replace(microsecond=0) or \
        abs(dt.datetime.fromisoformat(stored["end"]["dateTime"]) - later) < dt.timedelta(seconds=1)


def test_two_displays_booking_the_same_slot_one_wins_one_sees_a_conflict(active_room, rooms_google):
    barrier = threading.Barrier(2)
    results = []

    def press():
        try:
            barrier.wait(timeout=10)
            booking.book_now(room=Room.objects.get(pk=active_room.pk), minutes=30)
            results.append("booked")
        except RoomActionRefused as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["booked", "conflict"]
    now = timezone.now()
    live = rooms_google.expanded(ROOM_A, iso(now - dt.timedelta(minutes=5)), iso(now + dt.timedelta(hours=1)))
    assert len(live["items"]) == 1


def test_no_show_released_by_the_room_declining_in_google(active_room, rooms_google):
    Room.objects.filter(pk=active_room.pk).update(checkin_required=True, release_minutes=10)
    started = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=11)
    ghost = invite(rooms_google, "ana@acme.test", "Ghost meeting", started)
    kept = invite(rooms_google, "bo@acme.test", "Kept meeting", started + dt.timedelta(minutes=60), 30)
    room = synced(Room.objects.get(pk=active_room.pk))
    assert booking.rooms_release_due() == 1
    answer = room_answer(rooms_google, "ana@acme.test", ghost["id"])
    assert answer["responseStatus"] == "declined"  # the organizer sees the room decline
    mine = room_answer(rooms_google, ROOM_A, ghost["id"])
    assert mine["responseStatus"] == "declined"
    assert room_answer(rooms_google, "bo@acme.test", kept["id"])["responseStatus"] == "accepted"
    room = synced(Room.objects.get(pk=room.pk))
    payload = sel.display_payload(room=room)
    ghost_json = next(m for m in payload["meetings"] if m["id"] == ghost["id"])
    assert ghost_json["declined"] and not ghost_json["booking"] and not ghost_json["join_url"]
    assert booking.rooms_release_due() == 0  # released once


def test_check_in_keeps_the_meeting(active_room, rooms_google):
    Room.objects.filter(pk=active_room.pk).update(checkin_required=True, release_minutes=10)
    started = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    meeting = invite(rooms_google, "ana@acme.test", "Weekly", started)
    room = synced(Room.objects.get(pk=active_room.pk))
    payload = sel.display_payload(room=room)
    assert payload["meetings"][0]["needs_checkin"] and payload["meetings"][0]["release_at"]
    booking.check_in(room=room, event_id=meeting["id"])
    assert booking.rooms_release_due(now=started + dt.timedelta(minutes=15)) == 0
    assert room_answer(rooms_google, "ana@acme.test", meeting["id"])["responseStatus"] == "accepted"


def test_private_events_always_show_private_and_titles_follow_the_policy(active_room, rooms_google):
    invite(rooms_google, "ana@acme.test", "Secret merger", tomorrow(9), visibility="private")
    invite(rooms_google, "bo@acme.test", "Budget review", tomorrow(11))
    room = synced(Room.objects.get(pk=active_room.pk))
    day = (tomorrow(0), tomorrow(23, 59))
    shown = [sel.meeting_json(room, m, timezone.now())["title"] for m in sel.room_meetings(room, start=day[0],
                                                                                          end=day[1])]
    assert shown == ["Private", "Budget review"]
    Room.objects.filter(pk=room.pk).update(show_titles=False)
    room.refresh_from_db()
    shown = [sel.meeting_json(room, m, timezone.now())["title"] for m in sel.room_meetings(room, start=day[0],
                                                                                          end=day[1])]
    assert shown == ["Private", "Booked"]
