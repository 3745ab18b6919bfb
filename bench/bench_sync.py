"""Sync engine figures: full-sync throughput vs the I/O limit, change-to-visible latency, Google calls per day.

Run: ``.venv/bin/python -m bench.bench_sync``. Standalone: a temp SQLite file DB (or ``DATABASE_URL``/``REDIS_URL``
when set). Prints figures, asserts nothing.

The emulator is seeded in-process, then (by default) served from its own process (``python -m google_emulator``
with the seeded state): the baseline is then what it claims to be, the cost of fetching the pages with our
client, without Google's own CPU competing with ours for this process's GIL. ``BENCH_EMULATOR=inprocess`` keeps
it in this process (its CPU then counts in both runs).

Figures:
- full sync, sequential, emulator answering at once: users/s and events/s of the sync and of a baseline that
  fetches the same pages with the same gateway and discards them. This compares CPU with CPU (the emulator answers
  a page in about a millisecond), so it shows what the sync costs beyond fetching; and a floor: the same pages
  fetched and stored as bare rows (no parsing, no encryption, one statement and one commit a page), the ratio no
  sync that stores what it fetched can beat on the machine;
- the same with Google-like latency (``BENCH_GOOGLE_DELAY_MS``, 100 ms per events.list, injected as an emulator
  fault) and ``BENCH_THREADS`` (8) threads in both runs, for ``BENCH_DELAY_USERS`` (50) users: with real Google the
  page fetch dominates and this is the ratio that predicts production;
- Google calls per simulated day; change-to-visible latency through the real web server and qcluster(s).

Environment knobs: ``BENCH_SYNC_USERS`` (500), ``BENCH_SYNC_EVENTS`` (60), ``BENCH_LATENCY_SECONDS`` (60; the
change rate is 20/s), ``BENCH_QCLUSTERS`` (1 on SQLite, 2 with Redis), ``BENCH_SKIP_LATENCY=1``,
``BENCH_EMULATOR`` (subprocess | inprocess), ``BENCH_THREADS``, ``BENCH_DELAY_USERS``, ``BENCH_GOOGLE_DELAY_MS``,
``BENCH_PROFILE=1`` (cProfile of the sequential sync; ``BENCH_PROFILE_SORT``, ``BENCH_PROFILE_LINES``),
``BENCH_SQL=1`` (the statements of one user's full sync, with their times).
"""

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import bench_environment, free_port

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="bench_sync_"))
USERS = int(os.environ.get("BENCH_SYNC_USERS", "500"))
EVENTS = int(os.environ.get("BENCH_SYNC_EVENTS", "60"))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "60"))
RATE = 20.0
EMULATOR_MODE = os.environ.get("BENCH_EMULATOR", "subprocess")
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
DELAY_USERS = int(os.environ.get("BENCH_DELAY_USERS", "50"))
GOOGLE_DELAY_MS = int(os.environ.get("BENCH_GOOGLE_DELAY_MS", "100"))


def setup_env(emulator_url, key_file, web_port):
    env = bench_environment(
        TMP, PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}", GOOGLE_API_ENDPOINT=emulator_url,
        GOOGLE_SERVICE_ACCOUNT_FILE=str(key_file), Q_WORKERS=os.environ.get("Q_WORKERS", "4"))
    env.pop("Q_SYNC")  # the settings default (queued) applies; workers are real processes here
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    os.environ.update(env)
    return env


def seed_events(emu, emails):
    """Write events straight into the in-process emulator's state (seeding is not what is measured)."""
    from google_emulator import calendar_api

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with emu.state.lock:
        for email in emails:
            cal = emu.state.calendars[email]
            for i in range(EVENTS):
                start = now + dt.timedelta(hours=3 * i - 100)
                body = {"summary": f"Meeting {i} of {email}", "description": "Agenda: numbers",
                        "location": "https://acme.webex.com/meet/room", "attendees": [
                            {"email": "a@bench.test"}, {"email": "b@bench.test"}],
                        "start": {"dateTime": start.isoformat()},
                        "end": {"dateTime": (start + dt.timedelta(minutes=30)).isoformat()}}
                calendar_api.insert_event(emu.state, cal, body, email)


