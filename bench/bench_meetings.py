"""Meetings list and JSON API figures with 300 meetings in the window.

Run: ``.venv/bin/python -m bench.bench_meetings``. Standalone: a temporary SQLite file DB, production settings
(DEBUG off) except a non-manifest static storage. Prints figures, asserts nothing.

1. In-process (Django test ``Client``, many iterations, median): the HTML page, the list partial and its 304, the
   JSON API and its 304, each with the default first 100 rows and with all rows; SQL queries per request; a
   bare-request baseline (the fixed cost of the test client and middleware). Targets: HTML <= 10 ms, JSON <= 5 ms,
   <= 2 queries for the API whatever the count (1 for its 304); the API's 304 at least 5x cheaper than a 200.
   CPU time (this thread's) is printed beside wall-clock time: on a shared machine other processes inflate the
   latter, not the former.
1b. Compiled queries vs the ORM: the "who" queries and the window's rows, through ``calendar_sync.meetings.compiled``
   and through the ORM building the same queryset, CPU µs per call (min / median of 9 interleaved rounds): what
   compiling once saves (the figures in that module's docstring come from here).
2. Over HTTP (gunicorn, 2 workers) with a local load loop (a thread pool of urllib clients, bounded by count):
   p50/p99 of the page, the API and the API's 304, default and all rows; the body size is printed so a redirect
   to the sign-in page cannot pass for the page. Targets: p99 <= 50 ms; 304 at least 5x cheaper than 200.

Knobs: ``BENCH_MEETINGS`` (300), ``BENCH_ITER`` (200), ``BENCH_COMPILED`` (1; 0 skips part 1b),
``BENCH_HTTP_REQUESTS`` (1500; 0 skips part 2), ``BENCH_HTTP_CLIENTS`` (4).
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import bench_environment, free_port

TMP = Path(tempfile.mkdtemp(prefix="bench_meetings_"))
MEETINGS = int(os.environ.get("BENCH_MEETINGS", "300"))
ITER = int(os.environ.get("BENCH_ITER", "200"))
COMPILED = os.environ.get("BENCH_COMPILED", "1") != "0"
HTTP_REQUESTS = int(os.environ.get("BENCH_HTTP_REQUESTS", "1500"))
HTTP_CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "4"))
ROOT = Path(__file__).resolve().parent.parent


def setup_env():
    (TMP / "bench_meetings_settings.py").write_text(
        "from controlhub.settings import *  # noqa: F401,F403\n"
        "STORAGES = {'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},\n"
        "            'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    )
    sys.path.insert(0, str(TMP))
    os.environ.update(bench_environment(
        TMP, DJANGO_SETTINGS_MODULE="bench_meetings_settings",
        PYTHONPATH=os.pathsep.join([str(TMP), str(ROOT), os.environ.get("PYTHONPATH", "")])))


def seed():
    from datetime import timedelta

    from django.utils import timezone

    from calendar_sync.meetings.device_tokens import device_token_create
    from calendar_sync.sync.meeting_fields import cipher_for_writes, encrypt_fields
    from calendar_sync.sync.models import CalendarSource, Meeting
    from controlhub.people.calendar import person_calendar_source
    from controlhub.people.models import Person
    from controlhub.tenancy.models import Membership
    from controlhub.tenancy.orgs import membership_set, organization_create

    org, admin, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="pw-bench-123!")
    user = membership_set(organization=org, email="uma@bench.test", role=Membership.Role.USER,
                          password="pw-bench-123!").user
    person = Person.objects.create(organization=org, email="uma@bench.test", user=user, name="Uma Bench",
                                   calendar_state=Person.CalendarState.ACTIVATED, google_time_zone="Europe/Paris",
                                   ooo_checked_at=timezone.now() + timedelta(days=1))
    sub = person_calendar_source(person=person, active=False)
    CalendarSource.objects.filter(pk=sub.pk).update(state=CalendarSource.State.ACTIVE,
                                                    last_synced_at=timezone.now() + timedelta(days=1))
    sub.refresh_from_db()
    cipher = cipher_for_writes(org)
    now = timezone.now()
    attendees = [{"email": f"p{i}@bench.test", "name": f"Person {i}", "response_status": "accepted",
                  "organizer": i == 0, "resource": False, "self": i == 0} for i in range(8)]
    rows = []
    for i in range(MEETINGS):
        start = (now + timedelta(hours=2 + i * 2.4)).replace(second=0, microsecond=0)
        eid = f"bench{i:05d}"
        values = {"title": f"Design review #{i}", "description": "Agenda…", "location": "Room 4",
                  "attendees": attendees, "organizer_email": "p0@bench.test", "organizer_name": "Person 0",
                  "join_url": f"https://bench.webex.com/meet/{i:010d}"}
        rows.append(Meeting(
            organization=org, source=sub, google_event_id=eid, start=start, end=start + timedelta(minutes=45),
            attendee_count=len(attendees), join_provider="webex", key_version=cipher.key_version,
            **encrypt_fields(cipher, source_id=sub.pk, google_event_id=eid, values=values),
        ))
    Meeting.objects.bulk_create(rows)
    _, raw = device_token_create(organization=org, source=person_calendar_source(person=person, active=False), name="bench")
    return user, raw


def timed(fn, n):
    """Medians of wall-clock and CPU time (this thread's: what other processes on a shared machine do not
    inflate) in ms, and the statuses seen."""
    samples = []
    cpu = []
    statuses = set()
    for _ in range(n):
        c0 = time.thread_time()
        t0 = time.perf_counter()
        response = fn()
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        statuses.add(response.status_code)
    return statistics.median(samples), statistics.median(cpu), statuses


def in_process(user, raw):
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    page = client.get("/meetings/")
    assert page.status_code == 200, page.status_code
    n = len(client.get("/api/v1/meetings", **auth).json()["meetings"])
    results = {}
    assert "Design review #0" in page.content.decode()
    # The ETags carry the current minute: fetched again before each 304 case, which is re-run if a minute
    # boundary fell inside it (any 200 among its responses).
    tags = {}

    def refresh():
        tags["api"] = client.get("/api/v1/meetings", **auth)["ETag"]
        tags["partial"] = client.get("/meetings/list/")["ETag"]

    partial_304 = lambda: client.get("/meetings/list/", HTTP_IF_NONE_MATCH=tags["partial"])  # noqa: E731
    api_304 = lambda: client.get("/api/v1/meetings", HTTP_IF_NONE_MATCH=tags["api"], **auth)  # noqa: E731
    for name, call in [
        ("baseline: /notify-sw.js", lambda: client.get("/notify-sw.js")),
        ("HTML page /meetings/", lambda: client.get("/meetings/")),
        ("list partial (200)", lambda: client.get("/meetings/list/")),
        ("list partial (304)", partial_304),
        ("JSON API (200)", lambda: client.get("/api/v1/meetings", **auth)),
        ("JSON API (304)", api_304),
        (f"HTML, all {MEETINGS} rows", lambda: client.get(f"/meetings/?limit={MEETINGS}")),
        (f"JSON, all {MEETINGS} rows", lambda: client.get(f"/api/v1/meetings?limit={MEETINGS}", **auth)),
    ]:
        for _attempt in range(3):
            refresh()
            call()
            count = [0]

            def counter(execute, sql, params, many, context, count=count):
                count[0] += 1
                return execute(sql, params, many, context)

            with connection.execute_wrapper(counter):
                expected = call().status_code
            median, cpu, statuses = timed(call, ITER)
            if statuses == {expected}:
                break
        results[name] = (median, count[0], cpu)
    print(f"In-process, {MEETINGS} meetings in the window ({n} shown by default), {ITER} iterations (median):")
    for name, (median, queries, cpu) in results.items():
        print(f"  {name:<26} {median:6.2f} ms   {queries} SQL queries   CPU {cpu:6.2f} ms")
    print("  (the page's and partial's counts include 3 for the signed-in user: session, user, and the person with "
          "organization, source and membership)")
    full, not_modified = results["JSON API (200)"][0], results["JSON API (304)"][0]
    print(f"  API 304 is {full / not_modified:.1f}x cheaper than a full response (target >= 5x)")


def compiled_vs_orm(user, raw):
    from datetime import timedelta

    from calendar_sync.meetings import device_tokens, selectors

    person = selectors.person_of_user(user=user)
    source = person.source
    window = selectors.window_for(time_zone=person.effective_time_zone)
    after, before = window.start - timedelta(days=1), window.end + timedelta(days=1)
    hashed = device_tokens.token_hash(raw)
    cases = [
        ("person of the signed-in user", 300, lambda: selectors.person_of_user(user=user),
         lambda: list(selectors._person_of_user_queryset("default", user.pk))),
        ("device token (+ source, org, person)", 300, lambda: device_tokens._token_by_hash(hashed),
         lambda: list(device_tokens._auth_queryset("default", hashed))),
    ] + [
        (f"window rows, limit {limit}", 100, lambda limit=limit: selectors._run(selectors._read_queryset, source,
                                                                                 window, limit),
         lambda limit=limit: list(selectors._read_queryset("default", source.pk, after, before, limit)))
        for limit in (selectors.PAGE_ROWS + 1, MEETINGS + 1)
    ]
    print("Compiled queries vs the ORM building the same queryset (CPU µs per call, min / median of 9 rounds):")
    for name, calls, compiled, orm in cases:
        samples = {"compiled": [], "orm": []}
        for _ in range(9):
            for kind, fn in (("compiled", compiled), ("orm", orm)):
                c0 = time.thread_time()
                for _ in range(calls):
                    fn()
                samples[kind].append((time.thread_time() - c0) / calls * 1e6)
        (c_min, c_med), (o_min, o_med) = ((min(v), statistics.median(v)) for v in samples.values())
        print(f"  {name:<38} compiled {c_min:6.0f} / {c_med:6.0f}   ORM {o_min:6.0f} / {o_med:6.0f}   "
              f"{o_med / c_med:4.1f}x")


def _server_cpu_seconds(master_pid):
    """User + system CPU of gunicorn's master and workers, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [master_pid]
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as fh:
            pids += [int(x) for x in fh.read().split()]
    except OSError:
        return None
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            continue
    return total / ticks


