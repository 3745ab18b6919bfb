"""Control API features: quotas, faults, DNS TXT, request log, stats, state file, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import dns.message
import dns.query
import dns.rdatatype
import dns.resolver
import pytest
from googleapiclient.errors import HttpError

from google_emulator.server import Emulator

from .helpers import DOMAIN, Control, World, http_error, wait_until

ALICE, BOB, CAROL = f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"


def test_quota_per_user_and_per_project(world, ctl):
    ctl.put("/quota", {"per_user_per_minute": 3, "per_project_per_minute": 5, "time_scale": 0.02})
    bob, carol = world.calendar(subject=BOB), world.calendar(subject=CAROL)
    for _ in range(3):
        bob.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as info:
        bob.events().list(calendarId="primary").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"], item["domain"]) == (403, "User Rate Limit Exceeded",
                                                                 "userRateLimitExceeded", "usageLimits")
    for _ in range(2):
        carol.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError) as info:
        carol.events().list(calendarId="primary").execute()
    status, message, item = http_error(info.value)
    assert (status, message, item["reason"]) == (429, "Rate Limit Exceeded", "rateLimitExceeded")
    # Gmail is not subject to the Calendar quota
    world.gmail(subject=BOB).users().settings().getVacation(userId="me").execute()

    def recovered():
        try:
            bob.events().list(calendarId="primary").execute()
            return True
        except HttpError:
            return False

    wait_until(recovered, timeout=5, interval=0.1, message="sliding window to move on")
    ctl.delete("/quota")


def test_faults(world, ctl):
    svc = world.calendar()
    svc.events().list(calendarId="primary").execute()
    ctl.post("/faults", {"method": "GET", "path_regex": r"/calendar/v3/calendars/[^/]+/events$", "status": 503,
                         "count": 2})
    for _ in range(2):
        with pytest.raises(HttpError) as info:
            svc.events().list(calendarId="primary").execute()
        status, message, item = http_error(info.value)
        assert (status, message, item["reason"]) == (503, "Backend Error", "backendError")
    svc.events().list(calendarId="primary").execute()
    # method filter: a POST is not affected by a GET fault
    ctl.post("/faults", {"method": "GET", "path_regex": "/events", "status": 500, "count": 1})
    svc.events().insert(calendarId="primary", body={"start": {"date": "2026-01-01"},
                                                    "end": {"date": "2026-01-02"}}).execute()
    with pytest.raises(HttpError):
        svc.events().list(calendarId="primary").execute()
    # custom body, and a pure delay
    ctl.post("/faults", {"path_regex": "/events", "status": 403, "count": 1, "body": {"error": {
        "code": 403, "message": "Custom", "errors": [{"domain": "global", "reason": "custom", "message": "Custom"}]}}})
    with pytest.raises(HttpError) as info:
        svc.events().list(calendarId="primary").execute()
    assert http_error(info.value)[:2] == (403, "Custom")
    ctl.post("/faults", {"path_regex": "/events", "status": 0, "delay_ms": 300, "count": 1})
    start = time.monotonic()
    svc.events().list(calendarId="primary").execute()
    assert time.monotonic() - start >= 0.3
    assert all(f["count"] == 0 for f in ctl.get("/faults")["faults"])
    ctl.post("/faults", {"path_regex": "/events", "status": 500, "count": -1})
    for _ in range(3):
        with pytest.raises(HttpError):
            svc.events().list(calendarId="primary").execute()
    ctl.delete("/faults")
    svc.events().list(calendarId="primary").execute()


def test_fault_retried_by_client(world, ctl):
    svc = world.calendar()
    svc.events().list(calendarId="primary").execute()
    ctl.post("/faults", {"path_regex": "/events$", "status": 429, "count": 1})
    svc.events().list(calendarId="primary").execute(num_retries=2)


def test_dns_txt(emulator, ctl):
    long_value = "v=hub1; " + "k" * 400
    ctl.put("/dns/_calendar-hub.example.com/txt", {"values": ["hub-verify=abc123", long_value]})
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = emulator.dns_port
    answer = resolver.resolve("_calendar-hub.example.com", "TXT")
    values = sorted(b"".join(r.strings).decode() for r in answer)
    assert values == sorted(["hub-verify=abc123", long_value])
    query = dns.message.make_query("_calendar-hub.example.com", dns.rdatatype.TXT)
    tcp = dns.query.tcp(query, "127.0.0.1", port=emulator.dns_port, timeout=5)
    assert len(tcp.answer[0]) == 2
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("unknown.example.com", "TXT")
    ctl.delete("/dns/_calendar-hub.example.com/txt")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("_calendar-hub.example.com", "TXT")


def test_requests_and_stats(world, ctl):
    start = ctl.get("/requests")["next"]
    svc = world.calendar(subject=BOB)
    svc.events().list(calendarId="primary").execute()
    svc.settings().get(setting="timezone").execute()
    log = ctl.get(f"/requests?since={start}")
    assert [(r["method"], r["path"], r["subject"], r["status"]) for r in log["requests"]] == [
        ("POST", "/token", BOB, 200),
        ("GET", "/calendar/v3/calendars/primary/events", BOB, 200),
        ("GET", "/calendar/v3/users/me/settings/timezone", BOB, 200)]
    assert log["next"] == log["requests"][-1]["seq"]
    assert ctl.get(f"/requests?since={log['next']}")["requests"] == []
    stats = ctl.get("/stats")
    assert stats["calls_by_subject"][BOB] == 2
    assert stats["calls_by_method"]["calendar.v3.Events.List"] == 1
    before = time.time()
    ev = world.add_event(ALICE, {"start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}})
    change = ctl.get("/stats")["changes"][-1]
    assert change["email"] == ALICE and change["event_id"] == ev["id"] and change["committed_at"] >= before


def test_clock_and_event_timestamps(world, ctl):
    now = ctl.get("/clock")["now"]
    moved = ctl.post("/clock", {"advance_seconds": 86400})
    assert moved["now"] - now >= 86400
    ev = world.add_event(ALICE, {"start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}})
    assert ev["updated"] == moved["now_rfc3339"][:10] + ev["updated"][10:]


def test_control_errors(ctl):
    ctl.post("/users", {"email": "bad"}, expect=400)
    ctl.get("/users/nobody@nowhere.test", expect=404)
    ctl.get("/nope", expect=404)
    ctl.put("/projects/p/apis/unknown.googleapis.com", {"enabled": False}, expect=400)


def test_state_file_roundtrip(tmp_path):
    path = str(tmp_path / "state.json")
    emu = Emulator(port=0, state_file=path).start()
    try:
        world = World(emu, Control(emu.base_url))
        ev = world.calendar().events().insert(calendarId="primary", body={
            "start": {"date": "2026-01-01"}, "end": {"date": "2026-01-02"}}).execute()
        key = world.key
    finally:
        emu.stop()
    with open(path, encoding="utf-8") as fh:
        assert json.load(fh)["users"][ALICE]["email"] == ALICE
    emu = Emulator(port=0, state_file=path).start()
    try:
        world2 = World.__new__(World)
        world2.base, world2.key = emu.base_url, dict(key, token_uri=emu.base_url + "/token")
        got = world2.calendar().events().get(calendarId="primary", eventId=ev["id"]).execute()
        assert got["etag"] == ev["etag"]
    finally:
        emu.stop()


def test_cli_prints_base_url(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "google_emulator", "--port", "0", "--dns-port", "0",
                             "--allow-insecure-webhooks", "--state", str(tmp_path / "s.json")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base + "/_emulator/config") as resp:
            assert json.loads(resp.read()) == {"allow_insecure_webhooks": True}
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert (tmp_path / "s.json").exists()
