"""Delegated access to Google Calendar, Gmail and Directory for one service-account key.

Cost discipline (measured: building credentials from the key JSON costs ~29 ms because the RSA key is parsed and
validated; building a discovery client costs a few ms):
- the key is parsed once per process and gateway (``from_service_account_info``), and per-(subject, scopes)
  credentials are cheap copies of it (``with_subject``/``with_scopes`` reuse the signer), cached with their tokens;
- one ``httplib2.Http`` per thread (httplib2 is not thread-safe), with an explicit timeout;
- one discovery client per (thread, API), built from the static discovery document; each request is executed
  with ``http=AuthorizedHttp(credentials, thread_http)``, so one client serves every subject;
- the client's sub-resources (``events()``, ``settings()``, ``channels()``, ``users().settings()``...) are cached
  with it (``_CachedResource``): googleapiclient builds a new ``Resource`` with all its methods from the discovery
  document on every such call (~1-5 ms), which cost more than a 60-event page over the wire.

Every failure leaves as one of ``calendar_sync.google.errors``. Retryable failures (5xx, timeouts, rate limits)
are retried with jittered exponential backoff, capped (https://developers.google.com/workspace/calendar/api/guides/quota),
but only briefly and only where a person waits for the answer (Test connection, activation): one call never sleeps
longer than ``RetryPolicy.cap`` between attempts, and a ``Retry-After`` beyond it is handed to the caller at once.
Background work (the sync engine) runs ``single_attempt()``: every call is one attempt bounded by the HTTP timeout,
token requests included, and a retryable failure is raised for the caller to *schedule* the retry, so no worker
sleeps waiting for Google.
"""

import hashlib
import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from calendar_sync.google import errors
from calendar_sync.google.backoff import Backoff
from calendar_sync.google.keys import ServiceAccountKey

logger = logging.getLogger(__name__)

SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_GMAIL_SETTINGS = "https://www.googleapis.com/auth/gmail.settings.basic"
SCOPE_DIRECTORY_READONLY = "https://www.googleapis.com/auth/admin.directory.user.readonly"
# Directory resources.calendars (room import and validation), asked for only when workspaces are on.
SCOPE_ROOMS_READONLY = "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly"
# What every activated person needs delegated: their calendar and their out-of-office responder.
CORE_SCOPES = (SCOPE_CALENDAR, SCOPE_GMAIL_SETTINGS)

API_SERVICE_NAMES = {
    "calendar": "calendar-json.googleapis.com",
    "gmail": "gmail.googleapis.com",
    "admin": "admin.googleapis.com",
}
_API_VERSIONS = {"calendar": "v3", "gmail": "v1", "admin": "directory_v1"}
_REAL_ROOTS = {
    "calendar": "https://www.googleapis.com/calendar/v3/",
    "gmail": "https://gmail.googleapis.com/",
    "admin": "https://admin.googleapis.com/",
}


class RetryPolicy(Backoff):
    """How one Google call is retried in place: ``max_attempts`` attempts spaced by the shared backoff policy, never
    more than ``cap`` seconds apart. A ``Retry-After`` longer than ``cap`` is not slept: the error is raised with it,
    and the caller decides when to try again."""

    def __init__(self, max_attempts=3, base=0.5, cap=2.0):
        super().__init__(base=base, cap=cap)
        self.max_attempts = max_attempts

    def wait(self, attempt, retry_after=None):
        """Seconds to sleep before attempt ``attempt + 1``, or None when the call must not be retried in place."""
        if attempt >= self.max_attempts:
            return None
        try:
            asked = float(retry_after) if retry_after not in (None, "") else None
        except (TypeError, ValueError):
            asked = None
        if asked is not None and asked > self.cap:
            return None
        return self.delay(attempt, retry_after)


_policy = threading.local()


@contextmanager
def single_attempt():
    """Inside this block (on this thread) every Google call is made once: no sleeping between attempts, no
    google-auth token retries. A retryable failure is raised at once (with its ``retry_after``) so background work
    can record it and schedule the next attempt instead of holding its worker."""
    previous = getattr(_policy, "single", False)
    _policy.single = True
    try:
        yield
    finally:
        _policy.single = previous


