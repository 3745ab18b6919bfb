"""Webex error bodies: ``{"message", "errors": [{"description"}], "trackingId"}`` and the token endpoint's."""

from __future__ import annotations

import secrets
import time

# Messages of the Webex REST API (the meetings OpenAPI spec's examples and what webexapis.com sends).
BAD_REQUEST = (
    "The request could not be understood by the server due to malformed syntax. "
    "See 'errors' for more details."
)
INVALID_ITEMS = "The input parameters contain invalid items."
UNAUTHORIZED = "The request requires a valid access token set in the Authorization request header."
FORBIDDEN = (
    "The server understood the request, but refused to fulfill it because the access token is missing "
    "required scopes or the user is missing required roles or licenses."
)
NOT_FOUND = "The requested resource could not be found."
METHOD_NOT_ALLOWED = "The request was made to a resource using an HTTP request method that is not supported."
TOO_MANY = (
    "Too many requests have been sent in a given amount of time and the request has been rate limited. "
    "A Retry-After header should be present that specifies how many seconds you need to wait before a "
    "successful request can be made."
)
DEFAULT_MESSAGES = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: "The request could not be processed because it conflicts with some established rule of the system.",
    410: "The requested resource is no longer available.",
    415: (
        "The request was made to a resource without specifying a media type or used a media type that is "
        "not supported."
    ),
    423: "The requested resource is temporarily unavailable.",
    429: TOO_MANY,
    500: (
        "Something went wrong on the server. If the issue persists, feel free to contact the Webex "
        "Developer Support team."
    ),
    502: (
        "The server received an invalid response from an upstream server while processing the request. "
        "Try again later."
    ),
    503: "Server is overloaded with requests. Try again later.",
    504: (
        "An upstream server failed to respond on time. If your query uses max parameter, please try to "
        "reduce it."
    ),
}
TOKEN_URL = "https://idbroker.webex.com/idb/oauth2/v1/access_token"
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def tracking_id(prefix: str = "") -> str:
    """A Webex-like tracking id: 32 upper-case hex digits and the epoch in milliseconds."""
    return f"{prefix}{secrets.token_hex(16).upper()}_{int(time.time() * 1000)}"


class WebexError(Exception):
    """An API error; ``body()`` is what Webex sends."""

    def __init__(
        self, status: int, *descriptions: str, message: str | None = None, headers: dict | None = None
    ):
        self.status = status
        self.message = message or DEFAULT_MESSAGES.get(status, "Error")
        self.descriptions = list(descriptions) or [self.message]
        self.headers = dict(headers or {})
        self.tracking_id = tracking_id()
        super().__init__(f"{status} {self.message}: {'; '.join(self.descriptions)}")

    def body(self) -> dict:
        return {
            "message": self.message,
            "errors": [{"description": d} for d in self.descriptions],
            "trackingId": self.tracking_id,
        }


def default_body(status: int) -> dict:
    return WebexError(status).body()


class TokenError(WebexError):
    """An error of ``POST /v1/access_token``: Webex's API gateway relays the identity broker's OAuth error."""

    def __init__(self, status: int, error: str, description: str):
        self.error = error
        self.error_description = description
        tid = tracking_id("ROUTER_")
        reason = REASONS.get(status, "Error")
        message = (
            f"POST failed: HTTP/1.1 {status} {reason} (url = {TOKEN_URL}, request/response TrackingId = "
            f"{tid}, error = '({error}) {description}')"
        )
        super().__init__(status, message, message=message)
        self.tracking_id = tid
