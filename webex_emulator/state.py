"""The emulator's data: sites, users (hosts), service apps and tokens, meetings, faults, the request log."""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import uuid
from zoneinfo import ZoneInfo

from .errors import TokenError

UTC_ZONE = ZoneInfo("UTC")
ACCESS_TOKEN_TTL = 1209599  # 14 days, what Webex grants
REFRESH_TOKEN_TTL = 7775999  # 90 days
ALL_SCOPES = (
    "meeting:schedules_read",
    "meeting:schedules_write",
    "meeting:admin_schedule_read",
    "meeting:admin_schedule_write",
    "meeting:preferences_read",
    "meeting:preferences_write",
    "meeting:admin_preferences_read",
    "meeting:admin_preferences_write",
    "spark:kms",
)
_SITE = re.compile(r"^[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.webex\.com$")


def person_id(kind: str, value: str) -> str:
    """A Webex-style id: base64 of ``ciscospark://us/<KIND>/<uuid>`` without padding."""
    raw = f"ciscospark://us/{kind}/{value}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def site_url(value: str) -> str:
    value = (value or "").strip().lower()
    value = re.sub(r"^https?://", "", value).split("/", 1)[0]
    if not _SITE.match(value):
        raise ValueError(f"not a Webex site: {value!r} (expected NAME.webex.com)")
    return value


