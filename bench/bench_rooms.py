"""Room displays: 200 rooms, one display each, polling their document every 5 s with If-None-Match.

Run: ``.venv/bin/python -m bench.bench_rooms``. Standalone: a temporary SQLite file DB, production settings
(DEBUG off) except a non-manifest static storage. Prints figures, asserts nothing.

1. One simulated minute in-process (Django test ``Client``): every display polls 12 times; meanwhile a share of
   the rooms change (a booking, a sync, a free/busy answer: ``BENCH_ROOM_CHANGES`` per minute), so the 304
   ratio is the steady state's, not an idle one. Prints the server CPU per display per minute (this thread's
   CPU time, so other processes on a shared machine do not inflate it), the 304 ratio, the medians of a 200
   and a 304 and their SQL queries, next to a bare-request baseline.
2. The Google calls per room per day, from the same model as for people: pushes and the safety poll for the
   sync, plus the rooms' own free/busy (one answer per change, and the backstop every 15 minutes).

Knobs: ``BENCH_ROOMS`` (200), ``BENCH_ROOM_MEETINGS`` (8 per room today), ``BENCH_ROOM_CHANGES`` (20 rooms a
minute), ``BENCH_POLL_SECONDS`` (5).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import bench_environment

TMP = Path(tempfile.mkdtemp(prefix="bench_rooms_"))
ROOMS = int(os.environ.get("BENCH_ROOMS", "200"))
MEETINGS = int(os.environ.get("BENCH_ROOM_MEETINGS", "8"))
CHANGES = int(os.environ.get("BENCH_ROOM_CHANGES", "20"))
POLL_SECONDS = int(os.environ.get("BENCH_POLL_SECONDS", "5"))
ROOT = Path(__file__).resolve().parent.parent


def setup_env():
    (TMP / "bench_rooms_settings.py").write_text(
        "from controlhub.settings import *  # noqa: F401,F403\n"
        "STORAGES = {'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},\n"
        "            'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    sys.path.insert(0, str(TMP))
    os.environ.update(bench_environment(
        TMP, DJANGO_SETTINGS_MODULE="bench_rooms_settings",
        PYTHONPATH=os.pathsep.join([str(TMP), str(ROOT), os.environ.get("PYTHONPATH", "")])))


def seed():
    from datetime import timedelta

    from django.utils import timezone

    from calendar_sync.sync.meeting_fields import cipher_for_writes, encrypt_fields
    from calendar_sync.sync.models import CalendarSource, Meeting
    from calendar_sync.workspaces import displays
    from calendar_sync.workspaces.models import Room, RoomEvent, WorkspaceSettings
    from controlhub.tenancy.orgs import organization_create

    org, _admin, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="pw-bench-1!")
    WorkspaceSettings.objects.create(organization=org, enabled=True, scheduling_account="rooms@bench.test")
    cipher = cipher_for_writes(org)
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    raws, rows, extras = [], [], []
    for r in range(ROOMS):
        email = f"room{r:04d}@resource.calendar.google.com"
        source = CalendarSource.objects.create(organization=org, kind=CalendarSource.Kind.ROOM, calendar_id=email,
                                               subject="rooms@bench.test", name=f"Room {r}",
                                               last_synced_at=now)
        room = Room.objects.create(organization=org, email=email, name=f"Room {r}", building="HQ",
                                   floor=str(r % 10), capacity=4 + r % 12, state=Room.State.ACTIVE, source=source,
                                   freebusy_checked_at=now, freebusy_busy=[])
        attendees = [{"email": "ana@bench.test", "name": "Ana", "response_status": "accepted", "organizer": True,
                      "resource": False, "self": False},
                     {"email": email, "name": f"Room {r}", "response_status": "accepted", "organizer": False,
                      "resource": True, "self": True}]
        for i in range(MEETINGS):
            start = day + timedelta(hours=8 + i, minutes=(r % 4) * 15)
            eid = f"r{r}m{i}"
            values = {"title": f"Meeting {i}", "description": "", "location": f"Room {r}",
                      "attendees": attendees, "organizer_email": "ana@bench.test", "organizer_name": "Ana",
                      "join_url": f"https://bench.webex.com/meet/{r}-{i}"}
            rows.append(Meeting(organization=org, source=source, google_event_id=eid, start=start,
                                end=start + timedelta(minutes=45), attendee_count=2, join_provider="webex",
                                key_version=cipher.key_version, etag=f'"{eid}"',
                                **encrypt_fields(cipher, source_id=source.pk, google_event_id=eid, values=values)))
            extras.append(RoomEvent(room=room, google_event_id=eid, etag=f'"{eid}"'))
        raws.append((room.pk, displays.display_create(room=room, name="door")[1]))
    Meeting.objects.bulk_create(rows, batch_size=500)
    RoomEvent.objects.bulk_create(extras, batch_size=500)
    return raws


def minute_of_polls(raws):
    from django.db import connection
    from django.db.models import F
    from django.test import Client
    from django.urls import reverse

    from calendar_sync.workspaces.models import Room

    client = Client()
    urls = [(pk, reverse("room_display_state", args=[raw])) for pk, raw in raws]
    etags = {}
    for _pk, url in urls:  # every display has its document already (it loaded the page)
        etags[url] = client.get(url)["ETag"]
    polls = 60 // POLL_SECONDS
    changed_per_round = max(1, CHANGES // polls) if CHANGES else 0
    statuses = {200: [], 304: []}
    queries = {200: [], 304: []}
    cpu_total = 0.0
    wall0 = time.perf_counter()
    for round_no in range(polls):
        if changed_per_round:  # these rooms changed since the last round (a booking, a sync, free/busy)
            start = (round_no * changed_per_round) % len(urls)
            ids = [pk for pk, _url in urls[start:start + changed_per_round]]
            Room.objects.filter(pk__in=ids).update(display_version=F("display_version") + 1)
        for _pk, url in urls:
            count = [0]

            def counter(execute, sql, params, many, context, count=count):
                count[0] += 1
                return execute(sql, params, many, context)

            c0 = time.thread_time()
            with connection.execute_wrapper(counter):
                response = client.get(url, HTTP_IF_NONE_MATCH=etags[url])
            spent = time.thread_time() - c0
            cpu_total += spent
            statuses[response.status_code].append(spent * 1000)
            queries[response.status_code].append(count[0])
            etags[url] = response["ETag"]
    wall = time.perf_counter() - wall0
    baseline = []
    for _ in range(200):
        c0 = time.thread_time()
        client.get("/healthz")
        baseline.append((time.thread_time() - c0) * 1000)
    total = sum(len(v) for v in statuses.values())
    print(f"{len(urls)} displays, {polls} polls each in one simulated minute, {CHANGES} room changes a minute, "
          f"{MEETINGS} meetings per room today ({wall:.1f} s of wall time for the minute's {total} polls)")
    print(f"  server CPU per display per minute: {cpu_total / len(urls) * 1000:.2f} ms "
          f"({cpu_total:.2f} s for all displays; one core serves ~{60 / max(cpu_total, 1e-9):.0f}x this load)")
    print(f"  304 ratio: {len(statuses[304]) / total:.1%} ({len(statuses[304])} of {total})")
    for code in (304, 200):
        if statuses[code]:
            print(f"  {code}: median CPU {statistics.median(statuses[code]):.2f} ms, "
                  f"{statistics.median(queries[code]):.0f} SQL queries")
    print(f"  baseline /healthz: median CPU {statistics.median(baseline):.2f} ms")


def google_calls_model():
    """Google calls per room per day: the sync's model for people (a push, then one incremental events.list;
    the safety poll; channel renewals), plus the room's own freeBusy (one per change, the backstop)."""
    from calendar_sync.workspaces.freebusy import FREEBUSY_BACKSTOP

    changes_per_day = 20  # meetings booked, moved, released in one room in one working day
    safety_poll_minutes = int(os.environ.get("SYNC_SAFETY_POLL_MINUTES", "30"))
    sync = changes_per_day + 24 * 60 // safety_poll_minutes + 1  # + one channel renewal a day
    freebusy_changes = changes_per_day
    backstop = 24 * 60 // int(FREEBUSY_BACKSTOP.total_seconds() // 60)
    # The backstop only asks rooms not refreshed for 15 minutes: a change resets the clock, so at most:
    print("Google calls per room per day (model, 20 changes a day):")
    print(f"  sync (as for a person): {sync} (events.list per push + safety poll every {safety_poll_minutes} min"
          " + channel renewal)")
    print(f"  freeBusy: {freebusy_changes} after changes + at most {backstop} backstop = "
          f"{freebusy_changes + backstop}")
    print(f"  total at most {sync + freebusy_changes + backstop} per room, "
          f"{(sync + freebusy_changes + backstop) * ROOMS} for {ROOMS} rooms")


def main():
    setup_env()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    raws = seed()
    minute_of_polls(raws)
    google_calls_model()


if __name__ == "__main__":
    main()
