"""Keyword figures against the Webex Meetings emulator: an ``@webex`` event answered end to end, and the Webex
calls each keyword event costs.

For each of ``BENCH_EVENTS`` events, an ``@webex`` event is created in the emulated Google Calendar, then the sync a
push notification triggers runs (``calendar_sync_once``: incremental ``events.list``, the page applied, the
keyword acted on: Webex create, the event PATCHed with the join details). The time from the start of that sync
to the PATCH written is one sample. The Webex emulator adds ``BENCH_WEBEX_LATENCY_MS`` (100) to every request,
and the same run without latency is the baseline. Then every event is synced again (our own PATCH coming back
as a change) and handed to the keyword flow once more: those replays must cost no Webex call.

Run: ``.venv/bin/python -m bench.bench_keywords``. Standalone: a temporary SQLite file DB, both emulators in this
process. Prints figures, asserts nothing. Knobs: ``BENCH_EVENTS`` (40), ``BENCH_WEBEX_LATENCY_MS`` (100).
"""

import json
import os
import statistics
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import bench_environment

TMP = Path(tempfile.mkdtemp(prefix="bench_keywords_"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "40"))
LATENCY_MS = int(os.environ.get("BENCH_WEBEX_LATENCY_MS", "100"))
EMAIL = "eli@bench.test"
SITE = "bench.webex.com"


def _call(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def _pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def setup():
    from google_emulator.server import Emulator as GoogleEmulator
    from webex_emulator.server import Emulator as WebexEmulator

    google = GoogleEmulator(host="127.0.0.1", port=0, dns_port=0, allow_insecure_webhooks=True)
    google.start()
    webex = WebexEmulator(host="127.0.0.1", port=0).start()
    key = _call(google.base_url, "POST", "/_emulator/service-accounts", {"project_id": "bench"})
    key_file = TMP / "key.json"
    key_file.write_text(json.dumps(key))
    os.environ.update(bench_environment(
        TMP, GOOGLE_API_ENDPOINT=google.base_url, GOOGLE_SERVICE_ACCOUNT_FILE=str(key_file),
        WEBEX_API_BASE=webex.base_url + "/v1", MEETING_SERVICE_DEFAULT="none"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _call(google.base_url, "POST", "/_emulator/tenants", {"domain": "bench.test", "name": "Bench"})
    _call(google.base_url, "POST", "/_emulator/users", {"email": "admin@bench.test", "is_admin": True})
    _call(google.base_url, "POST", "/_emulator/users", {"email": EMAIL, "locale": "en", "time_zone": "UTC"})
    _call(google.base_url, "PUT", f"/_emulator/tenants/bench.test/delegation/{key['client_id']}",
          {"scopes": ["https://www.googleapis.com/auth/calendar",
                      "https://www.googleapis.com/auth/gmail.settings.basic"]})
    _call(webex.base_url, "POST", "/_emulator/users", {"email": EMAIL, "siteUrl": SITE})
    app = _call(webex.base_url, "POST", "/_emulator/service-apps", {"siteUrls": [SITE]})

    from calendar_sync.scheduling.services import meeting_service_save
    from calendar_sync.sync.models import CalendarSource
    from controlhub.tenancy.models import Domain
    from controlhub.tenancy.orgs import organization_create

    org, _, _ = organization_create(name="Bench", admin_email="admin@bench.test", admin_password="bench-pass-123")
    org.setup_state = "ready"
    org.save(update_fields=["setup_state"])
    Domain.objects.create(organization=org, name="bench.test", state=Domain.State.VERIFIED)
    meeting_service_save(organization=org, values={
        "kind": "webex", "webex_site_url": SITE, "webex_client_id": app["client_id"],
        "webex_client_secret": app["client_secret"], "webex_refresh_token": app["refresh_token"]})
    source = CalendarSource.objects.create(organization=org, calendar_id=EMAIL, subject=EMAIL, name="Eli")
    return google, webex, source


def _sync(source):
    from calendar_sync.sync.engine import calendar_sync_once
    from controlhub.tenancy.google_connection import org_gateway

    source.refresh_from_db()
    return calendar_sync_once(source=source, gateway=org_gateway(source.organization))


def _patches(google, since):
    log = _call(google.base_url, "GET", f"/_emulator/requests?since={since}")
    return log["next"], [r for r in log["requests"] if r["method"] == "PATCH"]


def _webex_calls(webex, since):
    log = _call(webex.base_url, "GET", f"/_emulator/requests?since={since}")
    return log["next"], [(r["method"], r["path"]) for r in log["requests"] if r["path"].startswith("/v1/meeting")]


def run(google, webex, source, latency_ms, label):
    _call(webex.base_url, "PUT", "/_emulator/latency", {"delay_ms": latency_ms, "jitter_ms": 0})
    samples = []
    g_seq = _call(google.base_url, "GET", "/_emulator/requests?since=0")["next"]
    w_seq = _call(webex.base_url, "GET", "/_emulator/requests?since=0")["next"]
    w_start = w_seq
    creates = 0
    base = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    for i in range(EVENTS):
        start = base + timedelta(hours=i)
        _call(google.base_url, "POST", f"/_emulator/users/{EMAIL}/events", {
            "summary": f"{label} {i}", "location": "@webex", "organizer": {"email": EMAIL},
            "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()}})
        t0 = time.perf_counter()
        _sync(source)  # what the push triggers
        g_seq, patches = _patches(google, g_seq)
        samples.append((time.perf_counter() - t0) * 1000)
        if len(patches) != 1:
            print(f"  event {i}: {len(patches)} PATCHes (expected 1)")
    w_seq, calls = _webex_calls(webex, w_seq)
    creates = calls.count(("POST", "/v1/meetings"))
    # Replays: our PATCHes come back through the next sync, and the flow is run again on every event.
    from calendar_sync.scheduling.keywords import process_events
    from controlhub.tenancy.google_connection import org_gateway

    for _ in range(2):
        _sync(source)
    items = org_gateway(source.organization).events_list(EMAIL)["items"]
    process_events(source=source, events=[e for e in items if (e.get("summary") or "").startswith(label)])
    _, replay_calls = _webex_calls(webex, w_seq)
    g_seq, replay_patches = _patches(google, g_seq)
    print(f"{label}: Webex latency {latency_ms} ms, {EVENTS} @webex events: push -> PATCH written "
          f"p50 {statistics.median(samples):.0f} ms, p99 {_pct(samples, 99):.0f} ms, max {max(samples):.0f} ms")
    print(f"{label}: Webex calls per keyword event: {len(calls) / EVENTS:.2f} ({creates / EVENTS:.2f} creates; "
          f"target 1); on replays: {len(replay_calls)} Webex calls, {len(replay_patches)} PATCHes for {EVENTS} "
          f"events replayed (target 0)")
    return w_start


def main():
    google, webex, source = setup()
    try:
        _sync(source)  # the first full sync (sync token); also warms the gateway and the Webex token
        run(google, webex, source, 0, "baseline")
        run(google, webex, source, LATENCY_MS, "latency")
    finally:
        webex.stop()
        google.stop()


if __name__ == "__main__":
    main()