class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.org_id = str(uuid.uuid4())
            self.sites: dict[str, dict] = {}
            self.users: dict[str, dict] = {}
            self.apps: dict[str, dict] = {}
            self.refresh_tokens: dict[str, dict] = {}
            self.access_tokens: dict[str, dict] = {}
            self.meetings: dict[str, dict] = {}
            self.meeting_numbers: set[str] = set()
            self.faults: list[dict] = []
            self.requests: list[dict] = []
            self.request_seq = 0
            self.latency = {"delay_ms": 0, "jitter_ms": 0}
            self.config = {"access_token_ttl": ACCESS_TOKEN_TTL, "refresh_token_ttl": REFRESH_TOKEN_TTL}

    def now(self) -> float:
        return time.time() + self.clock_offset

    # ------------------------------------------------------------------ sites and users

    def site(self, url: str, name: str | None = None) -> dict:
        url = site_url(url)
        site = self.sites.get(url)
        if site is None:
            short = url.split(".", 1)[0]
            site = self.sites[url] = {"siteUrl": url, "name": name or short, "shortName": short}
        elif name:
            site["name"] = name
        return site

    def add_user(self, data: dict) -> dict:
        email = str(data["email"]).strip()
        key = email.lower()
        site = self.site(data.get("siteUrl") or data.get("site_url") or "")
        existing = self.users.get(key, {})
        local = re.sub(r"[^a-z0-9.]", "", key.split("@", 1)[0]) or "room"
        user = {
            "email": email,
            "displayName": data.get("displayName")
            or data.get("display_name")
            or existing.get("displayName")
            or email.split("@", 1)[0].replace(".", " ").title(),
            "siteUrl": site["siteUrl"],
            "host": bool(data.get("host", existing.get("host", True))),
            "personalRoomId": data.get("personalRoomId") or existing.get("personalRoomId") or local,
            "personId": existing.get("personId") or person_id("PEOPLE", str(uuid.uuid4())),
            "hostPin": existing.get("hostPin") or f"{secrets.randbelow(9000) + 1000}",
            "hostKey": existing.get("hostKey") or f"{secrets.randbelow(900000) + 100000}",
        }
        self.users[key] = user
        return user

    def user(self, email: str | None) -> dict | None:
        return self.users.get(str(email or "").strip().lower())

    # ------------------------------------------------------------------ service apps and tokens

    def add_app(self, data: dict) -> dict:
        scopes = data.get("scopes")
        scopes = list(ALL_SCOPES) if scopes is None else [str(s) for s in scopes]
        sites = [self.site(s)["siteUrl"] for s in data.get("siteUrls") or data.get("site_urls") or []]
        user = data.get("user")
        if user is not None and self.user(user) is None:
            raise ValueError(f"unknown user {user!r}: create it first")
        if not sites:
            sites = (
                sorted({u["siteUrl"] for u in self.users.values()})
                if user is None
                else [self.user(user)["siteUrl"]]
            )
        client_id = "C" + secrets.token_hex(32)
        app = {
            "client_id": client_id,
            "client_secret": secrets.token_hex(32),
            "name": data.get("name") or "Calendar Hub",
            "scopes": scopes,
            "siteUrls": sites,
            "user": user,
        }
        self.apps[client_id] = app
        refresh = self._new_refresh(app)
        access = self._new_access(app)
        return {
            **app,
            "refresh_token": refresh,
            "refresh_token_expires_in": self.config["refresh_token_ttl"],
            "access_token": access,
            "expires_in": self.config["access_token_ttl"],
        }

    def _token(self) -> str:
        return f"{secrets.token_urlsafe(48).replace('-', 'a').replace('_', 'b')}_PF84_{self.org_id}"

    def _new_refresh(self, app: dict) -> str:
        token = self._token()
        self.refresh_tokens[token] = {
            "client_id": app["client_id"],
            "expires": self.now() + self.config["refresh_token_ttl"],
            "revoked": False,
        }
        return token

    def _new_access(self, app: dict) -> str:
        token = self._token()
        self.access_tokens[token] = {
            "client_id": app["client_id"],
            "expires": self.now() + self.config["access_token_ttl"],
            "revoked": False,
        }
        return token

    def grant(self, form: dict, basic: tuple[str, str] | None) -> dict:
        """``POST /v1/access_token``: the refresh-token grant Webex integrations and service apps use."""
        grant_type = form.get("grant_type", "")
        client_id = form.get("client_id") or (basic[0] if basic else "")
        secret = form.get("client_secret") or (basic[1] if basic else "")
        if not grant_type:
            raise TokenError(400, "invalid_request", "grant_type is missing")
        if grant_type != "refresh_token":
            raise TokenError(400, "unsupported_grant_type", f"The grant type '{grant_type}' is not supported")
        if not client_id:
            raise TokenError(400, "invalid_request", "client_id is missing")
        app = self.apps.get(client_id)
        if app is None:
            raise TokenError(400, "invalid_client", "The client_id is not valid")
        if not secrets.compare_digest(secret, app["client_secret"]):
            raise TokenError(401, "invalid_client", "Authentication failure")
        refresh = form.get("refresh_token", "")
        if not refresh:
            raise TokenError(400, "invalid_request", "refresh_token is missing")
        record = self.refresh_tokens.get(refresh)
        if record is None or record["client_id"] != client_id or record["revoked"]:
            raise TokenError(400, "invalid_grant", "Invalid refresh token")
        if record["expires"] <= self.now():
            raise TokenError(400, "invalid_grant", "The refresh token provided is expired")
        access = self._new_access(app)
        return {
            "access_token": access,
            "expires_in": self.config["access_token_ttl"],
            "refresh_token": refresh,  # Webex keeps the refresh token; its lifetime keeps running
            "refresh_token_expires_in": max(0, int(record["expires"] - self.now())),
            "token_type": "Bearer",
        }

    def _tokens_of(self, data: dict):
        token = data.get("token")
        client_id = data.get("client_id")
        kinds = data.get("kind") or "all"  # "access", "refresh" or "all"
        for store, kind in ((self.access_tokens, "access"), (self.refresh_tokens, "refresh")):
            if kinds not in ("all", kind):
                continue
            for value, record in store.items():
                if (token is None or value == token) and (
                    client_id is None or record["client_id"] == client_id
                ):
                    yield record

    def revoke(self, data: dict) -> int:
        count = 0
        for record in self._tokens_of(data):
            record["revoked"] = True
            count += 1
        return count

    def expire(self, data: dict) -> int:
        count = 0
        for record in self._tokens_of({"kind": "access", **data}):
            record["expires"] = self.now() - 1
            count += 1
        return count

    def access(self, token: str) -> tuple[dict, dict] | None:
        """(token record, app) of a live access token."""
        record = self.access_tokens.get(token)
        if record is None or record["revoked"] or record["expires"] <= self.now():
            return None
        app = self.apps.get(record["client_id"])
        return (record, app) if app is not None else None

    # ------------------------------------------------------------------ meetings

    def new_meeting_number(self) -> str:
        while True:
            number = f"2{secrets.randbelow(10**10):010d}"
            if number not in self.meeting_numbers:
                self.meeting_numbers.add(number)
                return number
