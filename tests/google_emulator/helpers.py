"""Helpers for the emulator conformance suite: control client, seeded world, push receiver."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.oauth2 import service_account
from googleapiclient.discovery import build

from google_emulator.server import Emulator

DOMAIN = "example.com"
PROJECT = "calhub-test"
A = "https://www.googleapis.com/auth/"
CAL = A + "calendar"
ALL_SCOPES = [
    CAL,
    A + "calendar.readonly",
    A + "calendar.events",
    A + "calendar.events.readonly",
    A + "calendar.settings.readonly",
    A + "calendar.acls",
    A + "calendar.acls.readonly",
    A + "calendar.freebusy",
    "https://mail.google.com/",
    A + "gmail.settings.basic",
    A + "gmail.readonly",
    A + "admin.directory.user.readonly",
    A + "admin.directory.user",
    A + "admin.directory.resource.calendar.readonly",
    A + "admin.directory.resource.calendar",
]
RESOURCE_RO = A + "admin.directory.resource.calendar.readonly"


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.02, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


class Control:
    def __init__(self, base: str):
        self.base = base

    def call(self, method: str, path: str, body=None, expect: int | None = 200):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + "/_emulator" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if expect is not None:
            assert status == expect, (status, raw)
        return json.loads(raw) if raw else None

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


class World:
    """A seeded tenant: alice (admin), bob, carol; one service account with full delegation."""

    def __init__(self, emu: Emulator, ctl: Control):
        self.emu = emu
        self.ctl = ctl
        self.base = emu.base_url
        ctl.post("/tenants", {"domain": DOMAIN, "name": "Example Inc"})
        self.alice = ctl.post("/users", {"email": f"alice@{DOMAIN}", "given_name": "Alice", "family_name": "Admin",
                                         "is_admin": True, "time_zone": "Europe/Paris", "locale": "fr"})
        self.bob = ctl.post("/users", {"email": f"bob@{DOMAIN}", "given_name": "Bob", "family_name": "Builder"})
        self.carol = ctl.post("/users", {"email": f"carol@{DOMAIN}", "given_name": "Carol", "family_name": "C"})
        self.key = ctl.post("/service-accounts", {"project_id": PROJECT})
        self.client_id = self.key["client_id"]
        ctl.put(f"/tenants/{DOMAIN}/delegation/{self.client_id}", {"scopes": ALL_SCOPES})

    def creds(self, subject: str = f"alice@{DOMAIN}", scopes=(CAL,), key: dict | None = None):
        return service_account.Credentials.from_service_account_info(key or self.key, scopes=list(scopes),
                                                                     subject=subject)

    def calendar(self, subject: str = f"alice@{DOMAIN}", scopes=(CAL,), key: dict | None = None):
        return build("calendar", "v3", credentials=self.creds(subject, scopes, key), static_discovery=True,
                     cache_discovery=False, client_options={"api_endpoint": self.base + "/calendar/v3/"})

    def gmail(self, subject: str = f"alice@{DOMAIN}", scopes=("https://mail.google.com/",)):
        return build("gmail", "v1", credentials=self.creds(subject, scopes), static_discovery=True,
                     cache_discovery=False, client_options={"api_endpoint": self.base + "/"})

    def directory(self, subject: str = f"alice@{DOMAIN}", scopes=(A + "admin.directory.user.readonly",)):
        return build("admin", "directory_v1", credentials=self.creds(subject, scopes), static_discovery=True,
                     cache_discovery=False, client_options={"api_endpoint": self.base + "/"})

    def resource(self, email: str | None = None, name: str = "Room", **fields) -> dict:
        """A room of this tenant (control API); ``fields`` as the control API takes them (capacity, ...)."""
        body = {"name": name, "domain": DOMAIN, **fields}
        if email:
            body["email"] = email
        return self.ctl.post("/resources", body)

    def add_event(self, email: str, body: dict) -> dict:
        return self.ctl.post(f"/users/{email}/events", body)


def event(start: str, end: str, **fields) -> dict:
    """An event body from two UTC wall times like ``2026-05-04T10:00``."""
    return {"start": {"dateTime": start + ":00Z"}, "end": {"dateTime": end + ":00Z"}, **fields}


class PushReceiver:
    """Records push notifications; ``statuses`` lets a test script the answers (default 200)."""

    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append({"headers": dict(self.headers.items()), "body": body,
                                              "path": self.path, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self, channel_id: str | None = None, ok_only: bool = True) -> list[dict]:
        with self.lock:
            return [m for m in self.received
                    if (channel_id is None or m["headers"].get("X-Goog-Channel-ID") == channel_id)
                    and (not ok_only or m["status"] == 200)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()




def http_error(exc) -> tuple[int, str, dict]:
    """(status, top-level message, first errors[] item) of a googleapiclient HttpError."""
    body = json.loads(exc.content)
    return exc.resp.status, exc.reason, body["error"]["errors"][0]
