"""HTTP front end of the emulator: Google endpoints, the control API and the ``Emulator`` class.

Usage::

    from google_emulator.server import Emulator
    emu = Emulator(host="127.0.0.1", port=0, dns_port=0, allow_insecure_webhooks=True)
    emu.start()        # emu.base_url -> "http://127.0.0.1:PORT", emu.dns_port -> int
    ...
    emu.stop()
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import calendar_api, control, workspace_api
from .push import PushDeliverer
from .state import State
from .util import AUTH_INVALID_MESSAGE, AUTH_MISSING_MESSAGE, ApiError, OAuthError, default_error

JSON_TYPE = "application/json; charset=UTF-8"
SERVICE_TITLES = {
    "calendar-json.googleapis.com": "Google Calendar API",
    "gmail.googleapis.com": "Gmail API",
    "admin.googleapis.com": "Admin SDK API",
}
TOKEN_PATHS = ("/token", "/oauth2/v4/token", "/o/oauth2/token")


class Ctx:
    """One API request as seen by a handler."""

    def __init__(self, state: State, method: str, path: str, query: dict, body: bytes, headers):
        self.state = state
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.token: dict = {}
        self.subject: str | None = None
        self._json = None

    def q(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def qall(self, name: str) -> list[str]:
        return list(self.query.get(name) or [])

    def qbool(self, name: str) -> bool:
        return (self.q(name) or "false").lower() == "true"

    def header(self, name: str):
        return self.headers.get(name) if self.headers is not None else None

    def json(self):
        if self._json is None:
            if not self.body:
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.body)
                except ValueError as exc:
                    raise ApiError(400, "Parse Error", "parseError") from exc
        return self._json


def _auth_error(missing: bool, method_name: str, service: str) -> ApiError:
    if missing:
        return ApiError(
            401, AUTH_MISSING_MESSAGE, "required", error_message="Login Required.", location="Authorization",
            location_type="header",
            details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CREDENTIALS_MISSING",
                      "domain": "googleapis.com", "metadata": {"method": method_name, "service": service}}],
            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
    return ApiError(401, AUTH_INVALID_MESSAGE, "authError", error_message="Invalid Credentials",
                    location="Authorization", location_type="header",
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'})


def _disabled_error(service: str, number: str) -> ApiError:
    title = SERVICE_TITLES.get(service, service)
    url = f"https://console.developers.google.com/apis/api/{service}/overview?project={number}"
    message = (f"{title} has not been used in project {number} before or it is disabled. Enable it by visiting "
               f"{url} then retry. If you enabled this API recently, wait a few minutes for the action to "
               "propagate to our systems and retry.")
    details = [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
         "domain": "googleapis.com",
         "metadata": {"service": service, "consumer": f"projects/{number}", "serviceTitle": title,
                      "containerInfo": number, "activationUrl": url}},
        {"@type": "type.googleapis.com/google.rpc.Help",
         "links": [{"description": "Google developers console API activation", "url": url}]},
    ]
    return ApiError(403, message, "accessNotConfigured", "usageLimits", details=details,
                    extra={"extendedHelp": "https://console.developers.google.com"})


def _scope_error(method_name: str, service: str) -> ApiError:
    return ApiError(
        403, "Request had insufficient authentication scopes.", "insufficientPermissions",
        error_message="Insufficient Permission",
        details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                  "domain": "googleapis.com", "metadata": {"method": method_name, "service": service}}],
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"'})


class Emulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, dns_port: int | None = None,
                 allow_insecure_webhooks: bool = False, state_file: str | None = None,
                 push_backoff: float = 0.2, push_tries: int = 5, verbose: bool = False):
        self.host = host
        self.port = port
        self.dns_port = dns_port
        self.state = State(allow_insecure_webhooks=allow_insecure_webhooks)
        self.state_file = state_file
        self.verbose = verbose
        self._push_backoff = push_backoff
        self._push_tries = push_tries
        self._httpd: ThreadingHTTPServer | None = None
        self._dns = None
        self.pushes: PushDeliverer | None = None
        self.base_url = ""
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as fh:
                self.state.load(json.load(fh))

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        self.pushes = PushDeliverer(self.state, backoff=self._push_backoff, max_tries=self._push_tries)
        self.state.push_hook = self.pushes.enqueue
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.emulator = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        self.state.base_url = self.base_url
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                         name="emulator-http").start()
        if self.dns_port is not None:
            from .dns_server import DnsServer

            self._dns = DnsServer(self.state, self.host, self.dns_port)
            self._dns.start()
            self.dns_port = self._dns.port
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._dns is not None:
            self._dns.stop()
            self._dns = None
        if self.pushes is not None:
            self.pushes.close()
            self.pushes = None
        if self.state_file:
            self.save(self.state_file)

    def save(self, path: str) -> None:
        data = self.state.dump()
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ convenience

    def reset(self) -> None:
        self.state.reset()

    def wait_for_pushes(self, timeout: float = 5.0) -> bool:
        """Block until the push queue is drained (deliveries finished or given up)."""
        return self.pushes.wait_idle(timeout) if self.pushes else True

    def call(self, method: str, path: str, body=None, timeout: float = 30.0):
        """Call the control API over HTTP (``path`` like ``/_emulator/users``) and return the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------ Google endpoints

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
                fault["hits"] = fault.get("hits", 0) + 1
                return dict(fault)
        return None

    def _log(self, method: str, path: str, subject, status: int, api_method: str | None, query: str,
             http_method: str | None = None) -> None:
        state = self.state
        with state.lock:
            state.request_seq += 1
            state.requests.append({"seq": state.request_seq, "method": method, "path": path, "subject": subject,
                                   "status": status, "time": time.time(), "api_method": api_method,
                                   "query": query, "http_method": http_method or method})

    def _find_route(self, method: str, path: str):
        if path.startswith("/calendar/v3/"):
            candidates = [(m, rx, fn, name, scopes, "calendar-json.googleapis.com")
                          for m, rx, fn, name, scopes in calendar_api.ROUTES]
        else:
            candidates = workspace_api.ROUTES
        path_matched = False
        for m, rx, fn, name, scopes, service in candidates:
            match = rx.match(path)
            if match:
                path_matched = True
                if m == method:
                    return fn, name, scopes, service, [urllib.parse.unquote(g) for g in match.groups()]
        if path_matched:
            raise ApiError(405, "Method Not Allowed", "httpMethodNotAllowed", status="UNIMPLEMENTED")
        raise ApiError(404, "Not Found", "notFound")

    def _check_quota(self, ctx: Ctx) -> None:
        state = self.state
        cfg = state.quota
        if not cfg:
            return
        window = 60.0 * float(cfg.get("time_scale", 1.0) or 1.0)
        now = time.monotonic()
        project = ctx.token.get("project_id")
        ukey = f"u:{project}:{ctx.subject or ctx.token.get('service_account')}"
        pkey = f"p:{project}"
        queues = state.quota_windows
        for key in (ukey, pkey):
            q = queues.setdefault(key, collections.deque())
            while q and q[0] <= now - window:
                q.popleft()
        per_user = cfg.get("per_user_per_minute")
        per_project = cfg.get("per_project_per_minute")
        if per_user is not None and len(queues[ukey]) >= int(per_user):
            raise ApiError(403, "User Rate Limit Exceeded", "userRateLimitExceeded", "usageLimits")
        if per_project is not None and len(queues[pkey]) >= int(per_project):
            raise ApiError(429, "Rate Limit Exceeded", "rateLimitExceeded", "usageLimits")
        queues[ukey].append(now)
        queues[pkey].append(now)

    def handle_google(self, method: str, path: str, query: dict, raw_query: str, body: bytes, headers):
        """Returns (status, body_bytes, headers, subject, api_method)."""
        state = self.state
        is_token = path in TOKEN_PATHS
        fault = self._match_fault(method, path)
        if fault:
            if fault.get("delay_ms"):
                time.sleep(float(fault["delay_ms"]) / 1000.0)
            status = int(fault.get("status") or 0)
            if status:
                payload = fault.get("body")
                if payload is None:
                    if is_token:
                        payload = {"error": "internal_failure" if status >= 500 else "invalid_request",
                                   "error_description": default_error(status).message}
                    else:
                        payload = default_error(status).body()
                raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                return status, raw, dict(fault.get("headers") or {}), None, "fault"
        if is_token:
            return self._token(method, body, query)
        ctx = Ctx(state, method, path, query, body, headers)
        api_method = None
        try:
            fn, api_method, scopes, service, args = self._find_route(method, path)
            with state.lock:
                self._authorize(ctx, headers, query, api_method, scopes, service)
                state.stats["calls_by_subject"][ctx.subject or ctx.token.get("service_account")] = (
                    state.stats["calls_by_subject"].get(ctx.subject or ctx.token.get("service_account"), 0) + 1)
                state.stats["calls_by_method"][api_method] = state.stats["calls_by_method"].get(api_method, 0) + 1
                status, payload = fn(ctx, *args)
                raw = b"" if payload is None else state.encode(payload)
            return status, raw, {}, ctx.subject, api_method
        except ApiError as err:
            return err.code, json.dumps(err.body()).encode(), err.headers, ctx.subject, api_method
        except Exception:  # pragma: no cover - defensive
            traceback.print_exc(file=sys.stderr)
            err = default_error(500)
            return 500, json.dumps(err.body()).encode(), {}, ctx.subject, api_method

    def _authorize(self, ctx: Ctx, headers, query, api_method, scopes, service) -> None:
        state = self.state
        auth = (headers.get("Authorization") or "").strip()
        value = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not value:
            value = (query.get("access_token") or query.get("oauth_token") or [""])[0]
        if not value:
            raise _auth_error(True, api_method, service)
        tok = state.tokens.get(value)
        if tok is None or tok["expires"] <= state.now():
            raise _auth_error(False, api_method, service)
        if tok["subject"] and state.live_user(tok["subject"]) is None:
            raise _auth_error(False, api_method, service)
        ctx.token = tok
        ctx.subject = tok["subject"]
        project = state.project(tok["project_id"])
        if service in project["disabled"]:
            raise _disabled_error(service, project["number"])
        if not set(tok["scopes"]) & scopes:
            raise _scope_error(api_method, service)
        if service == "calendar-json.googleapis.com":
            self._check_quota(ctx)
        user = state.live_user(ctx.subject)
        if user is not None and user.get("suspended"):
            if service == "calendar-json.googleapis.com":
                raise ApiError(403, "The user must be signed up for Google Calendar.", "notACalendarUser",
                               "calendar")
            if service == "gmail.googleapis.com":
                raise ApiError(400, "Mail service not enabled", "failedPrecondition", status="FAILED_PRECONDITION")
            raise ApiError(403, workspace_api.NOT_AUTHORIZED, "forbidden")

    def _token(self, method: str, body: bytes, query: dict):
        subject = None
        try:
            if method != "POST":
                raise OAuthError(405, "invalid_request", "Method not allowed")
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                                                keep_blank_values=True).items()}
            try:
                claims = form.get("assertion", "").split(".")[1]
                subject = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))).get("sub")
            except (IndexError, ValueError, AttributeError):
                subject = None
            with self.state.lock:
                resp = self.state.grant_token(form)
            return 200, json.dumps(resp).encode(), {}, subject, "oauth2.token"
        except OAuthError as err:
            return err.code, json.dumps(err.body()).encode(), {}, subject, "oauth2.token"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small JSON responses must not wait ~40 ms for the client's delayed ACK (Nagle + delayed ACK).
    disable_nagle_algorithm = True
    server_version = "ESF"
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
        method = self.command
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        raw_query = parts.query
        if path.startswith("/_emulator"):
            try:
                status, payload, headers = control.handle(emu, method, path, query, body)
            except control.ControlError as err:
                status, payload, headers = err.code, {"error": err.message}, {}
            except Exception as exc:  # pragma: no cover - defensive
                traceback.print_exc(file=sys.stderr)
                status, payload, headers = 500, {"error": repr(exc)}, {}
            raw = b"" if payload is None else json.dumps(payload).encode()
            self._send(status, raw, headers)
            return
        override = self.headers.get("X-HTTP-Method-Override")
        if override and method == "POST":
            method = override.upper()
            ctype = (self.headers.get("Content-Type") or "").lower()
            if body and (ctype.startswith("application/x-www-form-urlencoded") or method == "GET"):
                extra = body.decode("utf-8", "replace")
                for k, v in urllib.parse.parse_qs(extra, keep_blank_values=True).items():
                    query.setdefault(k, []).extend(v)
                raw_query = raw_query + ("&" if raw_query else "") + extra
                body = b""
        status, raw, headers, subject, api_method = emu.handle_google(method, path, query, raw_query, body,
                                                                      self.headers)
        emu._log(method, path, subject, status, api_method, raw_query, self.command)
        self._send(status, raw, headers)

    def _send(self, status: int, raw: bytes, headers: dict) -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", JSON_TYPE)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status == 204:
            raw = b""
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)
