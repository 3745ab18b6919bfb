"""Webex Meetings through a Webex *service app*: meetings scheduled on behalf of each host (``hostEmail``).

Reference: Webex's published OpenAPI spec (``public-spec/webex-meeting.json``) and the token endpoint
(``POST /v1/access_token`` with ``grant_type=refresh_token``).

- Access tokens are refreshed before they expire (``REFRESH_BEFORE``) and once on a 401; the refreshed token is
  handed to ``tokens.save`` so every worker uses it instead of refreshing again.
- Each meeting carries ``integrationTags: [integration_tag(request_key)]``; ``meeting_find`` lists by that tag
  (with a time window: Webex filters an integration-tag list by time too), so an interrupted create is found
  on retry instead of made twice.
- A POST is retried only after 429 (the request was not processed); a 5xx or a timeout on a create is left to
  the caller, which looks the meeting up before creating again. Reads, PATCH and DELETE are idempotent and
  retried with the product's backoff. A ``Retry-After`` longer than ``max_retry_wait`` is not slept on:
  ``RateLimited`` carries it to the caller, which retries later.
"""

import logging
import re
import time
from datetime import UTC, datetime, timedelta

from calendar_sync.google.backoff import Backoff
from calendar_sync.scheduling.meeting_services import http
from calendar_sync.scheduling.meeting_services.base import MeetingSite, SiteMeeting, integration_tag
from calendar_sync.scheduling.meeting_services.errors import (
    ClientRejected,
    HostNotOnSite,
    InvalidRequest,
    MeetingNotFound,
    NotConfigured,
    RateLimited,
    ScopeMissing,
    ServiceUnavailable,
    TokenRevoked,
)

logger = logging.getLogger(__name__)

REFRESH_BEFORE = timedelta(minutes=10)
MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(hours=23, minutes=59)
TITLE_MAX = 128
SCOPES = ("meeting:admin_schedule_write", "meeting:admin_schedule_read", "meeting:admin_preferences_read")
_OAUTH_ERROR = re.compile(r"\((invalid_request|invalid_client|invalid_grant|unsupported_grant_type|"
                          r"unauthorized_client|invalid_scope)\)")


def _iso(when):
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def webex_times(start, end, now=None):
    """(start, end) Webex accepts for an event's times: not before the next minute, 10 minutes to 23:59 long.
    An event that is over gets no meeting."""
    now = now or datetime.now(UTC)
    if start is None or end is None:
        raise InvalidRequest("the event has no start or end time")
    if end <= now:
        raise InvalidRequest("the event is over")
    earliest = now.replace(second=0, microsecond=0) + timedelta(minutes=2)
    start = max(start.replace(second=0, microsecond=0), earliest)
    end = max(end, start + MIN_DURATION)
    return start, min(end, start + MAX_DURATION)


class TokenStore:
    """Where a service app's access token lives between calls (the MeetingService row, encrypted)."""

    def __init__(self, access_token="", expires_at=None):
        self.access_token = access_token
        self.expires_at = expires_at

    def save(self, *, access_token, expires_at, refresh_token, refresh_expires_at):
        self.access_token, self.expires_at = access_token, expires_at


def _descriptions(body):
    errors = body.get("errors") if isinstance(body, dict) else None
    texts = [str(e.get("description", "")) for e in errors or [] if isinstance(e, dict)]
    return "; ".join(t for t in texts if t) or str((body or {}).get("message", "") if isinstance(body, dict) else "")