def in_single_attempt():
    return getattr(_policy, "single", False)


class _TokenEndpointBusy(Exception):
    """The token endpoint answered with a retryable status while retries are off (see ``_TokenRequest``)."""

    def __init__(self, status, retry_after=None, data=b""):
        super().__init__(f"token endpoint answered HTTP {status}")
        self.status = status
        self.retry_after = retry_after
        self.data = data


class _TokenRequest(google_auth_httplib2.Request):
    """google-auth's httplib2 transport for token requests. google-auth retries a 5xx/429 token answer itself, with
    sleeps (about 1 s then 2 s); with ``single=True`` the first such answer is raised instead, so a token request is
    one attempt like every other call."""

    _RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})

    def __init__(self, http, *, single=False):
        super().__init__(http)
        self.single = single

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        response = super().__call__(url, method=method, body=body, headers=headers, **kwargs)
        if self.single and response.status in self._RETRYABLE:
            retry_after = (response.headers or {}).get("retry-after")
            raise _TokenEndpointBusy(response.status, retry_after, response.data)
        return response


# --- error mapping --------------------------------------------------------------------------------------------
def _token_error(exc):
    payload = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            payload = {"error_description": payload}
    payload = payload if isinstance(payload, dict) else {}
    code = payload.get("error", "")
    desc = payload.get("error_description", "") or str(exc.args[0] if exc.args else exc)
    text = f"{code}: {desc}" if code else desc
    kwargs = {"payload": payload, "reason": code}
    if getattr(exc, "retryable", False) or code in ("internal_failure", "server_error", "temporarily_unavailable"):
        return errors.GoogleUnavailable(text, **kwargs)
    if code == "unauthorized_client":
        return errors.DelegationNotAuthorized(text, status=401, **kwargs)
    if code == "access_denied":
        return errors.ScopeNotAuthorized(text, status=400, **kwargs)
    if code == "invalid_grant":
        lower = desc.lower()
        if "invalid email or user id" in lower or "not a valid email" in lower:
            return errors.UserNotFound(text, status=400, **kwargs)
        if "has been deleted" in lower:
            return errors.UserDeleted(text, status=400, **kwargs)
        if "short-lived" in lower or "timeframe" in lower:
            return errors.ClockSkew(text, status=400, **kwargs)
        if "signature" in lower or "no valid verifier" in lower:
            return errors.InvalidKey(text, status=400, **kwargs)
        return errors.InvalidKey(text, status=400, **kwargs)
    if code in ("invalid_client", "deleted_client", "disabled_client"):
        return errors.InvalidKey(text, **kwargs)
    if code == "invalid_request" and "sub" in desc.lower():
        return errors.UserNotFound(text, status=400, **kwargs)
    if code == "invalid_scope":
        return errors.ScopeNotAuthorized(text, status=400, **kwargs)
    if not payload:
        return errors.GoogleUnavailable(text)
    return errors.GoogleError(text, **kwargs)