def _in_threads(n_threads, items, work):
    """Run ``work(item)`` for every item on ``n_threads`` threads (1: this thread); each thread closes its DB
    connections when it ends."""
    from django.db import connections

    if n_threads <= 1:
        for item in items:
            work(item)
        return
    pending = list(reversed(items))
    lock = threading.Lock()
    failures = []

    def run():
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    item = pending.pop()
                work(item)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def _fetch_all(gateway, persons, n_threads):
    """The baseline: the pages the sync fetches, with the same gateway, discarded. Returns the event count."""
    from calendar_sync.sync.engine import PAGE_SIZE, sync_window

    start, end = sync_window()
    params = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "singleEvents": True,
              "maxResults": PAGE_SIZE}
    counts = []

    def fetch(p):
        token, n = None, 0
        while True:
            page = gateway.events_list(p.email, p.email, pageToken=token, **params)
            n += len(page.get("items", []))
            token = page.get("nextPageToken")
            if not token:
                break
        counts.append(n)

    _in_threads(n_threads, persons, fetch)
    return sum(counts)


def _sync_all(gateway, subs, n_threads):
    from calendar_sync.sync.engine import calendar_sync_once
    from calendar_sync.sync.sources import source_for_run

    def sync(sub_pk):
        calendar_sync_once(source=source_for_run(sub_pk), gateway=gateway)  # the source as a worker's run reads it

    _in_threads(n_threads, [s.pk for s in subs], sync)


def _report(label, n_users, baseline, n_events, elapsed, rows, target):
    print(f"  baseline (fetch pages, discard): {baseline:.2f}s  {n_users / baseline:.1f} users/s  "
          f"{n_events / baseline:.0f} events/s")
    print(f"  sync (fetch, encrypt, bulk upsert): {elapsed:.2f}s  {n_users / elapsed:.1f} users/s  "
          f"{rows / elapsed:.0f} events/s")
    print(f"  ratio sync/baseline throughput{label}: {baseline / elapsed:.2f} (target >= {target})")


def bench_full_sync(emu, control, org, persons):
    import cProfile
    import pstats

    from calendar_sync.sync.models import Meeting
    from controlhub.people.calendar import person_calendar_source
    from controlhub.tenancy.google_connection import org_gateway

    gateway = org_gateway(org)
    for p in persons:  # mint every delegated token first: both runs then pay for the same requests only
        gateway.fetch_token(p.email, ["https://www.googleapis.com/auth/calendar"])
    # One untimed pass first: the emulator encodes an event's JSON once and reuses it, so the first pass over a
    # calendar costs it about twice the next (2.0 against 0.9 ms a user here), and the sync's fetch is never
    # the first. Both timed runs then meet the same warm emulator.
    t0 = time.perf_counter()
    _fetch_all(gateway, persons, 1)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_events = _fetch_all(gateway, persons, 1)
    baseline = time.perf_counter() - t0
    subs = [person_calendar_source(person=p) for p in persons]
    if os.environ.get("BENCH_SQL"):  # the statements of one user's full sync, then that user again with the rest
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            _sync_all(gateway, subs[:1], 1)
        for q in captured.captured_queries:
            print(f"  sql {q['time']}s {q['sql'][:160]}")
        Meeting.objects.all().delete()
        type(subs[0]).objects.filter(pk=subs[0].pk).update(sync_token="", window_start=None, window_end=None)
    prof = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    _sync_all(gateway, subs, 1)
    elapsed = time.perf_counter() - t0
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(
            int(os.environ.get("BENCH_PROFILE_LINES", "25")))
    rows = Meeting.objects.count()
    print(f"full sync, sequential, no Google latency (emulator {EMULATOR_MODE}): {len(persons)} users x {EVENTS} "
          f"events = {rows} meetings written")
    print(f"  (an untimed first pass over the emulator took {cold:.2f}s: the baseline is the second)")
    _report(" (CPU vs CPU)", len(persons), baseline, n_events, elapsed, rows, 0.5)
    floor = _floor_sync(gateway, persons)
    print(f"  floor (fetch, then each page's events as bare rows: id, start, end, title as text, no parsing or "
          f"encryption; one statement and one commit a page): {floor:.2f}s, ratio {baseline / floor:.2f}: no sync "
          "that stores what it fetched does better on this machine")


