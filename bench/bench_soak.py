"""`make soak`: the system under chaos, faults and load, with real processes, and the figures that say whether a
calendar ever waits behind another.

Each run starts its own emulated Google (``python -m google_emulator``), a fresh database (a SQLite file, or a
PostgreSQL database with Redis as the broker), gunicorn (2 workers) and ``manage.py run_workers`` clusters, seeds
users with events, activates them (first full sync and push channels), then drives changes through the emulator:
Google pushes them to the web server, the webhook enqueues syncs, the clusters run them.

- chaos: a stream of inserts, patches, deletes, recurring-instance edits and ``@webex`` events while worker
  processes or whole clusters are SIGKILLed (a killed cluster is started again a second later). Afterwards every
  calendar must equal the emulator's truth (missing, extra and stale rows: by event id and etag) and every
  keyword be answered exactly once (one meeting, one join block, one successful PATCH); printed: the time to
  converge after the last kill;
- fault: the same users without faults, then with storms on a third of them (500, 503, 429 with Retry-After and
  timeouts, one kind per user); printed: the change-to-visible p50/p99 of the *unaffected* users in both phases
  and their ratio, then the time for the stormed calendars to catch up once the storms end;
- load: creates and patches at a fixed rate; printed: change-to-visible p50/p99/max, how many became visible,
  "database is locked" and errors in every process's log, failed tasks.

Change-to-visible = the meeting row's ``synced_at`` (written by the sync) minus the emulator's commit time of the
change, both on this host's clock; creates and patches of plain events are measured (deletes and keyword events
count for convergence only).

Knobs (environment): ``SOAK`` (comma list of run names or kinds: chaos, fault, load; default all),
``SOAK_WORKERS`` (workers per cluster, 2), ``SOAK_WEB_WORKERS`` (gunicorn workers, 2), ``SOAK_WEB_THREADS`` (threads per gunicorn worker: 4 on
PostgreSQL, 1 on SQLite), ``SOAK_WORKER_COMMAND`` (run_workers; ``qcluster`` to measure a tree
without it), ``SOAK_CHAOS_USERS`` (50), ``SOAK_CHAOS_SECONDS`` (100), ``SOAK_CHAOS_RATE`` (4 changes/s),
``SOAK_CHAOS_KILLS`` (50), ``SOAK_FAULT_USERS`` (60), ``SOAK_FAULT_SECONDS`` (40 per phase), ``SOAK_FAULT_RATE``
(6), ``SOAK_LOAD_SQLITE_USERS`` (200), ``SOAK_LOAD_SQLITE_RATE`` (10), ``SOAK_LOAD_PG_USERS`` (2000),
``SOAK_LOAD_PG_RATE`` (50), ``SOAK_LOAD_SECONDS`` (65), ``SOAK_CONVERGE_TIMEOUT`` (240), ``SOAK_PG_URL``
(postgres://postgres@127.0.0.1:5432), ``SOAK_REDIS_URL`` (redis://127.0.0.1:6379/9, flushed), ``SOAK_EMULATOR_ROOT``
(where ``google_emulator`` is run from; default this tree). Run one: ``python -m bench.bench_soak --run fault-sqlite``.
Prints figures; asserts nothing (the tests do).
"""

import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.common import bench_environment, free_port

ROOT = Path(__file__).resolve().parent.parent
EMULATOR_ROOT = Path(os.environ.get("SOAK_EMULATOR_ROOT", ROOT))


def knob(name, default, cast=int):
    return cast(os.environ.get(name, default))


WORKERS = knob("SOAK_WORKERS", 2)
WORKER_COMMAND = os.environ.get("SOAK_WORKER_COMMAND", "run_workers")
CONVERGE_TIMEOUT = knob("SOAK_CONVERGE_TIMEOUT", 240, float)
PG_URL = os.environ.get("SOAK_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/9")
HTTP_TIMEOUT = knob("GOOGLE_HTTP_TIMEOUT", 10.0, float)

