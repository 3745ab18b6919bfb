"""Sync engine figures: full-sync throughput vs the I/O limit, change-to-visible latency, Google calls per day.

Run: ``.venv/bin/python -m bench.bench_sync``. Standalone: a temp SQLite file DB (or ``DATABASE_URL``/``REDIS_URL``
when set), the emulator in-process. Prints figures, asserts nothing.

Environment knobs: ``BENCH_SYNC_USERS`` (500), ``BENCH_SYNC_EVENTS`` (60), ``BENCH_LATENCY_SECONDS`` (60; the
change rate is 20/s), ``BENCH_QCLUSTERS`` (1 on SQLite, 2 with Redis), ``BENCH_SKIP_LATENCY=1``.
"""

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="bench_sync_"))
MASTER_KEY = "bench:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"
USERS = int(os.environ.get("BENCH_SYNC_USERS", "500"))
EVENTS = int(os.environ.get("BENCH_SYNC_EVENTS", "60"))
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "60"))
RATE = 20.0


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_env(emulator_url, key_file, web_port):
    env = {
        "DJANGO_SETTINGS_MODULE": "controlhub.settings",
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789",
        "ALLOWED_HOSTS": "*",
        "SECURE_SSL_REDIRECT": "0",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "ENCRYPTION_KEYS": MASTER_KEY,
        "GOOGLE_API_ENDPOINT": emulator_url,
        "GOOGLE_SERVICE_ACCOUNT_FILE": str(key_file),
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": os.environ.get("Q_WORKERS", "4"),
    }
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{TMP / 'bench.sqlite3'}"
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


def bench_full_sync(emu, control, org, persons):
    from calendar_sync.models import CalendarSubscription, Meeting
    from calendar_sync.services.subscriptions import subscription_ensure
    from calendar_sync.services.sync import PAGE_SIZE, calendar_sync_once, sync_window
    from controlhub.services.google_connection import org_gateway

    gateway = org_gateway(org)
    start, end = sync_window()
    params = {"timeMin": start.isoformat(), "timeMax": end.isoformat(), "singleEvents": True,
              "maxResults": PAGE_SIZE}
    for p in persons:  # mint every delegated token first: both runs then pay for the same requests only
        gateway.fetch_token(p.email, ["https://www.googleapis.com/auth/calendar"])
    t0 = time.perf_counter()
    n_events = 0
    for p in persons:
        token = None
        while True:
            page = gateway.events_list(p.email, p.email, pageToken=token, **params)
            n_events += len(page.get("items", []))
            token = page.get("nextPageToken")
            if not token:
                break
    baseline = time.perf_counter() - t0
    subs = [subscription_ensure(person=p) for p in persons]
    import cProfile
    import pstats

    prof = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    for sub in subs:
        sub = CalendarSubscription.objects.select_related("person", "organization").get(pk=sub.pk)
        calendar_sync_once(subscription=sub, gateway=gateway)
    elapsed = time.perf_counter() - t0
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    rows = Meeting.objects.count()
    print(f"full sync: {len(persons)} users x {EVENTS} events = {rows} meetings written")
    print(f"  baseline (fetch pages, discard): {baseline:.2f}s  {len(persons) / baseline:.1f} users/s  "
          f"{n_events / baseline:.0f} events/s")
    print(f"  sync (fetch, encrypt, bulk upsert): {elapsed:.2f}s  {len(persons) / elapsed:.1f} users/s  "
          f"{rows / elapsed:.0f} events/s")
    print(f"  ratio sync/baseline throughput: {baseline / elapsed:.2f} (target >= 0.75)")


def bench_calls_per_day(control, persons):
    """A simulated day for a sample of users: 20 change bursts each (5 pushes in the same second per burst),
    the safety poll, the daily window slide.

    Time is simulated by passing ``now`` to the services; a push is the webhook's service call
    (``subscription_mark_changed``); the queue is a list drained in-process. Google calls are counted by the
    emulator."""
    from django.conf import settings

    from calendar_sync.models import CalendarSubscription
    from calendar_sync.services import scheduler as sched
    from calendar_sync.services import subscriptions as subs_service

    sample = persons[:20]
    ids = {p.pk: CalendarSubscription.objects.get(person=p).pk for p in sample}
    queue = []
    enqueue = subs_service._enqueue_sync
    subs_service._enqueue_sync = sched._enqueue_sync = queue.append
    start = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    for sid in ids.values():  # channels opened and first sync done before the day starts
        subs_service.subscription_run(subscription_id=sid)
    CalendarSubscription.objects.exclude(pk__in=ids.values()).update(next_sync_at=None)
    CalendarSubscription.objects.filter(pk__in=ids.values()).update(next_sync_at=start, lease_until=None,
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
                    subs_service.subscription_mark_changed(subscription_id=ids[p.pk], now=now)
        sched.subscriptions_claim_due(now=now)
        while queue:
            subs_service.subscription_run(subscription_id=queue.pop(), now=now)
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
    from calendar_sync.models import Meeting

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


def main():
    sys.path.insert(0, str(ROOT))
    from google_emulator.server import Emulator

    emu = Emulator(host="127.0.0.1", port=0, dns_port=0, allow_insecure_webhooks=True)
    emu.start()
    from tests.emulator import EmulatorControl

    control = EmulatorControl(emu.base_url)
    control.stats_since = lambda since: control.call("GET", f"/_emulator/stats?changes_since={since}")["changes"]
    control.reset()
    key = control.service_account(project_id="bench")
    key_file = TMP / "sa.json"
    key_file.write_text(json.dumps(key))
    web_port = free_port()
    env = setup_env(emu.base_url, key_file, web_port)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from controlhub.models import Person
    from controlhub.services.orgs import organization_create

    control.tenant("bench.test", "Bench")
    emails = [f"user{i:04d}@bench.test" for i in range(USERS)]
    for email in emails:
        control.user(email)
    control.delegate("bench.test", key["client_id"], ["https://www.googleapis.com/auth/calendar"])
    seed_events(emu, emails)
    org, _, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="x" * 20)
    persons = [Person.objects.create(organization=org, email=e, calendar_state="activated") for e in emails]
    print(f"bench_sync: {USERS} users x {EVENTS} events; DB {env.get('DATABASE_URL', os.environ.get('DATABASE_URL'))}")
    bench_full_sync(emu, control, org, persons)
    bench_calls_per_day(control, persons)
    # Channels for the latency run point at the real web server.
    from calendar_sync.models import CalendarSubscription, Channel
    from calendar_sync.services.subscriptions import subscription_run

    Channel.objects.all().delete()  # (emulator channels of the simulated day point at the same address)
    for p in persons[:100]:
        sub = CalendarSubscription.objects.get(person=p)
        CalendarSubscription.objects.filter(pk=sub.pk).update(lease_until=None, queued_at=None, dirty=False,
                                                              next_sync_at=dt.datetime.now(dt.UTC))
        subscription_run(subscription_id=sub.pk)
    bench_latency(env, control, persons, web_port)
    emu.stop()


if __name__ == "__main__":
    main()