def _wrk(base, path, headers, seconds=5):
    """Requests/s and p99 (ms) from wrk, when it is installed (a C load tool: the client costs little)."""
    import shutil

    wrk = shutil.which("wrk")
    if not wrk:
        return None
    args = [wrk, "-t2", "-c4", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    out = subprocess.run(args + [base + path], capture_output=True, text=True, timeout=seconds + 30).stdout
    rps = next((float(line.split()[1]) for line in out.splitlines() if line.startswith("Requests/sec")), None)
    p99 = next((line.split()[1] for line in out.splitlines() if line.strip().startswith("99%")), "?")
    return rps, p99


def http_load(user, raw):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "controlhub.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=str(ROOT), env=os.environ.copy(), start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        def one(path, headers):
            req = urllib.request.Request(base + path, headers=headers)
            t0 = time.perf_counter()
            size = 0
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    size = len(resp.read())
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            return (time.perf_counter() - t0) * 1000, status, size

        print(f"Over HTTP (gunicorn, 2 workers, {HTTP_CLIENTS} concurrent urllib clients, {HTTP_REQUESTS} requests "
              "per case):")
        page = urllib.request.urlopen(urllib.request.Request(base + "/meetings/", headers={"Cookie": cookie}))
        body = page.read()
        assert page.url.endswith("/meetings/") and b"Design review #0" in body, (page.url, body[:2000])
        cases = [
            ("HTML page", "/meetings/", {"Cookie": cookie}),
            ("JSON API (200)", "/api/v1/meetings", {"Authorization": f"Bearer {raw}"}),
            ("JSON API (304)", "/api/v1/meetings", {"Authorization": f"Bearer {raw}", "If-None-Match": ""}),
            (f"HTML, all {MEETINGS}", f"/meetings/?limit={MEETINGS}", {"Cookie": cookie}),
            (f"JSON, all {MEETINGS}", f"/api/v1/meetings?limit={MEETINGS}", {"Authorization": f"Bearer {raw}"}),
        ]
        means = {}
        cpu = {}
        for name, path, headers in cases:
            for _attempt in range(3):  # again if a minute boundary (a new ETag) fell inside the 304 case
                if "If-None-Match" in headers:
                    api = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {raw}"})
                    with urllib.request.urlopen(api, timeout=10) as resp:
                        headers["If-None-Match"] = resp.headers["ETag"]
                for _ in range(20):
                    one(path, headers)
                cpu0 = _server_cpu_seconds(proc.pid)
                t0 = time.perf_counter()
                with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
                    out = list(pool.map(lambda _, p=path, h=headers: one(p, h), range(HTTP_REQUESTS)))
                wall = time.perf_counter() - t0
                cpu1 = _server_cpu_seconds(proc.pid)
                if len({x[1] for x in out}) == 1:
                    break
            lat = sorted(x[0] for x in out)
            statuses = sorted({x[1] for x in out})
            p50, p99 = lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]
            means[name] = statistics.mean(lat)
            if cpu0 is not None and cpu1 is not None:
                cpu[name] = (cpu1 - cpu0) * 1000 / HTTP_REQUESTS
            print(f"  {name:<16} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  {HTTP_REQUESTS / wall:7.0f} req/s  "
                  f"status {statuses}  {out[-1][2]} bytes  server CPU {cpu.get(name, float('nan')):.2f} ms/req")
        print(f"  304 vs 200 over HTTP: {means['JSON API (200)'] / means['JSON API (304)']:.1f}x cheaper in client "
              f"latency (fixed client and HTTP costs included), "
              f"{cpu['JSON API (200)'] / cpu['JSON API (304)']:.1f}x cheaper in server CPU per request"
              if cpu.get("JSON API (304)") else "")
        wrk_cases = [(n, p, h) for n, p, h in cases if n.startswith("JSON API")]
        results = {n: _wrk(base, p, h) for n, p, h in wrk_cases}
        if all(results.values()):
            print("  with wrk (2 threads, 4 connections, 5 s):")
            for n, (rps, p99) in results.items():
                print(f"    {n:<16} {rps:8.0f} req/s  p99 {p99}")
            print(f"    304 vs 200: {results['JSON API (304)'][0] / results['JSON API (200)'][0]:.1f}x the throughput")
        else:
            print("  (wrk not installed: `apt-get install wrk` adds a C load-tool run)")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def main():
    setup_env()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user, raw = seed()
    in_process(user, raw)
    if COMPILED:
        compiled_vs_orm(user, raw)
    if HTTP_REQUESTS > 0:
        http_load(user, raw)


if __name__ == "__main__":
    main()