SCENARIOS = {
    "chaos-sqlite": dict(kind="chaos", db="sqlite", clusters=1, users=knob("SOAK_CHAOS_USERS", 50),
                         seconds=knob("SOAK_CHAOS_SECONDS", 100, float), rate=knob("SOAK_CHAOS_RATE", 4.0, float),
                         kills=knob("SOAK_CHAOS_KILLS", 50)),
    "chaos-postgres": dict(kind="chaos", db="postgres", clusters=2, users=knob("SOAK_CHAOS_USERS", 50),
                           seconds=knob("SOAK_CHAOS_SECONDS", 100, float), rate=knob("SOAK_CHAOS_RATE", 4.0, float),
                           kills=knob("SOAK_CHAOS_KILLS", 50)),
    "fault-sqlite": dict(kind="fault", db="sqlite", clusters=1, users=knob("SOAK_FAULT_USERS", 60),
                         seconds=knob("SOAK_FAULT_SECONDS", 40, float), rate=knob("SOAK_FAULT_RATE", 6.0, float)),
    "load-sqlite": dict(kind="load", db="sqlite", clusters=1, users=knob("SOAK_LOAD_SQLITE_USERS", 200),
                        seconds=knob("SOAK_LOAD_SECONDS", 65, float), rate=knob("SOAK_LOAD_SQLITE_RATE", 10.0, float)),
    "load-postgres-2": dict(kind="load", db="postgres", clusters=2, users=knob("SOAK_LOAD_PG_USERS", 2000),
                            seconds=knob("SOAK_LOAD_SECONDS", 65, float), rate=knob("SOAK_LOAD_PG_RATE", 50.0, float)),
    "load-postgres-1": dict(kind="load", db="postgres", clusters=1, users=knob("SOAK_LOAD_PG_USERS", 2000),
                            seconds=knob("SOAK_LOAD_SECONDS", 65, float), rate=knob("SOAK_LOAD_PG_RATE", 50.0, float)),
}
JOIN_BLOCK = "──────────  Calendar Hub  ──────────"


# --- processes ----------------------------------------------------------------------------------------------------
def _drain(stream):
    for _ in iter(stream.readline, ""):
        pass