def api_error(status, body, *, retry_after=None, personal_room=False):
    """The typed error of a Webex API answer (not the token endpoint's)."""
    detail = _descriptions(body)
    tracking = str(body.get("trackingId", "")) if isinstance(body, dict) else ""
    kwargs = {"status": status, "tracking_id": tracking}
    if status == 401:
        return TokenRevoked(detail or "access token refused", **kwargs)
    if status == 403:
        if "is not a host on the site" in detail:
            return HostNotOnSite(detail, **kwargs)
        return ScopeMissing(detail or "forbidden", **kwargs)
    if status == 404:
        if personal_room:
            return HostNotOnSite(detail or "user not found", **kwargs)
        return MeetingNotFound(detail or "not found", **kwargs)
    if status == 429:
        return RateLimited(detail or "rate limited", retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServiceUnavailable(detail or f"HTTP {status}", retry_after=retry_after, **kwargs)
    return InvalidRequest(detail or f"HTTP {status}", **kwargs)


def token_error(status, body, *, retry_after=None):
    """The typed error of ``POST /access_token`` (Webex relays the identity broker's OAuth error)."""
    text = " ".join(filter(None, [str(body.get("error", "")), str(body.get("message", "")), _descriptions(body)]))
    match = _OAUTH_ERROR.search(text)
    oauth = match.group(1) if match else str(body.get("error", ""))
    tracking = str(body.get("trackingId", ""))
    if status == 429:
        return RateLimited("token endpoint rate limited", status=status, retry_after=retry_after)
    if status >= 500:
        return ServiceUnavailable(f"token endpoint HTTP {status}", status=status, tracking_id=tracking)
    if oauth == "invalid_grant":
        return TokenRevoked("refresh token expired or revoked (invalid_grant)", status=status, tracking_id=tracking)
    if oauth in ("invalid_client", "unauthorized_client") or status == 401:
        return ClientRejected(f"client refused ({oauth or status})", status=status, tracking_id=tracking)
    return InvalidRequest(f"token request refused ({oauth or status})", status=status, tracking_id=tracking)


class WebexClient:
    """Authenticated calls to the Webex REST API for one service app."""

    def __init__(self, *, api_base, client_id, client_secret, refresh_token, tokens=None, timeout=15.0,
                 max_retry_wait=5.0, attempts=3, backoff=None, clock=None):
        if not (api_base and client_id and client_secret and refresh_token):
            raise NotConfigured("the Webex service app's client ID, secret and refresh token are needed")
        self.api_base = api_base.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.tokens = tokens or TokenStore()
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.attempts = max(1, attempts)
        self.backoff = backoff or Backoff(base=0.25, cap=4.0)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.calls = 0  # Webex requests sent (token refreshes included)
        self.refreshes = 0

    # --- tokens ---------------------------------------------------------------------------------------------
    def access_token(self, *, force=False):
        token, expires_at = self.tokens.access_token, self.tokens.expires_at
        if not force and token and expires_at and expires_at - self.clock() > REFRESH_BEFORE:
            return token
        return self.refresh()

    def refresh(self):
        form = {"grant_type": "refresh_token", "client_id": self.client_id, "client_secret": self.client_secret,
                "refresh_token": self.refresh_token}
        for attempt in range(1, self.attempts + 1):
            self.calls += 1
            resp = http.request("POST", f"{self.api_base}/access_token", form=form, timeout=self.timeout)
            if resp.status == 200:
                break
            error = token_error(resp.status, resp.json(), retry_after=resp.header("retry-after"))
            if not error.transient or attempt == self.attempts or not self._wait(attempt, error):
                raise error
        data = resp.json()
        token = str(data.get("access_token") or "")
        if not token:
            raise ServiceUnavailable("the token endpoint answered without an access token")
        now = self.clock()
        expires_at = now + timedelta(seconds=int(data.get("expires_in") or 0))
        refresh = str(data.get("refresh_token") or self.refresh_token)
        refresh_expires = data.get("refresh_token_expires_in")
        refresh_expires_at = now + timedelta(seconds=int(refresh_expires)) if refresh_expires else None
        self.refresh_token = refresh
        self.refreshes += 1
        self.tokens.save(access_token=token, expires_at=expires_at, refresh_token=refresh,
                         refresh_expires_at=refresh_expires_at)
        return token

    # --- calls ----------------------------------------------------------------------------------------------
    def _wait(self, attempt, error):
        """Sleep before retrying after ``error``; False when the service asks for longer than we wait inline."""
        try:
            asked = float(error.retry_after) if error.retry_after not in (None, "") else None
        except (TypeError, ValueError):
            asked = None
        if asked is not None and asked > self.max_retry_wait:
            return False
        time.sleep(self.backoff.delay(attempt, asked))
        return True

    def call(self, method, path, *, params=None, body=None, personal_room=False):
        """The JSON answer of one API call (``{}`` for 204), retried as the module docstring says."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.access_token()
            self.calls += 1
            try:
                resp = http.request(method, f"{self.api_base}{path}", params=params, body=body,
                                    headers={"Authorization": f"Bearer {token}"}, timeout=self.timeout)
            except ServiceUnavailable as error:
                if method == "POST" or attempt >= self.attempts or not self._wait(attempt, error):
                    raise
                continue
            if resp.status < 300:
                return resp.json()
            if resp.status == 401 and not refreshed:
                refreshed = True
                self.access_token(force=True)
                attempt -= 1
                continue
            error = api_error(resp.status, resp.json(), retry_after=resp.header("retry-after"),
                              personal_room=personal_room)
            retryable = isinstance(error, RateLimited) or (error.transient and method != "POST")
            if not retryable or attempt >= self.attempts or not self._wait(attempt, error):
                raise error


class WebexMeetingSite(MeetingSite):
    """Keyword meetings on Webex: each host's meetings on their site (``site_for(email)``, else the default)."""

    kind = "webex"

    def __init__(self, client, *, default_site, site_for=None):
        self.client = client
        self.default_site = (default_site or "").strip().lower()
        self._site_for = site_for

    def site_for(self, host_email):
        site = self._site_for(host_email) if self._site_for else ""
        site = site or self.default_site
        if not site:
            raise NotConfigured("no Webex site is set for this organization")
        return site

    @staticmethod
    def _meeting(data):
        return SiteMeeting(
            meeting_id=str(data.get("id", "")),
            join_url=str(data.get("webLink", "")),
            sip_uri=str(data.get("sipAddress", "")),
            number=str(data.get("meetingNumber", "")),
            site_url=str(data.get("siteUrl", "")),
        )

    def meeting_create(self, *, host_email, title, start, end, request_key):
        start, end = webex_times(start, end, self.client.clock())
        body = {
            "title": (title or "").strip()[:TITLE_MAX] or "Meeting",
            "start": _iso(start),
            "end": _iso(end),
            "timezone": "UTC",
            "hostEmail": host_email,
            "siteUrl": self.site_for(host_email),
            "integrationTags": [integration_tag(request_key)],
            "sendEmail": False,
        }
        return self._meeting(self.client.call("POST", "/meetings", body=body))

    def meeting_find(self, *, host_email, request_key, start, end):
        now = self.client.clock()
        low = min(start or now, now) - timedelta(days=2)
        high = max(end or now, now) + timedelta(days=400)
        data = self.client.call("GET", "/meetings", params={
            "integrationTag": integration_tag(request_key), "hostEmail": host_email, "from": _iso(low),
            "to": _iso(high), "max": 10,
        })
        items = [i for i in data.get("items") or [] if isinstance(i, dict) and i.get("id")]
        return self._meeting(items[0]) if items else None

    def personal_room(self, *, host_email):
        data = self.client.call("GET", "/meetingPreferences/personalMeetingRoom", params={
            "userEmail": host_email, "siteUrl": self.site_for(host_email)}, personal_room=True)
        link = str(data.get("personalMeetingRoomLink", ""))
        telephony = data.get("telephony") if isinstance(data.get("telephony"), dict) else {}
        return SiteMeeting(
            meeting_id=link.rstrip("/").rsplit("/", 1)[-1] if link else "",
            join_url=link,
            sip_uri=str(data.get("sipAddress", "")),
            number=str(telephony.get("accessCode", "")),
            personal_room=True,
            site_url=self.site_for(host_email),
        )

    def meeting_update(self, *, meeting_id, start, end, title=None, host_email=""):
        start, end = webex_times(start, end, self.client.clock())
        body = {"start": _iso(start), "end": _iso(end), "timezone": "UTC"}
        if host_email:
            body["hostEmail"] = host_email
        if title is not None:
            body["title"] = (title or "").strip()[:TITLE_MAX] or "Meeting"
        self.client.call("PATCH", f"/meetings/{meeting_id}", body=body)

    def meeting_release(self, *, meeting_id, host_email=""):
        params = {"sendEmail": "false"}
        if host_email:
            params["hostEmail"] = host_email
        try:
            self.client.call("DELETE", f"/meetings/{meeting_id}", params=params)
        except MeetingNotFound:
            logger.info("webex meeting already gone")

    def meeting_get(self, *, meeting_id, host_email=""):
        params = {"hostEmail": host_email} if host_email else None
        return self._meeting(self.client.call("GET", f"/meetings/{meeting_id}", params=params))


