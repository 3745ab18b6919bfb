"""The production path end to end, with real worker processes: Google pushes a change to the web server, the
webhook enqueues a sync on the configured broker (django-q2 ORM broker on SQLite, Redis in the scale-out run),
a separate `manage.py run_workers` process runs it against the same database, and the meeting appears. The
workers stop cleanly on a SIGTERM to their process group, and a calendar whose worker was killed mid-sync is
synced again by another cluster once its lease (heartbeat-renewed while the sync ran) runs out."""

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Failure, Success

from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import CalendarSource, Channel, Meeting
from calendar_sync.sync.sources import source_mark_changed
from controlhub.people.calendar import person_calendar_start
from controlhub.people.models import Person
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db(transaction=True)


def _database_url():
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class Workers:
    """`manage.py run_workers` in a process group of its own, as a service manager starts it."""

    def __init__(self, env, name):
        self.log_path = ROOT / "var" / f"test-{name}-{os.getpid()}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, "manage.py", "run_workers", "--interval", "0.5"], cwd=ROOT,
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def running(self):
        return "running" in self.log_path.read_text()

    def signal_group(self, signum):
        os.killpg(self.proc.pid, signum)

    def close(self):
        if self.proc.poll() is None:
            self.signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()
        print(self.log_path.read_text()[-4000:])  # shown by pytest when the test fails
        self.log_path.unlink()


@pytest.fixture
def start_workers(google_tenant, settings, live_server):
    started = []

    def start(name="worker", **extra):
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "Q_SYNC")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "controlhub.settings",
            "DEBUG": "0",
            "SECRET_KEY": django_settings.SECRET_KEY,
            "ENCRYPTION_KEYS": settings.ENCRYPTION_KEYS,
            "DATABASE_URL": _database_url(),
            "GOOGLE_API_ENDPOINT": settings.GOOGLE_API_ENDPOINT,
            "GOOGLE_SERVICE_ACCOUNT_FILE": settings.GOOGLE_SERVICE_ACCOUNT_FILE,
            "GOOGLE_RETRY_BASE": "0.01",
            "PUBLIC_BASE_URL": live_server.url,
            "WEBHOOK_BASE_URL": live_server.url,
            "Q_WORKERS": "1",
            **{k: str(v) for k, v in extra.items()},
        })
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        workers = Workers(env, f"{name}-{len(started)}")
        started.append(workers)
        wait_until(workers.running, timeout=30, message="the workers to start")
        return workers

    yield start
    for workers in started:
        workers.close()


