"""Live updates: a change in Google → the DOM of an open meetings page, with 50 pages open; and what an open page
costs the server when nothing changes, against today's 10-s polling.

Run: ``.venv/bin/python -m bench.bench_live``. Prints figures, asserts nothing. Each deployment runs in its own
process: SQLite + django-q2's database broker (a temporary file), then PostgreSQL + Redis when both answer on
127.0.0.1 (database ``calendarhub_bench_live``, created and dropped here; Redis database 5, flushed).

Per deployment, the production topology: the Google emulator in its own process (pushing to the web server), the
web server as README's production command (``gunicorn controlhub.asgi:application -k
uvicorn_worker.UvicornWorker``, ``BENCH_LIVE_WEB_WORKERS`` workers) and one ``qcluster``. ``BENCH_LIVE_PAGES`` (50)
people each have their meetings page open in a headless Chromium context (one browser, one context per person,
its live stream open). Then:

1. latency: ``BENCH_LIVE_CHANGES`` (200) events created in the emulator, round robin over the people, at
   ``BENCH_LIVE_RATE`` (4) per second; each change's latency is the time its row first appears in that person's
   page (a MutationObserver in the page, wall clock) minus the emulator's commit time. p50/p99/max, and the same
   split at the row's ``synced_at``: Google → database (push, queue, sync) and database → screen (publish, stream,
   the page's refetch of its list with If-None-Match, the swap).
2. idle cost: CPU seconds used by the web server processes (``/proc``) over ``BENCH_LIVE_IDLE_SECONDS`` (60) with
   nothing changing: no page open; the same number of pages polling the list every 10 s with If-None-Match (what
   the page did before pushed updates: plain HTTP clients, so only the server's share is counted); the browser
   pages open on their live streams. Reported per open page per minute, net of the empty server.

Targets: p99 ≤ 1 s; an open page cheaper than a polling one.
"""

import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import bench_environment, free_port

ROOT = Path(__file__).resolve().parent.parent
PAGES = int(os.environ.get("BENCH_LIVE_PAGES", "50"))
CHANGES = int(os.environ.get("BENCH_LIVE_CHANGES", "200"))
RATE = float(os.environ.get("BENCH_LIVE_RATE", "4"))
IDLE_SECONDS = float(os.environ.get("BENCH_LIVE_IDLE_SECONDS", "60"))
WEB_WORKERS = int(os.environ.get("BENCH_LIVE_WEB_WORKERS", "2"))
POLL_SECONDS = 10.0  # the meetings page's poll before pushed updates
PG_DB = "calendarhub_bench_live"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
REDIS_URL = "redis://127.0.0.1:6379/5"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# In every page, before its scripts: the first time each meeting row is in the DOM (epoch ms, by title).
OBSERVER_JS = """
window.__seen = {};
new MutationObserver(() => {
  const now = Date.now();
  document.querySelectorAll('li.mtg[data-title]').forEach((li) => {
    if (!(li.dataset.title in window.__seen)) window.__seen[li.dataset.title] = now;
  });
}).observe(document, { childList: true, subtree: true });
"""


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def describe(values):
    values = sorted(values)
    return (f"p50 {statistics.median(values):.0f} ms, p99 {percentile(values, 0.99):.0f} ms, "
            f"max {values[-1]:.0f} ms")


def cpu_seconds(root_pid):
    """User + system CPU of a process and its children (gunicorn's master and workers), in seconds."""
    total, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / CLK_TCK


def chromium():
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise SystemExit("Chromium is missing: apt-get install chromium (or set CHROMIUM_PATH)")


def wait_http(url, deadline=30):
    end = time.time() + deadline
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2).read()
        except Exception:  # noqa: BLE001 - not up yet
            if time.time() > end:
                raise
            time.sleep(0.2)