def _floor_sync(gateway, persons):
    """The least a sync can do: fetch the same pages, then store each page's events in a table with the unique
    (calendar, event id) and (calendar, start) indexes of ``Meeting``, one multi-row statement and one commit a
    page. Nothing is parsed, decrypted, encrypted or compared. Returns the elapsed seconds."""
    from django.db import connection, transaction

    from calendar_sync.sync.engine import PAGE_SIZE, sync_window

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        key = "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY"
        cursor.execute(f"CREATE TABLE bench_floor (id {key}, source text NOT NULL, "
                       "event_id text NOT NULL, start_at text NOT NULL, end_at text NOT NULL, title text)")
        cursor.execute("CREATE UNIQUE INDEX bench_floor_event ON bench_floor (source, event_id)")
        cursor.execute("CREATE INDEX bench_floor_start ON bench_floor (source, start_at)")
    start, end = sync_window()
    params = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "singleEvents": True,
              "maxResults": PAGE_SIZE}
    insert = "INSERT INTO bench_floor (source, event_id, start_at, end_at, title) "
    postgresql = connection.vendor == "postgresql"
    if postgresql:  # server-side binding, as the sync's upsert (Django's cursors bind client-side)
        from psycopg import Cursor as cursor_of
    else:
        import contextlib

        def cursor_of(raw):
            return contextlib.closing(raw.cursor())
    connection.ensure_connection()
    t0 = time.perf_counter()
    for p in persons:
        token = None
        while True:
            page = gateway.events_list(p.email, p.email, pageToken=token, retry=False, **params)
            rows = [(p.email, e["id"], (e.get("start") or {}).get("dateTime", ""),
                     (e.get("end") or {}).get("dateTime", ""), e.get("summary")) for e in page.get("items") or []]
            if rows:
                with transaction.atomic(), cursor_of(connection.connection) as raw:
                    if postgresql:  # one prepared statement, one array a column: as the sync's upsert
                        raw.execute(insert + "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
                                    "%s::text[])", [list(c) for c in zip(*rows, strict=True)], prepare=True)
                    else:
                        raw.execute(insert + "VALUES " + ", ".join(["(?, ?, ?, ?, ?)"] * len(rows)),
                                    [v for row in rows for v in row])
            token = page.get("nextPageToken")
            if not token:
                break
    elapsed = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def bench_full_sync_with_latency(control, org, persons):
    """Both runs with ``THREADS`` threads while every events.list answers after ``GOOGLE_DELAY_MS``."""
    from calendar_sync.sync.models import CalendarSource, Meeting
    from controlhub.tenancy.google_connection import org_gateway

    sample = persons[:DELAY_USERS]
    subs = list(CalendarSource.objects.filter(person__in=sample))
    Meeting.objects.filter(source__in=subs).delete()  # a full sync again, every row written
    CalendarSource.objects.filter(pk__in=[s.pk for s in subs]).update(
        sync_token="", window_start=None, window_end=None)
    gateway = org_gateway(org)
    control.fault(method="GET", path_regex="/calendar/v3/calendars/.*/events", status=0,
                  delay_ms=GOOGLE_DELAY_MS, count=-1)
    try:
        t0 = time.perf_counter()
        n_events = _fetch_all(gateway, sample, THREADS)
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        _sync_all(gateway, subs, THREADS)
        elapsed = time.perf_counter() - t0
    finally:
        control.clear_faults()
    rows = Meeting.objects.filter(source__in=subs).count()
    print(f"full sync with {GOOGLE_DELAY_MS} ms Google latency per page, {THREADS} threads in both runs: "
          f"{len(sample)} users x {EVENTS} events = {rows} meetings written")
    _report(f" ({GOOGLE_DELAY_MS} ms latency)", len(sample), baseline, n_events, elapsed, rows, 0.75)