def test_push_to_worker_to_meeting(google_tenant, org, settings, live_server, start_workers, monkeypatch):
    workers = start_workers()
    settings.WEBHOOK_BASE_URL = live_server.url
    ana = Person.objects.create(organization=org, email="ana@acme.test",
                                calendar_state=Person.CalendarState.ACTIVATED)
    person_calendar_start(person_id=ana.pk)  # first sync and push channel, inline
    assert Channel.objects.filter(source__person=ana, state="active").exists()

    monkeypatch.setattr(Conf, "SYNC", False)  # from here on the webhook enqueues on the real broker
    start = (timezone.now() + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    event = google_tenant.create_event("ana@acme.test", {
        "summary": "Quarterly review", "location": "https://acme.webex.com/meet/ana",
        "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat()}})

    meeting = wait_until(lambda: Meeting.objects.filter(google_event_id=event["id"]).first(), timeout=45,
                         message="the worker process to sync the pushed change")
    assert workers.proc.poll() is None, "the worker exited"
    assert decrypt_fields(org, meeting, ("title", "join_url")) == {
        "title": "Quarterly review", "join_url": "https://acme.webex.com/meet/ana"}
    assert meeting.join_provider == "webex"
    # The sync ran in the worker, not inline: its monitor reported it. A sync's success is not stored as a
    # django-q2 row (its outcome is on the source's row); nothing failed either.
    processed = "Processed 'calendar_sync.sync.sources.source_sync_task'"
    assert wait_until(lambda: processed in workers.log_path.read_text(), timeout=15,
                      message="the worker to report the task done")
    assert not Success.objects.filter(func="calendar_sync.sync.sources.source_sync_task").exists()
    assert not Failure.objects.exists()


def test_sigterm_to_the_process_group_stops_the_workers_within_10_s(start_workers):
    workers = start_workers()
    time.sleep(1.0)  # idle: the state in which stock qcluster ignored SIGTERM
    started = time.monotonic()
    workers.signal_group(signal.SIGTERM)  # what systemd (KillMode=control-group), Docker and Ctrl-C do
    workers.signal_group(signal.SIGTERM)  # a second one while stopping is harmless
    assert workers.proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 10
    log = workers.log_path.read_text()
    assert "stopped cleanly" in log and "Traceback" not in log and "AttributeError" not in log


def test_a_killed_workers_calendar_is_synced_again_once_its_lease_runs_out(google_tenant, org, start_workers,
                                                                         monkeypatch):
    lease = 2.0
    ana = Person.objects.create(organization=org, email="ana@acme.test",
                                calendar_state=Person.CalendarState.ACTIVATED)
    person_calendar_start(person_id=ana.pk)
    source = CalendarSource.objects.get(person=ana)
    monkeypatch.setattr(Conf, "SYNC", False)  # enqueue on the real broker
    # Google answers this calendar slowly: the first cluster's sync is in flight for 6 s, three leases long.
    google_tenant.fault(method="GET", path_regex=r"ana(%40|@)acme\.test/events$", status=0, delay_ms=6000, count=1)
    first = start_workers("first", SYNC_LEASE_SECONDS=lease, GOOGLE_HTTP_TIMEOUT=30)
    event = google_tenant.create_event("ana@acme.test", {
        "summary": "Written while the worker dies", "start": {"dateTime": (timezone.now() + dt.timedelta(
            hours=2)).isoformat()}, "end": {"dateTime": (timezone.now() + dt.timedelta(hours=3)).isoformat()}})
    CalendarSource.objects.filter(pk=source.pk).update(lease_until=None, queued_at=None)
    assert source_mark_changed(source_id=source.pk)
    wait_until(lambda: CalendarSource.objects.filter(pk=source.pk, lease_until__isnull=False).exists(),
               timeout=15, message="the first cluster to take the calendar")
    # While the call hangs, the heartbeat keeps the lease: nobody may take the calendar.
    deadline = time.monotonic() + 2.5 * lease
    while time.monotonic() < deadline:
        held = CalendarSource.objects.get(pk=source.pk).lease_until
        assert held is not None and held > timezone.now(), "the lease ran out while its sync was alive"
        time.sleep(0.2)
    first.signal_group(signal.SIGKILL)  # the whole cluster dies mid-sync, its heartbeat with it
    first.proc.wait(timeout=10)
    killed = time.monotonic()
    assert not Meeting.objects.filter(google_event_id=event["id"]).exists()
    start_workers("second", SYNC_LEASE_SECONDS=lease)
    wait_until(lambda: Meeting.objects.filter(google_event_id=event["id"]).exists(), timeout=30,
               message="another cluster to sync the calendar of the killed one")
    took = time.monotonic() - killed
    print(f"synced again {took:.1f}s after the kill (lease {lease:.0f}s, a new cluster started meanwhile)")
    assert took < 30


def test_an_idle_worker_that_never_takes_its_stop_pill_is_killed_and_the_stop_is_still_clean(start_workers):
    workers = start_workers(Q_WORKERS=2, WORKER_STOP_IDLE_GRACE=2)

    def ready():
        pids = [int(pid) for pid in re.findall(r"ready for work at (\d+)", workers.log_path.read_text())]
        return pids if len(pids) == 2 else None

    pids = wait_until(ready, timeout=30, message="both workers to be ready")
    os.kill(pids[0], signal.SIGSTOP)  # wedged: alive, idle, and it will never read its pill
    started = time.monotonic()
    workers.signal_group(signal.SIGTERM)
    assert workers.proc.wait(timeout=30) == 0
    took = time.monotonic() - started
    log = workers.log_path.read_text()
    assert f"worker {pids[0]} idle" in log and "killed" in log
    assert "stopped cleanly" in log and "Traceback" not in log
    assert took < 2 + 10, f"stopped in {took:.1f}s"
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
