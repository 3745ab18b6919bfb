"""A tiny HTTP client for the Webex emulator suite (urllib only, no SDK, no Django)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

ADMIN_SCOPES = [
    "meeting:admin_schedule_read",
    "meeting:admin_schedule_write",
    "meeting:admin_preferences_read",
    "spark:kms",
]
USER_SCOPES = ["meeting:schedules_read", "meeting:schedules_write", "meeting:preferences_read", "spark:kms"]
SITE = "acme.webex.com"


@dataclass
class Response:
    status: int
    body: object
    headers: dict = field(default_factory=dict)

    @property
    def description(self) -> str:
        return self.body["errors"][0]["description"]


def request(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body=None,
    form=None,
    headers: dict | None = None,
    timeout: float = 10.0,
) -> Response:
    data = None
    hdrs = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw, resp_headers = resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        status, raw, resp_headers = err.code, err.read(), dict(err.headers)
    return Response(status, json.loads(raw) if raw else None, resp_headers)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


class Control:
    def __init__(self, base: str):
        self.base = base

    def __call__(self, method: str, path: str, body=None, expect: int = 200):
        resp = request(self.base, method, "/_emulator" + path, body=body)
        assert resp.status == expect, (resp.status, resp.body)
        return resp.body


class Api:
    """Calls as one app (its current access token)."""

    def __init__(self, base: str, app: dict):
        self.base = base
        self.app = app
        self.token = app["access_token"]

    def __call__(self, method: str, path: str, body=None, **kwargs) -> Response:
        kwargs.setdefault("token", self.token)
        return request(self.base, method, path, body=body, **kwargs)

    def refresh(self) -> Response:
        return request(
            self.base,
            "POST",
            "/v1/access_token",
            form={
                "grant_type": "refresh_token",
                "client_id": self.app["client_id"],
                "client_secret": self.app["client_secret"],
                "refresh_token": self.app["refresh_token"],
            },
        )