def bench_calls_per_day(control, persons):
    """A simulated day for a sample of users: 20 change bursts each (5 pushes in the same second per burst),
    the safety poll, the daily window slide.

    Time is simulated by passing ``now`` to the services; a push is the webhook's service call
    (``source_mark_changed``); the queue is a list drained in-process. Google calls are counted by the
    emulator."""
    from django.conf import settings

    from calendar_sync.sync import scheduler as sched
    from calendar_sync.sync import sources as subs_service
    from calendar_sync.sync.models import CalendarSource

    sample = persons[:20]
    ids = {p.pk: CalendarSource.objects.get(person=p).pk for p in sample}
    queue = []
    enqueue = subs_service._enqueue_sync
    subs_service._enqueue_sync = sched._enqueue_sync = queue.append
    start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    for sid in ids.values():  # channels opened and first sync done before the day starts
        subs_service.source_run(source_id=sid)
    CalendarSource.objects.exclude(pk__in=ids.values()).update(next_sync_at=None)
    CalendarSource.objects.filter(pk__in=ids.values()).update(next_sync_at=start, lease_until=None,
                                                                      queued_at=None, dirty=False)
    bursts = {p.pk: {(i * 72 + p.pk * 7) % 1440 for i in range(20)} for p in sample}
    before = control.stats()["calls_by_method"]
    notifications = 0
    for minute in range(0, 1440):
        now = start + dt.timedelta(minutes=minute)
        for p in sample:
            if minute in bursts[p.pk]:
                for _ in range(5):
                    notifications += 1
                    subs_service.source_mark_changed(source_id=ids[p.pk], now=now)
        sched.sources_claim_due(now=now)
        while queue:
            subs_service.source_run(source_id=queue.pop(), now=now)
    subs_service._enqueue_sync = sched._enqueue_sync = enqueue
    after = control.stats()["calls_by_method"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    lists = sum(v for k, v in delta.items() if k.lower().endswith("events.list"))
    total = sum(delta.values())
    period = settings.SYNC_SAFETY_POLL_MINUTES
    # Model minimum per user: one call per burst, plus one poll for every full safety-poll period without a
    # sync, plus channel renewals (watch + stop once per TTL minus renew-before: 2/6 per day by default).
    renewals = 2 * 86400 / (settings.CHANNEL_TTL_SECONDS - settings.CHANNEL_RENEW_BEFORE_SECONDS)
    polls = 0
    for p in sample:
        marks = sorted(bursts[p.pk]) + [1440 + min(bursts[p.pk])]
        polls += sum(max(0, (b - a - 1) // period) for a, b in zip(marks, marks[1:], strict=False))
    minimum = 20 + polls / len(sample) + renewals
    per_user = lists / len(sample) + renewals
    print(f"simulated day ({len(sample)} users, 20 bursts x 5 pushes each): Google calls {delta}")
    print(f"  calls per user per day: {per_user:.1f} (events.list {lists / len(sample):.1f} + renewals "
          f"{renewals:.2f} amortized); model minimum {minimum:.1f}; ratio {per_user / minimum:.3f} (target <= 1.05)")
    print(f"  Google calls per notification: {lists / notifications:.2f} (target <= 1); all calls: {total}")


def bench_latency(env, control, persons, web_port):
    from calendar_sync.sync.models import Meeting

    if os.environ.get("BENCH_SKIP_LATENCY"):
        print("latency: skipped (BENCH_SKIP_LATENCY)")
        return
    procs = []
    logs = open(TMP / "servers.log", "w")
    qclusters = int(os.environ.get("BENCH_QCLUSTERS", "2" if os.environ.get("REDIS_URL") else "1"))
    try:
        procs.append(subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{web_port}"],
                                      cwd=ROOT, env=os.environ.copy(), stdout=logs, stderr=logs))
        for _ in range(qclusters):
            procs.append(subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                                          env=os.environ.copy(), stdout=logs, stderr=logs))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=1)
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.2)
        time.sleep(3)  # qcluster workers start
        sample = persons[: min(len(persons), 100)]
        since = time.time()
        n = int(LATENCY_SECONDS * RATE)
        changed = []
        t_next = time.monotonic()
        for i in range(n):
            p = sample[i % len(sample)]
            ev = control.create_event(p.email, {
                "summary": f"Latency {i}", "start": {"dateTime": (dt.datetime.now(dt.UTC) + dt.timedelta(
                    hours=2)).isoformat()}, "end": {"dateTime": (dt.datetime.now(dt.UTC) + dt.timedelta(
                        hours=3)).isoformat()}})
            changed.append(ev["id"])
            t_next += 1 / RATE
            time.sleep(max(0.0, t_next - time.monotonic()))
        deadline = time.time() + 30
        while time.time() < deadline and Meeting.objects.filter(google_event_id__in=changed).count() < n:
            time.sleep(0.2)
        commits = {c["event_id"]: c["committed_at"] for c in control.stats_since(since)}
        rows = dict(Meeting.objects.filter(google_event_id__in=changed).values_list("google_event_id", "synced_at"))
        lat = sorted((rows[e].timestamp() - commits[e]) * 1000 for e in changed if e in rows and e in commits)
        if not lat:
            print("latency: no change became visible (see", TMP / "servers.log", ")")
            return
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        backend = "PostgreSQL + Redis" if os.environ.get("REDIS_URL") else "SQLite + ORM broker"
        print(f"change-to-visible latency ({backend}, {qclusters} qcluster(s), {n} changes at {RATE:.0f}/s over "
              f"{LATENCY_SECONDS:.0f}s): p50 {p50:.0f} ms, p99 {p99:.0f} ms; visible {len(lat)}/{n}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


class _EmulatorProcess:
    """The seeded emulator served by ``python -m google_emulator`` in its own process, on the same port."""

    def __init__(self, port, state_file):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "google_emulator", "--port", str(port), "--state", str(state_file),
             "--allow-insecure-webhooks"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the emulator process did not start")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    sys.path.insert(0, str(ROOT))
    from google_emulator.server import Emulator

    emu = Emulator(host="127.0.0.1", port=free_port(), dns_port=0, allow_insecure_webhooks=True)
    emu.start()
    from google_emulator.client import EmulatorControl

    control = EmulatorControl(emu.base_url)
    control.reset()
    key = control.service_account(project_id="bench")
    key_file = TMP / "sa.json"
    key_file.write_text(json.dumps(key))
    control.tenant("bench.test", "Bench")
    emails = [f"user{i:04d}@bench.test" for i in range(USERS)]
    for email in emails:
        control.user(email)
    control.delegate("bench.test", key["client_id"], ["https://www.googleapis.com/auth/calendar"])
    seed_events(emu, emails)
    if EMULATOR_MODE != "inprocess":
        # Same port, so the key's token_uri and every URL stay valid; the state moves with the JSON file.
        state_file = TMP / "emulator_state.json"
        emu.save(str(state_file))
        emu.stop()
        emu = _EmulatorProcess(emu.port, state_file)
    control.stats_since = lambda since: control.call("GET", f"/_emulator/stats?changes_since={since}")["changes"]
    web_port = free_port()
    env = setup_env(emu.base_url, key_file, web_port)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from controlhub.people.models import Person
    from controlhub.tenancy.orgs import organization_create

    org, _, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="x" * 20)
    from controlhub.tenancy.models import Domain

    # The tenant boundary: the org acts only as subjects of domains it verified.
    Domain.objects.create(organization=org, name="bench.test", state=Domain.State.VERIFIED)
    persons = [Person.objects.create(organization=org, email=e, calendar_state="activated") for e in emails]
    print(f"bench_sync: {USERS} users x {EVENTS} events; DB {env.get('DATABASE_URL', os.environ.get('DATABASE_URL'))}; "
          f"emulator {'in this process' if EMULATOR_MODE == 'inprocess' else 'in its own process'}")
    try:
        bench_full_sync(emu, control, org, persons)
        bench_full_sync_with_latency(control, org, persons)
        bench_calls_per_day(control, persons)
        # Channels for the latency run point at the real web server.
        from calendar_sync.sync.models import CalendarSource, Channel
        from calendar_sync.sync.sources import source_run

        Channel.objects.all().delete()  # (emulator channels of the simulated day point at the same address)
        for p in persons[:100]:
            sub = CalendarSource.objects.get(person=p)
            CalendarSource.objects.filter(pk=sub.pk).update(lease_until=None, queued_at=None, dirty=False,
                                                                  next_sync_at=dt.datetime.now(dt.UTC))
            source_run(source_id=sub.pk)
        bench_latency(env, control, persons, web_port)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