class EmulatorProcess:
    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "google_emulator", "--port", str(free_port()), "--allow-insecure-webhooks"],
            cwd=EMULATOR_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError("the emulator did not start")
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Service:
    """A server process in its own process group, its output in a log file."""

    def __init__(self, name, argv, env, logs):
        self.name = name
        self.log_path = logs / f"{name}.log"
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop(self, timeout=30):
        """SIGTERM to the whole group (what systemd does); seconds it took, or None if it had to be killed."""
        started = time.monotonic()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
            took = time.monotonic() - started
        except ProcessLookupError:
            took = 0.0
        except subprocess.TimeoutExpired:
            self.kill()
            took = None
        self.log.close()
        return took


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def wait_http(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


# --- measurements ---------------------------------------------------------------------------------------------------
def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class World:
    """One run's emulated tenant, database, servers and the changes made to it."""

    def __init__(self, name, spec):
        self.name, self.spec = name, spec
        self.tmp = Path(tempfile.mkdtemp(prefix=f"soak_{name}_"))
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.rng = random.Random(15)
        self.clusters = []
        self.ops = []  # (phase, user index, event id, sent at, etag) of measured changes
        self.expected = {}  # event id -> etag after our last change
        self.keyword_events = {}  # event id -> user index (created with @webex, not deleted by us)
        self.deleted_keyword_events = {}
        self.lock = threading.Lock()
        self.pg_db = None

    # setup ---------------------------------------------------------------------------------------------------
    def start(self):
        self.emulator = EmulatorProcess()
        from google_emulator.client import EmulatorControl

        self.control = EmulatorControl(self.emulator.url)
        self.control.reset()
        key = self.control.service_account(project_id="soak")
        key_file = self.tmp / "sa.json"
        key_file.write_text(json.dumps(key))
        self.web_port = free_port()
        self.env = bench_environment(
            self.tmp, PUBLIC_BASE_URL=f"http://127.0.0.1:{self.web_port}",
            WEBHOOK_BASE_URL=f"http://127.0.0.1:{self.web_port}", GOOGLE_API_ENDPOINT=self.emulator.url,
            GOOGLE_SERVICE_ACCOUNT_FILE=str(key_file), Q_WORKERS=str(WORKERS), MEETING_SERVICE_DEFAULT="local",
            GOOGLE_HTTP_TIMEOUT=str(HTTP_TIMEOUT))
        self.env.pop("Q_SYNC")
        for name in ("SYNC_LEASE_SECONDS",):
            if os.environ.get(name):
                self.env[name] = os.environ[name]
        if self.spec["db"] == "postgres":
            self.pg_db = f"soak_{os.getpid()}_{self.name.replace('-', '_')}"
            subprocess.run(["psql", PG_URL + "/postgres", "-qc", f"CREATE DATABASE {self.pg_db}"], check=True)
            self.env["DATABASE_URL"] = f"{PG_URL}/{self.pg_db}"
            self.env["REDIS_URL"] = REDIS_URL
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("install_schedules", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
        from django_q.models import Schedule

        # Only the sync backstop: the others (domain re-verification by DNS, presence...) are not measured here.
        Schedule.objects.exclude(name="calendar_sync.scheduler").delete()
        self.seed(key)
        self.web = Service("web", [sys.executable, "-m", "gunicorn", "controlhub.wsgi", "-w", str(web_workers(self.spec)),
                                   "--threads", str(web_threads(self.spec)), "-b",
                                   f"127.0.0.1:{self.web_port}", "--timeout", "60"], self.env, self.logs)
        wait_http(f"http://127.0.0.1:{self.web_port}/healthz")
        self.activate()
        for _ in range(self.spec["clusters"]):
            self.start_cluster()
        time.sleep(4)  # the clusters' workers start

    def seed(self, key):
        from controlhub.people.models import Person
        from controlhub.tenancy.orgs import organization_create

        c = self.control
        c.tenant("soak.test", "Soak")
        self.emails = [f"user{i:04d}@soak.test" for i in range(self.spec["users"])]
        for email in self.emails:
            c.user(email)
        c.delegate("soak.test", key["client_id"], ["https://www.googleapis.com/auth/calendar",
                                                   "https://www.googleapis.com/auth/gmail.settings.basic"])
        self.now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        self.singles = {i: [] for i in range(len(self.emails))}
        self.series = {}
        for i, email in enumerate(self.emails):
            for n in range(2):
                ev = c.create_event(email, self.body(f"seed {n}", hours=6 + 30 * n))
                self.singles[i].append(ev["id"])
            first = self.now + dt.timedelta(hours=10)
            ev = c.create_event(email, {"summary": "daily", "start": {"dateTime": first.isoformat(), "timeZone": "UTC"},
                                        "end": {"dateTime": (first + dt.timedelta(minutes=30)).isoformat(),
                                                "timeZone": "UTC"},
                                        "recurrence": ["RRULE:FREQ=DAILY;COUNT=10"]})
            self.series[i] = (ev["id"], first)
        org, _, _ = organization_create(name="Soak", admin_email="admin@soak.test", admin_password="x" * 20)
        from controlhub.tenancy.models import Domain

        Domain.objects.update_or_create(organization=org, name="soak.test", defaults={"state": "verified"})
        org.setup_state = "ready"
        org.save(update_fields=["setup_state"])
        self.persons = [Person.objects.create(organization=org, email=e, calendar_state="activated")
                        for e in self.emails]

    def activate(self):
        """First full sync and push channel of every calendar, 4 at a time, in this process."""
        from django.db import connections

        from calendar_sync.sync.models import CalendarSource
        from controlhub.people.calendar import person_calendar_start

        todo = list(self.persons)
        lock = threading.Lock()

        def run():
            try:
                while True:
                    with lock:
                        if not todo:
                            return
                        person = todo.pop()
                    person_calendar_start(person_id=person.pk)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.source_ids = dict(CalendarSource.objects.filter(person__in=self.persons).values_list(
            "person__email", "pk"))
        connections.close_all()

    def start_cluster(self):
        n = len(self.clusters)
        cluster = Service(f"cluster{n}", [sys.executable, "manage.py", WORKER_COMMAND], self.env, self.logs)
        self.clusters.append(cluster)
        return cluster

    # changes -------------------------------------------------------------------------------------------------
    def body(self, summary, hours=None, **extra):
        hours = hours if hours is not None else self.rng.randint(2, 300)
        start = self.now + dt.timedelta(hours=hours)
        return {"summary": summary, "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + dt.timedelta(minutes=30)).isoformat()}, **extra}

    def change(self, i, kind, phase, measured=True):
        """One change to user ``i``'s calendar through the emulator's control API."""
        c, email, sent = self.control, self.emails[i], time.time()
        if kind == "create":
            ev = c.create_event(email, self.body(f"c{self.rng.random():.6f}"))
            self.singles[i].append(ev["id"])
        elif kind == "keyword":
            ev = c.create_event(email, self.body("kw", location="Room 2 @webex"))
            with self.lock:
                self.keyword_events[ev["id"]] = i
            return
        elif kind == "patch" and self.singles[i]:
            event_id = self.rng.choice(self.singles[i])
            ev = c.patch_event(email, event_id, {"summary": f"p{self.rng.random():.6f}",
                                                 **{k: v for k, v in self.body("x").items() if k != "summary"}})
        elif kind == "delete" and len(self.singles[i]) > 1:
            event_id = self.singles[i].pop(self.rng.randrange(len(self.singles[i])))
            c.delete_event(email, event_id)
            with self.lock:
                self.expected.pop(event_id, None)
            return
        elif kind == "delete_keyword":
            with self.lock:
                mine = [e for e, u in self.keyword_events.items() if u == i]
                if not mine:
                    return
                event_id = self.rng.choice(mine)
                self.deleted_keyword_events[event_id] = self.keyword_events.pop(event_id)
            c.delete_event(email, event_id)
            return
        elif kind == "instance":
            series_id, first = self.series[i]
            day = self.rng.randrange(10)
            instance = f"{series_id}_{first + dt.timedelta(days=day):%Y%m%dT%H%M%SZ}"
            if self.rng.random() < 0.3:
                try:
                    c.delete_event(email, instance)
                except AssertionError:
                    pass  # already cancelled
            else:
                try:
                    c.patch_event(email, instance, {"summary": f"instance {self.rng.random():.4f}"})
                except AssertionError:
                    pass  # cancelled earlier
            return
        else:
            return
        with self.lock:
            self.expected[ev["id"]] = ev.get("etag")
            if measured:
                self.ops.append((phase, i, ev["id"], sent, ev.get("etag")))

    def stream(self, seconds, rate, kinds, phase, users=None, measured_users=None, on_tick=None):
        users = list(range(len(self.emails))) if users is None else users
        total = int(seconds * rate)
        started = time.monotonic()
        for n in range(total):
            i = self.rng.choice(users)
            kind = self.rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            try:
                self.change(i, kind, phase, measured=measured_users is None or i in measured_users)
            except Exception as exc:  # noqa: BLE001 - a control call that failed is not a change
                print(f"  change failed: {exc}", flush=True)
            if on_tick:
                on_tick(time.monotonic() - started)
            time.sleep(max(0.0, started + (n + 1) / rate - time.monotonic()))
        self.last_change = time.time()
        return total

    # checks --------------------------------------------------------------------------------------------------
    def mismatch(self, users=None):
        """(missing, extra, stale) rows over ``users`` against the emulator's expanded instances."""
        from django.db import connections

        from calendar_sync.sync.engine import sync_window
        from calendar_sync.sync.models import Meeting

        start, end = sync_window()
        missing = extra = stale = 0
        for i in (range(len(self.emails)) if users is None else users):
            email = self.emails[i]
            truth = {e["id"]: e.get("etag") for e in self.control.expanded(email, iso(start), iso(end))["items"]}
            rows = dict(Meeting.objects.filter(source_id=self.source_ids[email]).values_list(
                "google_event_id", "etag"))
            missing += len(truth.keys() - rows.keys())
            extra += len(rows.keys() - truth.keys())
            stale += sum(1 for k in truth.keys() & rows.keys() if truth[k] != rows[k])
        connections.close_all()
        return missing, extra, stale

    def keywords(self):
        """(asked, answered exactly once, not answered, answered more than once, released after deletion)."""
        from django.db import connections

        from calendar_sync.scheduling.models import KeywordMeeting

        patched = {}
        for r in self.control.requests(0)["requests"]:
            if r.get("http_method", r["method"]) == "PATCH" and r["status"] == 200:
                event_id = r["path"].rsplit("/", 1)[-1]
                patched[event_id] = patched.get(event_id, 0) + 1
        once = unanswered = twice = 0
        live = dict(self.keyword_events)
        rows = {km.google_event_id: km for km in KeywordMeeting.objects.filter(
            google_event_id__in=list(live) + list(self.deleted_keyword_events))}
        for event_id, i in live.items():
            ev = next((e for e in self.control.events(self.emails[i])["items"] if e["id"] == event_id), None)
            blocks = (ev or {}).get("description", "").count(JOIN_BLOCK)
            km = rows.get(event_id)
            if km is None or blocks == 0:
                unanswered += 1
            elif blocks == 1 and patched.get(event_id, 0) == 1 and km.state == "active":
                once += 1
            else:
                twice += 1
        # A keyword event deleted by its owner: its meeting released, or none made (deleted before the answer).
        released = sum(1 for e in self.deleted_keyword_events if e not in rows or rows[e].state != "active")
        connections.close_all()
        return len(live), once, unanswered, twice, released, len(self.deleted_keyword_events)

    def converge(self, since, label, users=None, keywords=False):
        deadline = time.monotonic() + CONVERGE_TIMEOUT
        while True:
            missing, extra, stale = self.mismatch(users)
            kw = self.keywords() if keywords else None
            ok = missing == extra == stale == 0 and (kw is None or (kw[2] == 0 and kw[3] == 0 and kw[4] == kw[5]))
            if ok or time.monotonic() > deadline:
                took = time.time() - since
                status = "converged" if ok else "NOT converged"
                print(f"  {label}: {status} {took:.1f}s after; missing {missing}, extra {extra}, stale {stale}",
                      flush=True)
                if kw is not None:
                    print(f"  keywords: {kw[0]} asked, {kw[1]} answered exactly once, {kw[2]} unanswered, {kw[3]} "
                          f"answered more than once; {kw[4]}/{kw[5]} deleted ones without a live meeting",
                          flush=True)
                return ok, took, (missing, extra, stale), kw
            time.sleep(1.0)

    def latencies(self, phase=None, *, by_commit=False):
        """Change-to-visible (ms) of the measured changes of ``phase`` that are the last change of their event:
        the row's synced_at once its etag is the one that change made, minus the emulator's commit of it. With
        ``by_commit``, (commit time, ms) pairs."""
        from django.db import connections

        from calendar_sync.sync.models import Meeting

        last = {}
        for op in self.ops:
            last[op[2]] = op
        ops = [op for op in last.values() if phase is None or op[0] == phase]
        since = min((op[3] for op in ops), default=time.time()) - 1
        commits = {}
        for c in self.control.call("GET", f"/_emulator/stats?changes_since={since}")["changes"]:
            commits[c["event_id"]] = max(commits.get(c["event_id"], 0), c["committed_at"])
        ids = [op[2] for op in ops]
        rows = {}
        for n in range(0, len(ids), 500):
            rows.update({g: (etag, at) for g, etag, at in Meeting.objects.filter(
                google_event_id__in=ids[n:n + 500]).values_list("google_event_id", "etag", "synced_at")})
        connections.close_all()
        out, invisible = [], 0
        for _phase, _i, event_id, _sent, etag in ops:
            if event_id not in self.expected:
                continue  # deleted since: nothing to see
            row = rows.get(event_id)
            if row is None or row[0] != etag or event_id not in commits:
                invisible += 1
                continue
            ms = (row[1].timestamp() - commits[event_id]) * 1000
            out.append((commits[event_id], ms) if by_commit else ms)
        return out, invisible

    def log_counts(self):
        locked = errors = 0
        samples = {}
        for path in self.logs.glob("*.log"):
            text = path.read_text(errors="replace")
            locked += text.count("database is locked")
            for line in text.splitlines():
                if re.search(r"Traceback|\bERROR\b|CRITICAL", line) and "reincarnated" not in line:
                    errors += 1
                    key = re.sub(r"\d+", "N", line.split(" ", 3)[-1])[:160]
                    samples[key] = samples.get(key, 0) + 1
        for line, n in sorted(samples.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {n} x {line}", flush=True)
        from django.db import connections
        from django_q.models import Failure

        failed = Failure.objects.count()
        connections.close_all()
        return locked, errors, failed

    def stop(self):
        stops = [cluster.stop(timeout=60) for cluster in self.clusters if cluster.proc.poll() is None]
        self.web.stop()
        self.emulator.stop()
        from django.db import connections

        connections.close_all()
        if self.pg_db:
            subprocess.run(["psql", PG_URL + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)"],
                           check=False)
        return stops

    def report_stop(self, stops):
        shown = ", ".join("killed" if s is None else f"{s:.1f}s" for s in stops)
        print(f"  clusters stopped by SIGTERM to their process group: {shown}", flush=True)


def web_workers(spec):
    """gunicorn workers (2). On this 2-CPU host 4 made the PostgreSQL load slower (more processes waiting for the
    CPUs), not faster."""
    return knob("SOAK_WEB_WORKERS", 2)


def web_threads(spec):
    """Threads per gunicorn worker: 4 on PostgreSQL (the README's scale-out command), 1 on SQLite. A push is a few
    milliseconds of CPU and several round trips to the database and Redis; with one thread per worker two workers
    took about 50 pushes a second here, the very rate of the PostgreSQL load, and the backlog grew through the run
    (p50 5.4 s, p99 8.9 s; with 4 threads p50 0.47 s, p99 2.8 s)."""
    return knob("SOAK_WEB_THREADS", 4 if spec["db"] == "postgres" else 1)


def describe(spec):
    backend = "SQLite + ORM broker" if spec["db"] == "sqlite" else "PostgreSQL + Redis"
    return (f"{backend}, {spec['clusters']} cluster(s) of {WORKERS} workers ({WORKER_COMMAND}), gunicorn "
            f"{web_workers(spec)} workers x {web_threads(spec)} threads, {spec['users']} users")


def summary(values, invisible):
    return (f"p50 {percentile(values, 0.5):.0f} ms, p99 {percentile(values, 0.99):.0f} ms, "
            f"max {max(values, default=float('nan')):.0f} ms; visible {len(values)}/{len(values) + invisible}")


# --- the runs ------------------------------------------------------------------------------------------------------
MIX = [("create", 35), ("patch", 25), ("delete", 10), ("instance", 15), ("keyword", 10), ("delete_keyword", 5)]


def run_chaos(w):
    spec = w.spec
    kills = spec["kills"]
    print(f"chaos: {describe(spec)}; {spec['rate']:.0f} changes/s for {spec['seconds']:.0f}s, {kills} SIGKILLs "
          f"(every other one a whole cluster)", flush=True)
    done = {"kills": 0, "worker": 0, "cluster": 0, "last": time.time()}
    every = spec["seconds"] / (kills + 1)

    def tick(elapsed):
        if done["kills"] >= kills or elapsed < every * (done["kills"] + 1):
            return
        alive = [c for c in w.clusters if c.proc.poll() is None]
        if not alive:  # the killed cluster is being started again: this kill waits for the next tick
            return
        target = w.rng.choice(alive)
        grandchildren = [p for p in descendants(target.pid) if p not in descendants_direct(target.pid)]
        if done["kills"] % 2 == 0 and grandchildren:
            os.kill(w.rng.choice(grandchildren), signal.SIGKILL)
            done["worker"] += 1
        else:  # every other kill, and whenever no worker is up yet, the whole cluster: every kill is a real one
            target.kill()
            w.clusters.remove(target)
            done["cluster"] += 1
            threading.Timer(1.0, w.start_cluster).start()
        done["kills"] += 1
        done["last"] = time.time()

    n = w.stream(spec["seconds"], spec["rate"], MIX, "chaos", on_tick=tick)
    time.sleep(1.5)  # the last killed cluster is started again
    print(f"  {n} changes; {done['worker']} worker kills, {done['cluster']} cluster kills", flush=True)
    ok, took, counts, kw = w.converge(done["last"], "after the last kill", keywords=True)
    lat, invisible = w.latencies()
    print(f"  change-to-visible under chaos: {summary(lat, invisible)}", flush=True)
    locked, errors, failed = w.log_counts()
    print(f"  'database is locked': {locked}; error lines in logs (kills' reincarnations aside): {errors}; "
          f"failed tasks: {failed}", flush=True)
    return {"converged": ok, "converge_s": round(took, 1), "missing_extra_stale": counts, "keywords": kw,
            "kills": done["kills"], "p99_ms": round(percentile(lat, 0.99))}


def descendants_direct(pid):
    return [p for p in descendants(pid) if _ppid(p) == pid]


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


STORMS = [
    {"status": 500},
    {"status": 503},
    {"status": 429, "headers": {"Retry-After": "5"}, "body": {"error": {
        "code": 429, "message": "Rate Limit Exceeded", "status": "RESOURCE_EXHAUSTED",
        "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}]}}},
    {"status": 0, "delay_ms": int((HTTP_TIMEOUT + 2) * 1000)},  # no answer within the HTTP timeout
]


def run_fault(w):
    spec = w.spec
    users = list(range(len(w.emails)))
    stormed = [i for i in users if i % 3 == 0]
    calm = [i for i in users if i % 3]
    kinds = [("create", 60), ("patch", 40)]
    print(f"fault: {describe(spec)}; {spec['rate']:.0f} changes/s on every user, {spec['seconds']:.0f}s without "
          f"faults then {spec['seconds']:.0f}s with storms on {len(stormed)} users (500, 503, 429 + Retry-After, "
          f"timeouts > {HTTP_TIMEOUT:.0f}s), unaffected users measured", flush=True)
    w.stream(spec["seconds"], spec["rate"], kinds, "calm", measured_users=set(calm))
    for n, i in enumerate(stormed):
        quoted = re.escape(urllib.parse.quote(w.emails[i])) + "|" + re.escape(w.emails[i])
        w.control.fault(method="GET", path_regex=f"({quoted})/events$", count=-1, **STORMS[n % len(STORMS)])
    w.stream(spec["seconds"], spec["rate"], kinds, "storm", measured_users=set(calm))
    time.sleep(3)
    before, inv_before = w.latencies("calm")
    during, inv_during = w.latencies("storm")
    print(f"  unaffected users, no fault:  {summary(before, inv_before)}", flush=True)
    print(f"  unaffected users, storms:    {summary(during, inv_during)}", flush=True)
    ratio = percentile(during, 0.99) / max(1.0, percentile(before, 0.99))
    print(f"  p99 ratio storms / no fault: {ratio:.2f} (target <= 2)", flush=True)
    w.control.clear_faults()
    cleared = time.time()
    ok, took, counts, _ = w.converge(cleared, "stormed calendars after the storms end")
    locked, errors, failed = w.log_counts()
    print(f"  'database is locked': {locked}; error lines in logs (kills' reincarnations aside): {errors}; "
          f"failed tasks: {failed}", flush=True)
    return {"p99_calm_ms": round(percentile(before, 0.99)), "p99_storm_ms": round(percentile(during, 0.99)),
            "ratio": round(ratio, 2), "recovered_s": round(took, 1), "converged": ok}


def slices(timed, width=10.0):
    """'p50/p99' of each ``width``-second slice of (time, ms) pairs, from the first."""
    if not timed:
        return "-"
    first = min(t for t, _ in timed)
    buckets = {}
    for t, ms in timed:
        buckets.setdefault(int((t - first) // width), []).append(ms)
    return " ".join(f"{round(percentile(v, 0.5))}/{round(percentile(v, 0.99))}"
                    for _, v in sorted(buckets.items()))


def throughput(timed):
    """Changes made visible per second: their count over the time from the first change's commit to the last
    change's visibility (the rate sent while the workers keep up, their capacity once they do not)."""
    if len(timed) < 2:
        return float("nan")
    span = max(t + ms / 1000 for t, ms in timed) - min(t for t, _ in timed)
    return len(timed) / span if span > 0 else float("nan")


def run_load(w):
    spec = w.spec
    print(f"load: {describe(spec)}; {spec['rate']:.0f} changes/s (creates and patches) for {spec['seconds']:.0f}s",
          flush=True)
    started = time.monotonic()
    n = w.stream(spec["seconds"], spec["rate"], [("create", 60), ("patch", 40)], "load")
    achieved = n / (time.monotonic() - started)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and w.latencies("load")[1]:
        time.sleep(1)
    timed, invisible = w.latencies("load", by_commit=True)
    lat = [ms for _, ms in timed]
    print(f"  {achieved:.1f} changes/s sent; change-to-visible {summary(lat, invisible)}", flush=True)
    print("  p50/p99 ms by 10 s of the run (a tail bunched in time is a burst of other work, a spread one is "
          "saturation): " + slices(timed), flush=True)
    drained = throughput(timed)
    print(f"  made visible: {drained:.1f} changes/s from the first change to the last one visible (below the rate "
          f"sent: the workers' capacity)", flush=True)
    locked, errors, failed = w.log_counts()
    print(f"  'database is locked': {locked}; error lines in logs (kills' reincarnations aside): {errors}; "
          f"failed tasks: {failed}", flush=True)
    return {"p50_ms": round(percentile(lat, 0.5)), "p99_ms": round(percentile(lat, 0.99)),
            "visible_per_s": round(drained, 1),
            "visible": f"{len(lat)}/{len(lat) + invisible}", "locked": locked, "errors": errors, "failed": failed}


RUNS = {"chaos": run_chaos, "fault": run_fault, "load": run_load}


def run_one(name):
    spec = SCENARIOS[name]
    w = World(name, spec)
    setup = time.monotonic()
    w.start()
    print(f"[{name}] set up in {time.monotonic() - setup:.0f}s ({len(w.emails)} calendars synced, logs in {w.logs})",
          flush=True)
    result = {}
    try:
        result = RUNS[spec["kind"]](w)
    finally:
        stops = w.stop()
        w.report_stop(stops)
        result["stop_s"] = [None if s is None else round(s, 1) for s in stops]
    print("RESULT " + json.dumps({"run": name, **result}, default=str), flush=True)
    if not os.environ.get("SOAK_KEEP"):
        shutil.rmtree(w.tmp, ignore_errors=True)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--run":
        run_one(sys.argv[2])
        return
    wanted = [s.strip() for s in os.environ.get("SOAK", "").split(",") if s.strip()]
    names = [n for n, spec in SCENARIOS.items() if not wanted or n in wanted or spec["kind"] in wanted]
    print(f"soak: {', '.join(names)}; {WORKERS} workers per cluster, worker command {WORKER_COMMAND}; "
          f"machine: {os.cpu_count()} CPUs", flush=True)
    results = []
    for name in names:
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "bench.bench_soak", "--run", name], cwd=ROOT,
                              capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                results.append(json.loads(line[7:]))
            else:
                print(line, flush=True)
        if proc.returncode:
            print(f"[{name}] exit {proc.returncode}:\n{proc.stderr[-3000:]}", flush=True)
        print(f"[{name}] {time.monotonic() - started:.0f}s\n", flush=True)
    print("summary:")
    for r in results:
        print("  " + json.dumps(r, default=str))


if __name__ == "__main__":
    main()
