"""Throughput of the emulator for events.list pages of 250 events with 8 concurrent clients.

Run from the repository root: ``.venv/bin/python -m bench.bench_emulator [--seconds 5] [--clients 8]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build

from google_emulator.client import EmulatorControl
from google_emulator.server import Emulator

DOMAIN = "bench.example"
USER = f"owner@{DOMAIN}"
SCOPE = "https://www.googleapis.com/auth/calendar.readonly"


def control(base: str, method: str, path: str, body=None):
    return EmulatorControl(base).call(method, "/_emulator" + path, body)


class _Remote:
    """An emulator in its own process (``python -m google_emulator``), so clients do not share its GIL."""

    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen([sys.executable, "-m", "google_emulator", "--port", "0"],
                                     stdout=subprocess.PIPE, text=True, env=env)
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("emulator did not start")

    def stop(self):
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


def seed(emu, events: int) -> dict:
    base = emu.base_url
    control(base, "POST", "/tenants", {"domain": DOMAIN, "name": "Bench"})
    control(base, "POST", "/users", {"email": USER, "time_zone": "Europe/Paris"})
    key = control(base, "POST", "/service-accounts", {"project_id": "bench"})
    control(base, "PUT", f"/tenants/{DOMAIN}/delegation/{key['client_id']}", {"scopes": [SCOPE]})
    for n in range(events):
        day, hour = divmod(n, 10)
        control(base, "POST", f"/users/{USER}/events", {
            "summary": f"Event {n}", "description": "seeded for the benchmark", "location": "Room 1",
            "start": {"dateTime": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{8 + hour:02d}:00:00",
                      "timeZone": "Europe/Paris"},
            "end": {"dateTime": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{8 + hour:02d}:45:00",
                    "timeZone": "Europe/Paris"},
            "attendees": [{"email": "guest@partner.example"}],
            "extendedProperties": {"private": {"bench": str(n)}}})
    return key


def client(emu, key: dict):
    creds = service_account.Credentials.from_service_account_info(key, scopes=[SCOPE], subject=USER)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http())
    return build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": emu.base_url + "/calendar/v3/"})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--events", type=int, default=2500)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args(argv)

    emu = Emulator(port=0).start() if args.in_process else _Remote()
    try:
        key = seed(emu, args.events)
        services = [client(emu, key) for _ in range(args.clients)]
        for svc in services:  # warm up: token + connection
            svc.events().list(calendarId="primary", maxResults=1).execute()
        counts = [0] * args.clients
        errors: list[BaseException] = []
        stop = threading.Event()

        def worker(i: int) -> None:
            svc, token = services[i], None
            try:
                while not stop.is_set():
                    resp = svc.events().list(calendarId="primary", maxResults=250, pageToken=token).execute()
                    assert len(resp["items"]) == 250 or "nextSyncToken" in resp
                    token = resp.get("nextPageToken")
                    counts[i] += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise errors[0]
        print(f"emulator events.list pages/s: {sum(counts) / elapsed:.1f} (250 events/page, {args.clients} clients)")
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