class Processes:
    def __init__(self, log):
        self.log = log
        self.procs = []

    def start(self, argv, env, *, pipe=False):
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE if pipe else self.log,
                                stderr=self.log, text=True, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def poll_like_before(url, session, stop, counts):
    """One page of before: the list partial every 10 s with If-None-Match (a 304 when nothing changed)."""
    etag = ""
    while not stop.is_set():
        request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}", "X-Requested-With": "fetch",
                                                       **({"If-None-Match": etag} if etag else {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                etag = resp.headers.get("ETag") or etag
                resp.read()
                counts["200"] = counts.get("200", 0) + 1
        except urllib.error.HTTPError as exc:
            counts[str(exc.code)] = counts.get(str(exc.code), 0) + 1
        stop.wait(POLL_SECONDS)


def idle_cpu(web_pid, seconds):
    before = cpu_seconds(web_pid)
    time.sleep(seconds)
    return cpu_seconds(web_pid) - before


def run(backend):
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_live_{backend}_"))
    log = open(tmp / "servers.log", "w")  # noqa: SIM115 - closed at the end
    procs = Processes(log)
    emulator_port, web_port = free_port(), free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    extra = {}
    if backend == "postgres":
        extra = {"DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL}
    # Production settings, static files served from the source tree (no collectstatic for a benchmark).
    (tmp / "bench_live_settings.py").write_text(
        "from controlhub.settings import *  # noqa: F401,F403\n"
        "STORAGES = {'default': {'BACKEND': 'django.core.files.storage.FileSystemStorage'},\n"
        "            'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
        "WHITENOISE_USE_FINDERS = True\n")
    sys.path.insert(0, str(tmp))
    env = bench_environment(tmp, PUBLIC_BASE_URL=web_url, GOOGLE_API_ENDPOINT=f"http://127.0.0.1:{emulator_port}",
                            GOOGLE_SERVICE_ACCOUNT_FILE=str(tmp / "sa.json"), Q_WORKERS="2",
                            DJANGO_SETTINGS_MODULE="bench_live_settings",
                            PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT), os.environ.get("PYTHONPATH", "")]),
                            **extra)
    env.pop("Q_SYNC")  # tasks queued to the real worker
    os.environ.update(env)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # this process reads the database beside Playwright's loop
    env = os.environ.copy()
    try:
        emulator = procs.start([sys.executable, "-m", "google_emulator", "--port", str(emulator_port),
                                "--allow-insecure-webhooks"], env, pipe=True)
        emulator_url = emulator.stdout.readline().strip()
        from google_emulator.client import EmulatorControl

        google = EmulatorControl(emulator_url)
        google.reset()
        key = google.service_account(project_id="bench-live")
        (tmp / "sa.json").write_text(json.dumps(key))
        google.tenant("live.test", "Live")
        emails = [f"user{i:03d}@live.test" for i in range(PAGES)]
        for email in emails:
            google.user(email, time_zone="UTC")
        google.delegate("live.test", key["client_id"], ["https://www.googleapis.com/auth/calendar",
                                                        "https://www.googleapis.com/auth/gmail.settings.basic"])
        soon = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2)
        for email in emails:
            google.create_event(email, {"summary": "Planning", "start": {"dateTime": soon.isoformat()},
                                        "end": {"dateTime": (soon + dt.timedelta(minutes=30)).isoformat()}})

        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from django.urls import reverse

        from calendar_sync.sync.models import Meeting
        from controlhub.people.calendar import person_calendar_start
        from controlhub.people.models import Person
        from controlhub.tenancy import live
        from controlhub.tenancy.models import Domain, Membership, Organization
        from controlhub.tenancy.orgs import membership_set, organization_create

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        org, _, _ = organization_create(name="Live", admin_email="admin@live.test", admin_password="x" * 20)
        Organization.objects.filter(pk=org.pk).update(setup_state=Organization.SetupState.READY)
        Domain.objects.create(organization=org, name="live.test", state=Domain.State.VERIFIED)
        sessions = []
        for email in emails:
            user = membership_set(organization=org, email=email, role=Membership.Role.USER, password="x" * 20).user
            person = Person.objects.create(organization=org, email=email, user=user, name=email.split("@")[0],
                                           calendar_state=Person.CalendarState.ACTIVATED,
                                           ooo_checked_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
            person_calendar_start(person_id=person.pk)  # first sync and the push channel to the web server
            client = Client()
            client.force_login(user)
            sessions.append(client.cookies["sessionid"].value)
        partial_url = web_url + reverse("meetings_partial")
        from django.db import connections

        connections.close_all()

        web = procs.start([sys.executable, "-m", "gunicorn", "controlhub.asgi:application", "-k",
                           "uvicorn_worker.UvicornWorker", "-w", str(WEB_WORKERS), "-b", f"127.0.0.1:{web_port}",
                           "--graceful-timeout", "5", "--log-level", "warning"], env)
        procs.start([sys.executable, "manage.py", "qcluster"], env)
        wait_http(web_url + "/healthz")
        time.sleep(3)  # workers settle
        label = "PostgreSQL + Redis" if backend == "postgres" else "SQLite + database broker"
        print(f"-- {label}: {PAGES} people, web {WEB_WORKERS} uvicorn workers under gunicorn, 1 qcluster; "
              f"live backend {live.backend().name}; load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} CPUs (other work on the machine shows in the tails)", flush=True)

        # Idle, before any page: the server alone; then today's polling pages.
        empty = idle_cpu(web.pid, IDLE_SECONDS)
        stop, counts = threading.Event(), {}
        pollers = [threading.Thread(target=poll_like_before, args=(partial_url, s, stop, counts), daemon=True)
                   for s in sessions]
        for t in pollers:
            t.start()
        time.sleep(1)
        polling = idle_cpu(web.pid, IDLE_SECONDS)
        stop.set()
        for t in pollers:
            t.join()

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium(), headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            pages = []
            for session in sessions:
                context = browser.new_context(viewport={"width": 1000, "height": 800})
                context.add_cookies([{"name": "sessionid", "value": session, "url": web_url}])
                context.add_init_script(OBSERVER_JS)
                page = context.new_page()
                page.goto(web_url + "/meetings/")
                pages.append(page)
            for page in pages:
                try:
                    page.wait_for_selector("html[data-live=open]", state="attached", timeout=30_000)
                except Exception:
                    print("a page's live stream did not open:", page.url,
                          page.evaluate("document.documentElement.dataset.live"), "- see", tmp / "servers.log")
                    print((tmp / "servers.log").read_text()[-3000:])
                    raise
            time.sleep(2)

            # 1. latency
            since = time.time()
            titles, ids = {}, {}
            next_at = time.monotonic()
            for k in range(CHANGES):
                i = k % PAGES
                start = soon + dt.timedelta(hours=1 + k // PAGES)
                title = f"Live change {k}"
                event = google.create_event(emails[i], {
                    "summary": title, "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + dt.timedelta(minutes=30)).isoformat()}})
                titles[title], ids[title] = i, event["id"]
                next_at += 1 / RATE
                time.sleep(max(0.0, next_at - time.monotonic()))
            deadline = time.time() + 30
            seen = {}
            while time.time() < deadline and len(seen) < len(titles):
                seen = {}
                for i, page in enumerate(pages):
                    for title, at in page.evaluate("window.__seen").items():
                        if titles.get(title) == i:
                            seen[title] = at
                time.sleep(0.5)
            commits = {c["event_id"]: c["committed_at"] for c in
                       google.call("GET", f"/_emulator/stats?changes_since={since}")["changes"]}
            synced = dict(Meeting.objects.filter(google_event_id__in=list(ids.values()))
                          .values_list("google_event_id", "synced_at"))
            total, to_db, to_screen = [], [], []
            for title, event_id in ids.items():
                if title in seen and event_id in commits:
                    total.append(seen[title] - commits[event_id] * 1000)
                    if event_id in synced:
                        to_db.append(synced[event_id].timestamp() * 1000 - commits[event_id] * 1000)
                        to_screen.append(seen[title] - synced[event_id].timestamp() * 1000)
            events = sum(page.evaluate("window.calendarHubLive.events") for page in pages)
            load = os.getloadavg()[0]
            print(f"change in Google -> on screen ({len(total)}/{CHANGES} seen, {CHANGES} changes at {RATE:g}/s, "
                  f"{PAGES} pages open): {describe(total) if total else 'none seen'}")
            if to_db:
                print(f"  Google -> database (push, queue, sync): {describe(to_db)}")
                print(f"  database -> screen (publish, stream, refetch, swap): {describe(to_screen)}")
            print(f"  live events received by the pages: {events} (per change: {events / CHANGES:.2f}); load average "
                  f"at the end {load:.1f}")

            # 2. idle with the pages open on their streams
            time.sleep(3)
            streaming = idle_cpu(web.pid, IDLE_SECONDS)
            browser.close()
        minutes = IDLE_SECONDS / 60
        per_poll = (polling - empty) / PAGES / minutes * 1000
        per_live = (streaming - empty) / PAGES / minutes * 1000
        print(f"idle web CPU over {IDLE_SECONDS:.0f} s: no page {empty:.2f} s; {PAGES} pages polling every "
              f"{POLL_SECONDS:.0f} s {polling:.2f} s ({counts}); {PAGES} pages on live streams {streaming:.2f} s")
        print(f"  per open page per minute (net of the empty server): polling {per_poll:.1f} ms, "
              f"live {per_live:.1f} ms (ratio live/polling {per_live / per_poll if per_poll > 0 else float('nan'):.2f})",
              flush=True)
    finally:
        procs.stop()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def postgres_ready():
    try:
        import psycopg
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=2) as c:
            c.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {PG_DB}")
        redis.Redis.from_url(REDIS_URL).flushdb()
        return True
    except Exception as exc:  # noqa: BLE001 - reported, the run is skipped
        print(f"-- PostgreSQL + Redis: skipped ({exc.__class__.__name__}: {exc})")
        return False


def drop_postgres():
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--backend":
        sys.path.insert(0, str(ROOT))
        run(sys.argv[2])
        return
    wanted = os.environ.get("BENCH_LIVE_BACKENDS", "sqlite,postgres").split(",")
    for backend in ("sqlite", "postgres"):
        if backend not in wanted or (backend == "postgres" and not postgres_ready()):
            continue
        proc = subprocess.run([sys.executable, "-m", "bench.bench_live", "--backend", backend], cwd=ROOT,
                              env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")})
        if backend == "postgres":
            drop_postgres()
        if proc.returncode:
            sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
