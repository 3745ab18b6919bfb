"""HTTP front end: the Webex endpoints, the control API and the ``Emulator`` class.

Usage::

    from webex_emulator.server import Emulator
    with Emulator(host="127.0.0.1", port=0) as emu:     # emu.base_url -> "http://127.0.0.1:PORT"
        app = emu.call("POST", "/_emulator/service-apps", {"scopes": [...]})
        ...
"""

from __future__ import annotations

import base64
import json
import random
import re
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import control, meetings_api
from .errors import TokenError, WebexError, default_body, tracking_id
from .state import State

JSON_TYPE = "application/json;charset=UTF-8"
TOKEN_PATH = "/v1/access_token"


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.state = State()
        self.base_url = ""
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.emulator = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="webex-emulator-http"
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ convenience

    def reset(self) -> None:
        self.state.reset()

    def call(self, method: str, path: str, body=None, timeout: float = 30.0):
        """Call the control API over HTTP (``path`` like ``/_emulator/users``) and return the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------ Webex endpoints

    def _match_fault(self, method: str, path: str) -> dict | None:
        with self.state.lock:
            for fault in self.state.faults:
                if fault["count"] == 0:
                    continue
                if fault.get("method") not in (None, "", "*") and fault["method"].upper() != method:
                    continue
                if fault.get("path_regex") and not re.search(fault["path_regex"], path):
                    continue
                if fault["count"] > 0:
                    fault["count"] -= 1
                fault["hits"] += 1
                return dict(fault)
        return None

    def _latency(self) -> None:
        with self.state.lock:
            delay = self.state.latency["delay_ms"]
            jitter = self.state.latency["jitter_ms"]
        total = delay + (random.uniform(0, jitter) if jitter else 0)
        if total > 0:
            time.sleep(total / 1000.0)

    def log(self, entry: dict) -> None:
        state = self.state
        with state.lock:
            state.request_seq += 1
            state.requests.append({"seq": state.request_seq, "time": state.now(), **entry})

    def handle_api(self, method: str, path: str, query: dict, body: bytes, headers):
        """(status, payload or None, headers, log details) of one Webex request."""
        self._latency()
        fault = self._match_fault(method, path)
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            status = int(fault.get("status") or 0)
            if status:
                extra = {}
                if status in (429, 503) or fault.get("retry_after") is not None:
                    extra["Retry-After"] = str(
                        fault.get("retry_after") if fault.get("retry_after") is not None else 1
                    )
                payload = fault.get("body")
                if payload is None:
                    payload = default_body(status)
                return status, payload, extra, {"api": "fault"}
        if path == TOKEN_PATH:
            return self._token(method, body, headers)
        route, args, api = self._route(method, path)
        ctx = meetings_api.Ctx(self.state, self, method, path, query, headers, body)
        try:
            with self.state.lock:
                self._authorize(ctx, headers)
                status, payload = route(ctx, *args)
            return status, payload, ctx.response_headers, {"api": api, "client_id": ctx.app.get("client_id")}
        except WebexError as err:
            return err.status, err.body(), err.headers, {"api": api, "client_id": ctx.app.get("client_id")}
        except Exception:  # pragma: no cover - defensive
            traceback.print_exc(file=sys.stderr)
            return 500, default_body(500), {}, {"api": api}

    def _route(self, method: str, path: str):
        path_matched = False
        for m, rx, fn, api in meetings_api.ROUTES:
            match = rx.match(path)
            if match:
                path_matched = True
                if m == method:
                    return fn, [urllib.parse.unquote(g) for g in match.groups()], api
        if path_matched:
            return _raiser(WebexError(405)), [], None
        return _raiser(WebexError(404)), [], None

    def _authorize(self, ctx, headers) -> None:
        auth = (headers.get("Authorization") or "").strip()
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        found = self.state.access(token) if token else None
        if found is None:
            raise WebexError(401, headers={"WWW-Authenticate": 'Bearer realm="webexapis.com"'})
        ctx.token, ctx.app = found

    def _token(self, method: str, body: bytes, headers):
        if method != "POST":
            err = WebexError(405)
            return 405, err.body(), {}, {"api": "oauth.token"}
        form = {
            k: v[0]
            for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        ctype = (headers.get("Content-Type") or "").lower()
        if ctype.startswith("application/json") and body:
            try:
                data = json.loads(body)
                form = {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
            except ValueError:
                form = {}
        basic = None
        auth = headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
                basic = (urllib.parse.unquote(user), urllib.parse.unquote(password))
            except (ValueError, UnicodeDecodeError):
                basic = None
        try:
            with self.state.lock:
                payload = self.state.grant(form, basic)
            return 200, payload, {}, {"api": "oauth.token", "client_id": form.get("client_id")}
        except TokenError as err:
            return err.status, err.body(), {}, {"api": "oauth.token", "client_id": form.get("client_id")}


def _raiser(error: WebexError):
    def route(ctx, *args):
        raise error

    return route


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "WebexEmulator"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        if getattr(self.server.emulator, "verbose", False):
            super().log_message(format, *args)

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self):
        emu: Emulator = self.server.emulator
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        method = self.command
        if path.startswith("/_emulator"):
            try:
                status, payload = control.handle(emu, method, path, query, body)
            except control.ControlError as err:
                status, payload = err.code, {"error": err.message}
            except Exception as exc:  # pragma: no cover - defensive
                traceback.print_exc(file=sys.stderr)
                status, payload = 500, {"error": repr(exc)}
            self._send(status, payload, {})
            return
        status, payload, headers, details = emu.handle_api(method, path, query, body, self.headers)
        emu.log({"method": method, "path": path, "query": parts.query, "status": status, **details})
        self._send(status, payload, headers)

    def _send(self, status: int, payload, headers: dict) -> None:
        raw = (
            b""
            if payload is None or status == 204
            else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        )
        self.send_response(status)
        if raw:
            self.send_header("Content-Type", JSON_TYPE)
        self.send_header(
            "TrackingID",
            (payload or {}).get("trackingId")
            if isinstance(payload, dict) and payload.get("trackingId")
            else tracking_id("EMULATOR_"),
        )
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)