def _http_error(exc):
    status = exc.resp.status
    try:
        body = json.loads(exc.content.decode("utf-8") if isinstance(exc.content, bytes) else exc.content)
    except (ValueError, UnicodeDecodeError, AttributeError):
        body = {}
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    items = err.get("errors") or [{}]
    reason = items[0].get("reason", "") if isinstance(items[0], dict) else ""
    message = err.get("message") or getattr(exc, "reason", "") or f"HTTP {status}"
    kwargs = {"payload": body, "status": status, "reason": reason}
    retry_after = exc.resp.get("retry-after")
    if reason == "accessNotConfigured" or "SERVICE_DISABLED" in json.dumps(err.get("details", [])):
        api, project = "", ""
        for detail in err.get("details", []) or []:
            meta = detail.get("metadata", {}) if isinstance(detail, dict) else {}
            api = api or meta.get("service", "")
            project = project or meta.get("consumer", "").removeprefix("projects/")
        if not api:
            api = next((svc for svc in API_SERVICE_NAMES.values() if svc in message), "")
        return errors.ApiDisabled(message, api=api, project=project, **kwargs)
    if reason in ("userRateLimitExceeded", "rateLimitExceeded") or status == 429:
        return errors.RateLimited(message, retry_after=retry_after, **kwargs)
    if reason == "notACalendarUser":
        return errors.NotACalendarUser(message, **kwargs)
    if reason == "insufficientPermissions":
        return errors.ScopeNotAuthorized(message, **kwargs)
    if status == 400 and "Mail service not enabled" in message:
        return errors.MailServiceNotEnabled(message, **kwargs)
    if status == 410 and reason in ("fullSyncRequired", "updatedMinTooLongAgo"):
        return errors.SyncTokenInvalid(message, **kwargs)
    if status == 410:
        return errors.Gone(message, **kwargs)
    if status == 404:
        return errors.NotFound(message, **kwargs)
    if status == 412:
        return errors.PreconditionFailed(message, **kwargs)
    if status == 403:
        return errors.NotAuthorized(message, **kwargs)
    if status == 401:
        return errors.InvalidKey(message, **kwargs)
    if status >= 500 or status == 408:
        return errors.GoogleUnavailable(message, **kwargs)
    if status == 400:
        return errors.BadRequest(message, **kwargs)
    return errors.GoogleError(message, **kwargs)


def map_exception(exc):
    """Turn any exception raised while talking to Google into one of ours (or return it if already ours)."""
    if isinstance(exc, errors.GoogleError):
        return exc
    if isinstance(exc, _TokenEndpointBusy):
        text = f"Google's token endpoint answered HTTP {exc.status}"
        if exc.status == 429:
            return errors.RateLimited(text, status=429, retry_after=exc.retry_after)
        return errors.GoogleUnavailable(text, status=exc.status)
    if isinstance(exc, auth_exceptions.RefreshError):
        return _token_error(exc)
    if isinstance(exc, HttpError):
        return _http_error(exc)
    if isinstance(exc, auth_exceptions.TransportError | httplib2.HttpLib2Error | socket.timeout | OSError):
        return errors.GoogleUnavailable(f"Google could not be reached: {exc.__class__.__name__}: {exc}")
    return None


# --- the gateway -------------------------------------------------------------------------------------------
class _CachedResource:
    """A discovery ``Resource`` whose sub-resources are built once and kept (one per thread, like the client).

    Every other attribute (request methods such as ``list``/``get``, ``new_batch_http_request``...) is the
    wrapped resource's own.
    """

    def __init__(self, resource):
        self._resource = resource

    def __getattr__(self, name):
        attr = getattr(self._resource, name)
        if not getattr(attr, "__is_resource__", False):
            return attr
        child = _CachedResource(attr())

        def sub_resource():
            return child

        self.__dict__[name] = sub_resource  # later look-ups skip __getattr__
        return sub_resource


_token_store = None


def use_token_store(store):
    """Share delegated tokens between the processes of a deployment (each worker would otherwise mint its own
    token for every subject, an extra call to Google's token endpoint per subject, process and hour).

    ``store.get(key) -> (token, expiry) | None``, ``store.put(key, token, expiry)`` and ``store.drop(key)``, the
    expiry a naive UTC datetime as google-auth keeps it and ``key`` an opaque digest of key, subject and scopes.
    A failing store never fails a call: the token is then minted as without one. ``None`` unsets it."""
    global _token_store
    _token_store = store
    return store


def _store_call(method, *args):
    try:
        return getattr(_token_store, method)(*args)
    except Exception:  # noqa: BLE001 - the store is an optimisation; Google is the source of tokens
        logger.warning("shared token store %s failed", method, exc_info=True)
        return None


