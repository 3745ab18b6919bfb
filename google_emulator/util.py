"""Shared helpers: time formatting, identifiers and the Google error envelope."""

from __future__ import annotations

import datetime as dt
import secrets
import string
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_ERRORS = {
    400: ("global", "badRequest", "Bad Request"),
    401: ("global", "authError", "Invalid Credentials"),
    403: ("global", "forbidden", "Forbidden"),
    404: ("global", "notFound", "Not Found"),
    409: ("global", "conflict", "Conflict"),
    410: ("global", "deleted", "Resource has been deleted"),
    412: ("global", "conditionNotMet", "Precondition Failed"),
    429: ("usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    500: ("global", "backendError", "Backend Error"),
    502: ("global", "backendError", "Backend Error"),
    503: ("global", "backendError", "Backend Error"),
    504: ("global", "backendError", "Backend Error"),
}

AUTH_INVALID_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
AUTH_MISSING_MESSAGE = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class ApiError(Exception):
    """An error answered with Google's JSON error envelope."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str = "",
        domain: str = "global",
        *,
        error_message: str | None = None,
        status: str | None = None,
        location: str | None = None,
        location_type: str | None = None,
        details: list | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or DEFAULT_ERRORS.get(code, ("global", "unknown", ""))[1]
        self.domain = domain
        self.error_message = error_message if error_message is not None else message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.location = location
        self.location_type = location_type
        self.details = details
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict:
        item = {"domain": self.domain, "reason": self.reason, "message": self.error_message}
        if self.location_type:
            item["locationType"] = self.location_type
        if self.location:
            item["location"] = self.location
        item.update(self.extra)
        err = {"code": self.code, "message": self.message, "errors": [item], "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


class OAuthError(Exception):
    """An error answered by the token endpoint: {"error", "error_description"}."""

    def __init__(self, code: int, error: str, description: str):
        super().__init__(f"{error}: {description}")
        self.code = code
        self.error = error
        self.description = description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


def default_error(code: int) -> ApiError:
    domain, reason, message = DEFAULT_ERRORS.get(code, ("global", "unknown", "Error"))
    return ApiError(code, message, reason, domain)


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message, "notFound")


def bad_request(message: str, reason: str = "invalid", **kw) -> ApiError:
    return ApiError(400, message, reason, **kw)


# ---------------------------------------------------------------- time


def to_utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def rfc3339_ms(ts: float) -> str:
    d = to_utc(ts)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def rfc3339(d: dt.datetime) -> str:
    """Format an aware datetime with its offset (Z for UTC)."""
    s = d.replace(microsecond=0).isoformat()
    if s.endswith("+00:00"):
        s = s[:-6] + "Z"
    return s


def rfc1123(ts: float) -> str:
    return to_utc(ts).strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_datetime(value: str) -> dt.datetime:
    """Parse an RFC3339 timestamp; naive values are read as UTC."""
    v = value.strip()
    if v.endswith(("z", "Z")):
        v = v[:-1] + "+00:00"
    d = dt.datetime.fromisoformat(v)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def get_zone(name: str | None):
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


# ---------------------------------------------------------------- identifiers


def event_id() -> str:
    return "".join(secrets.choice(BASE32HEX) for _ in range(26))


def valid_event_id(value: str) -> bool:
    return 5 <= len(value) <= 1024 and all(c in BASE32HEX for c in value)


def digits(n: int) -> str:
    first = secrets.choice("123456789")
    return first + "".join(secrets.choice(string.digits) for _ in range(n - 1))


def opaque(n: int = 20) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits + "_-") for _ in range(n))
