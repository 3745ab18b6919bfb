"""The production path end to end, with a real worker process: Google pushes a change to the web server, the
webhook enqueues a sync on the configured broker (django-q2 ORM broker on SQLite, Redis in the scale-out run),
a separate `manage.py qcluster` process runs it against the same database, and the meeting appears."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Success

from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import Channel, Meeting
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


@pytest.fixture
def worker(google_tenant, settings, live_server):
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
    })
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    log_path = ROOT / "var" / f"test-worker-{os.getpid()}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    print(log_path.read_text()[-4000:])  # shown by pytest when the test fails
    log_path.unlink()


def test_push_to_worker_to_meeting(google_tenant, org, settings, live_server, worker, monkeypatch):
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
    assert worker.poll() is None, "the worker exited"
    assert decrypt_fields(org, meeting, ("title", "join_url")) == {
        "title": "Quarterly review", "join_url": "https://acme.webex.com/meet/ana"}
    assert meeting.join_provider == "webex"
    # The sync ran in the worker, not inline: django-q2 recorded its success there.
    assert wait_until(lambda: Success.objects.filter(func="calendar_sync.sync.sources.source_sync_task").exists(),
                      timeout=15, message="the worker to record the task result")