class Gateway:
    """All Google access for one service-account key. Thread-safe; share one per key (see ``gateway_for_key``)."""

    def __init__(self, key: ServiceAccountKey, *, endpoint="", timeout=10.0, retry=None, max_clients=4096):
        self.key = key
        self.endpoint = (endpoint or "").rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._base_credentials = service_account.Credentials.from_service_account_info(key.info)
        self._credentials = OrderedDict()
        self._credentials_lock = threading.Lock()
        self._max_clients = max_clients
        self._local = threading.local()

    # credentials -----------------------------------------------------------------------------------------
    def credentials(self, subject, scopes):
        cache_key = (subject.lower(), tuple(sorted(scopes)))
        with self._credentials_lock:
            creds = self._credentials.get(cache_key)
            if creds is not None:
                self._credentials.move_to_end(cache_key)
                return creds
        creds = self._base_credentials.with_scopes(list(scopes)).with_subject(subject)
        with self._credentials_lock:
            creds = self._credentials.setdefault(cache_key, creds)
            while len(self._credentials) > self._max_clients:
                self._credentials.popitem(last=False)
        return creds

    def _http(self):
        http = getattr(self._local, "http", None)
        if http is None:
            http = httplib2.Http(timeout=self.timeout)
            self._local.http = http
        return http

    def _service(self, api):
        services = getattr(self._local, "services", None)
        if services is None:
            services = self._local.services = {}
        service = services.get(api)
        if service is None:
            options = None
            if self.endpoint:
                root = self.endpoint + ("/calendar/v3/" if api == "calendar" else "/")
                options = {"api_endpoint": root}
            service = _CachedResource(discovery.build(
                api, _API_VERSIONS[api], http=httplib2.Http(timeout=self.timeout), static_discovery=True,
                client_options=options, cache_discovery=False,
            ))
            services[api] = service
        return service

    def fetch_token(self, subject, scopes, *, fresh=False):
        """Mint (or reuse) a delegated access token. Raises our typed errors.

        ``fresh=True`` ignores a cached token and asks Google again (Test connection must prove that delegation
        works *now*, not an hour ago); a fresh token then replaces the cached one, and a failure drops it.
        """
        if fresh:
            cache_key = (subject.lower(), tuple(sorted(scopes)))
            creds = self._base_credentials.with_scopes(list(scopes)).with_subject(subject)
        else:
            creds = self.credentials(subject, scopes)
            if creds.valid:
                return creds.token
        try:
            if fresh:
                self._refresh(creds)
                self._share(creds, subject, scopes)
            else:
                self._obtain(creds, subject, scopes)
        except Exception as exc:  # noqa: BLE001 - mapped below
            if fresh:
                with self._credentials_lock:
                    self._credentials.pop(cache_key, None)
                if _token_store is not None:
                    _store_call("drop", self._token_key(subject, scopes))
            mapped = map_exception(exc)
            if mapped is None:
                raise
            raise mapped from exc
        if fresh:
            with self._credentials_lock:
                self._credentials[cache_key] = creds
                self._credentials.move_to_end(cache_key)
        return creds.token

    def _token_key(self, subject, scopes):
        raw = f"{self.key.fingerprint}\n{self.endpoint}\n{subject.lower()}\n{' '.join(sorted(scopes))}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def _obtain(self, creds, subject, scopes):
        """Give ``creds`` a valid token: one another process minted (the shared store), else a new one."""
        if _token_store is not None:
            shared = _store_call("get", self._token_key(subject, scopes))
            if shared:
                creds.token, creds.expiry = shared
                if creds.valid:
                    return
        self._refresh(creds)
        self._share(creds, subject, scopes)

    def _share(self, creds, subject, scopes):
        if _token_store is not None and creds.token and creds.expiry:
            _store_call("put", self._token_key(subject, scopes), creds.token, creds.expiry)

    def _refresh(self, creds):
        """Mint ``creds``' token: one attempt under ``single_attempt()``, google-auth's own short retries otherwise."""
        try:
            creds.refresh(_TokenRequest(self._http(), single=in_single_attempt()))
        except (OSError, httplib2.HttpLib2Error, auth_exceptions.TransportError):
            self._local.http = None  # a broken connection must not be reused
            raise

    # execution -----------------------------------------------------------------------------------------------
    def execute(self, subject, scopes, build_request, *, retry=True):
        """Run ``build_request(service)`` as ``subject`` with ``scopes``; map errors; retry what is retryable.

        ``build_request`` receives nothing and returns a googleapiclient HttpRequest; it is called again on
        each attempt. Each attempt is bounded by the HTTP timeout. With ``retry`` (and outside
        ``single_attempt()``) a retryable failure is retried in place, at most ``RetryPolicy.max_attempts``
        times and never after a sleep longer than ``RetryPolicy.cap``; otherwise it is raised at once.
        """
        retry = retry and not in_single_attempt()
        attempt = 0
        while True:
            attempt += 1
            try:
                creds = self.credentials(subject, scopes)
                if not creds.valid:
                    self._obtain(creds, subject, scopes)  # not inside AuthorizedHttp: tokens follow the same policy
                http = google_auth_httplib2.AuthorizedHttp(creds, http=self._http())
                return build_request().execute(http=http)
            except Exception as exc:  # noqa: BLE001 - mapped below
                mapped = map_exception(exc)
                if mapped is None:
                    raise
                if isinstance(exc, OSError | httplib2.HttpLib2Error):
                    self._local.http = None  # a broken connection must not be reused
                delay = self.retry.wait(attempt, getattr(mapped, "retry_after", None)) if (
                    retry and mapped.retryable) else None
                if delay is None:
                    raise mapped from exc
                logger.info("google retry %s after %s (%.2fs)", attempt, mapped.__class__.__name__, delay)
                time.sleep(delay)

    def calendar(self):
        return self._service("calendar")

    def gmail(self):
        return self._service("gmail")

    def directory(self):
        return self._service("admin")

    # Calendar ---------------------------------------------------------------------------------------------
    def calendar_setting(self, subject, setting, *, retry=True):
        """https://developers.google.com/workspace/calendar/api/v3/reference/settings/get"""
        svc = self.calendar()
        result = self.execute(subject, [SCOPE_CALENDAR], lambda: svc.settings().get(setting=setting), retry=retry)
        return result.get("value")

    def calendar_settings(self, subject, scopes=None, *, retry=True):
        """All of the subject's calendar settings in one call, as ``{id: value}`` (locale, timezone...).
        https://developers.google.com/workspace/calendar/api/v3/reference/settings/list"""
        svc = self.calendar()
        items = self.execute(subject, list(scopes or [SCOPE_CALENDAR]), lambda: svc.settings().list(),
                             retry=retry).get("items", [])
        return {item.get("id"): item.get("value") for item in items}

    def warm(self):
        """Build this thread's discovery clients and their sub-resources now (a worker's first task then skips
        the cost)."""
        self.calendar().events()
        self.gmail().users()

    def events_list(self, subject, calendar_id="primary", *, retry=True, scopes=None, **params):
        """One page of events.list; returns the raw ``Events`` dict. ``scopes`` reuses a token minted for more
        scopes than Calendar alone (activation's check)."""
        svc = self.calendar()
        return self.execute(
            subject, list(scopes or [SCOPE_CALENDAR]), lambda: svc.events().list(calendarId=calendar_id, **params),
            retry=retry,
        )

    def event_get(self, subject, event_id, calendar_id="primary"):
        svc = self.calendar()
        return self.execute(subject, [SCOPE_CALENDAR], lambda: svc.events().get(calendarId=calendar_id, eventId=event_id))

    def event_patch(self, subject, event_id, body, *, calendar_id="primary", etag=None, conference_data_version=None):
        """Patch with ``If-Match`` when ``etag`` is given: a concurrent edit gives ``PreconditionFailed``."""
        svc = self.calendar()

        def build():
            params = {"calendarId": calendar_id, "eventId": event_id, "body": body}
            if conference_data_version is not None:
                params["conferenceDataVersion"] = conference_data_version
            request = svc.events().patch(**params)
            if etag:
                request.headers["If-Match"] = etag
            return request

        return self.execute(subject, [SCOPE_CALENDAR], build)

    def events_watch(self, subject, *, channel_id, address, token, ttl_seconds, calendar_id="primary"):
        """https://developers.google.com/workspace/calendar/api/guides/push"""
        svc = self.calendar()
        body = {"id": channel_id, "type": "web_hook", "address": address, "token": token,
                "params": {"ttl": str(int(ttl_seconds))}}
        return self.execute(subject, [SCOPE_CALENDAR], lambda: svc.events().watch(calendarId=calendar_id, body=body))

    def channel_stop(self, subject, *, channel_id, resource_id):
        svc = self.calendar()
        body = {"id": channel_id, "resourceId": resource_id}
        return self.execute(subject, [SCOPE_CALENDAR], lambda: svc.channels().stop(body=body))

    # Gmail ------------------------------------------------------------------------------------------------------
    def vacation_get(self, subject, *, retry=True):
        """https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.settings/getVacation"""
        svc = self.gmail()
        return self.execute(
            subject, [SCOPE_GMAIL_SETTINGS], lambda: svc.users().settings().getVacation(userId="me"), retry=retry
        )

    # Directory -------------------------------------------------------------------------------------------
    def directory_user(self, admin_subject, user_key, *, custom_schema=None):
        """https://developers.google.com/workspace/admin/directory/reference/rest/v1/users/get; with
        ``custom_schema``, the user's fields of that custom schema too (``projection=custom``)."""
        svc = self.directory()
        if custom_schema:
            return self.execute(admin_subject, [SCOPE_DIRECTORY_READONLY], lambda: svc.users().get(
                userKey=user_key, projection="custom", customFieldMask=custom_schema))
        return self.execute(admin_subject, [SCOPE_DIRECTORY_READONLY], lambda: svc.users().get(userKey=user_key))

    def directory_users_page(self, admin_subject, *, domain, page_token=None, max_results=500):
        svc = self.directory()
        return self.execute(
            admin_subject,
            [SCOPE_DIRECTORY_READONLY],
            lambda: svc.users().list(domain=domain, pageToken=page_token, maxResults=max_results, orderBy="email"),
        )


    # Rooms (workspaces): Directory resources, ACL, free/busy, event writes on a room calendar ----------------
    def resources_calendars_page(self, admin_subject, *, page_token=None, max_results=500, query=None,
                                 customer="my_customer"):
        """One page of Directory ``resources.calendars.list`` (as a Workspace admin); the raw dict.
        https://developers.google.com/workspace/admin/directory/reference/rest/v1/resources.calendars/list"""
        svc = self.directory()
        params = {"customer": customer, "maxResults": max_results}
        if page_token:
            params["pageToken"] = page_token
        if query:
            params["query"] = query
        return self.execute(admin_subject, [SCOPE_ROOMS_READONLY],
                            lambda: svc.resources().calendars().list(**params))

    def acl_list(self, subject, calendar_id):
        """Every ACL rule of a calendar (all pages); needs writer access or better.
        https://developers.google.com/workspace/calendar/api/v3/reference/acl/list"""
        svc = self.calendar()
        rules, token = [], None
        while True:
            page = self.execute(subject, [SCOPE_CALENDAR], lambda token=token: svc.acl().list(
                calendarId=calendar_id, pageToken=token))
            rules.extend(page.get("items") or [])
            token = page.get("nextPageToken")
            if not token:
                return rules

    def acl_insert(self, subject, calendar_id, *, scope_type, scope_value, role):
        """Create (or replace the role of) the rule of one scope; needs owner access to the calendar."""
        svc = self.calendar()
        body = {"role": role, "scope": {"type": scope_type, "value": scope_value}}
        return self.execute(subject, [SCOPE_CALENDAR], lambda: svc.acl().insert(
            calendarId=calendar_id, body=body, sendNotifications=False))

    def acl_delete(self, subject, calendar_id, rule_id):
        svc = self.calendar()
        self.execute(subject, [SCOPE_CALENDAR], lambda: svc.acl().delete(calendarId=calendar_id, ruleId=rule_id))

    def freebusy_query(self, subject, calendar_ids, *, time_min, time_max, time_zone="UTC"):
        """``freeBusy.query``: ``{calendar id: {"busy": [...], "errors": [...]?}}`` (errors per calendar).
        https://developers.google.com/workspace/calendar/api/v3/reference/freebusy/query"""
        svc = self.calendar()
        body = {"timeMin": time_min, "timeMax": time_max, "timeZone": time_zone,
                "items": [{"id": cid} for cid in calendar_ids]}
        result = self.execute(subject, [SCOPE_CALENDAR], lambda: svc.freebusy().query(body=body))
        return result.get("calendars") or {}

    def event_insert(self, subject, calendar_id, body, *, send_updates="none"):
        svc = self.calendar()
        return self.execute(subject, [SCOPE_CALENDAR], lambda: svc.events().insert(
            calendarId=calendar_id, body=body, sendUpdates=send_updates), retry=False)

    def event_delete(self, subject, calendar_id, event_id):
        svc = self.calendar()
        self.execute(subject, [SCOPE_CALENDAR], lambda: svc.events().delete(
            calendarId=calendar_id, eventId=event_id, sendUpdates="none"))

    def event_patch_attendee_response(self, subject, calendar_id, event_id, *, attendee, response_status,
                                      comment=""):
        """Answer for one attendee (a room declining, say): read the event, change that attendee's
        ``responseStatus`` and ``comment`` in the full attendee list (a patch replaces lists), and patch with
        ``If-Match`` so a concurrent edit is never overwritten (read again once on 412). Returns the event."""
        svc = self.calendar()
        who = attendee.lower()
        for attempt in (1, 2):
            event = self.execute(subject, [SCOPE_CALENDAR], lambda: svc.events().get(
                calendarId=calendar_id, eventId=event_id))
            attendees = [dict(a) for a in event.get("attendees") or []]
            for a in attendees:
                if (a.get("email") or "").lower() == who:
                    a["responseStatus"] = response_status
                    if comment:
                        a["comment"] = comment
                    break
            else:
                raise errors.NotFound(f"{attendee} is not an attendee of this event", status=404, reason="notFound")

            def build(event=event, attendees=attendees):
                request = svc.events().patch(calendarId=calendar_id, eventId=event_id,
                                             body={"attendees": attendees}, sendUpdates="none")
                if event.get("etag"):
                    request.headers["If-Match"] = event["etag"]
                return request

            try:
                return self.execute(subject, [SCOPE_CALENDAR], build)
            except errors.PreconditionFailed:
                if attempt == 2:
                    raise
        return None


class GuardedGateway(Gateway):
    """The shared gateway of one key, seen through one organization's subject guard.

    ``guard(subject)`` runs before any credentials for ``subject`` are built or any token is minted, so no
    request to Google can carry a subject the guard refused; it raises one of our typed errors to refuse. The
    guarded view shares the key, credentials, token cache and clients of the shared gateway (instance
    attributes are looked up there), and costs one small object per organization call site.
    """

    def __init__(self, shared: Gateway, guard):  # noqa: D107 - no Gateway.__init__: the state is shared's
        self.__dict__["_shared"] = shared
        self.__dict__["_guard"] = guard

    def __getattr__(self, name):
        return getattr(self.__dict__["_shared"], name)

    def __setattr__(self, name, value):
        setattr(self.__dict__["_shared"], name, value)

    def credentials(self, subject, scopes):
        self._guard(subject)
        return self._shared.credentials(subject, scopes)

    def fetch_token(self, subject, scopes, *, fresh=False):
        self._guard(subject)
        return self._shared.fetch_token(subject, scopes, fresh=fresh)


_gateways = {}
_gateways_lock = threading.Lock()


def gateway_for_key(key: ServiceAccountKey, *, endpoint="", timeout=10.0, retry=None):
    """One shared Gateway per (key, endpoint): credentials and tokens are reused across calls and threads."""
    retry = retry or RetryPolicy()
    cache_key = (key.fingerprint, endpoint, timeout, retry.max_attempts, retry.base, retry.cap)
    with _gateways_lock:
        gw = _gateways.get(cache_key)
        if gw is None:
            gw = Gateway(key, endpoint=endpoint, timeout=timeout, retry=retry)
            _gateways[cache_key] = gw
        return gw


def forget_gateways():
    """Drop cached gateways (tests, key replacement)."""
    with _gateways_lock:
        _gateways.clear()
