"""Control API (``/_emulator/...``, JSON, no auth): seed sites, hosts and service apps; break and inspect."""

from __future__ import annotations

import copy
import json
import re
import urllib.parse

from .meetings_api import _fmt
from .state import UTC_ZONE


class ControlError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


ROUTES: list[tuple[str, re.Pattern, object]] = []


def route(method: str, pattern: str):
    def deco(fn):
        ROUTES.append((method, re.compile("^/_emulator" + pattern + "$"), fn))
        return fn

    return deco


def handle(emu, method: str, path: str, query: dict, body: bytes):
    if body:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ControlError(400, "body must be JSON") from exc
    else:
        data = {}
    matched = False
    for m, rx, fn in ROUTES:
        match = rx.match(path)
        if not match:
            continue
        matched = True
        if m != method:
            continue
        args = [urllib.parse.unquote(g) for g in match.groups()]
        try:
            with emu.state.lock:
                result = fn(emu, data, query, *args)
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(400, f"bad request: {exc}") from exc
        if isinstance(result, tuple):
            return result
        return 200, result
    raise ControlError(
        405 if matched else 404, "method not allowed" if matched else "no such control endpoint"
    )


def _q(query: dict, name: str, default=None):
    values = query.get(name)
    return values[0] if values else default


@route("POST", "/reset")
def reset(emu, data, query):
    emu.state.reset()
    return {"ok": True}


# ------------------------------------------------------------------ sites, users, service apps


@route("POST", "/sites")
def add_site(emu, data, query):
    return emu.state.site(data["siteUrl"], data.get("name"))


@route("GET", "/sites")
def list_sites(emu, data, query):
    return {"items": list(emu.state.sites.values())}


@route("POST", "/users")
def add_user(emu, data, query):
    return emu.state.add_user(data)


@route("GET", "/users")
def list_users(emu, data, query):
    return {"items": list(emu.state.users.values())}


@route("GET", "/users/([^/]+)")
def get_user(emu, data, query, email):
    user = emu.state.user(email)
    if user is None:
        raise ControlError(404, f"no user {email}")
    return user


@route("PATCH", "/users/([^/]+)")
def patch_user(emu, data, query, email):
    user = emu.state.user(email)
    if user is None:
        raise ControlError(404, f"no user {email}")
    return emu.state.add_user({**user, **data, "email": user["email"]})


@route("DELETE", "/users/([^/]+)")
def delete_user(emu, data, query, email):
    if emu.state.users.pop(email.strip().lower(), None) is None:
        raise ControlError(404, f"no user {email}")
    return {"ok": True}


@route("POST", "/service-apps")
def add_app(emu, data, query):
    return emu.state.add_app(data)


@route("GET", "/service-apps")
def list_apps(emu, data, query):
    return {"items": [{k: v for k, v in a.items() if k != "client_secret"} for a in emu.state.apps.values()]}


@route("PATCH", "/service-apps/([^/]+)")
def patch_app(emu, data, query, client_id):
    app = emu.state.apps.get(client_id)
    if app is None:
        raise ControlError(404, f"no service app {client_id}")
    if "scopes" in data:
        app["scopes"] = [str(s) for s in data["scopes"]]
    if "siteUrls" in data:
        app["siteUrls"] = [emu.state.site(s)["siteUrl"] for s in data["siteUrls"]]
    return {k: v for k, v in app.items() if k != "client_secret"}


@route("POST", "/service-apps/([^/]+)/tokens")
def new_tokens(emu, data, query, client_id):
    """A fresh token pair, as if an admin authorized the app again."""
    app = emu.state.apps.get(client_id)
    if app is None:
        raise ControlError(404, f"no service app {client_id}")
    return {
        "refresh_token": emu.state._new_refresh(app),
        "access_token": emu.state._new_access(app),
        "expires_in": emu.state.config["access_token_ttl"],
        "refresh_token_expires_in": emu.state.config["refresh_token_ttl"],
    }


@route("POST", "/tokens/revoke")
def revoke(emu, data, query):
    """``{"client_id"?, "token"?, "kind"?: "access"|"refresh"|"all"}``: the tokens stop working."""
    return {"revoked": emu.state.revoke(data)}


@route("POST", "/tokens/expire")
def expire(emu, data, query):
    """``{"client_id"?, "token"?, "kind"?}`` (default: access tokens): they expire now."""
    return {"expired": emu.state.expire(data)}


@route("GET", "/tokens")
def tokens(emu, data, query):
    now = emu.state.now()
    out = []
    for kind, store in (("access", emu.state.access_tokens), ("refresh", emu.state.refresh_tokens)):
        for token, record in store.items():
            out.append(
                {
                    "kind": kind,
                    "token": token,
                    "client_id": record["client_id"],
                    "expires_in": int(record["expires"] - now),
                    "revoked": record["revoked"],
                }
            )
    return {"items": out}


@route("PUT", "/config")
def put_config(emu, data, query):
    for key in ("access_token_ttl", "refresh_token_ttl"):
        if key in data:
            emu.state.config[key] = int(data[key])
    return emu.state.config


@route("GET", "/config")
def get_config(emu, data, query):
    return emu.state.config


@route("POST", "/clock")
def clock(emu, data, query):
    if "advance_seconds" in data:
        emu.state.clock_offset += float(data["advance_seconds"])
    if "offset_seconds" in data:
        emu.state.clock_offset = float(data["offset_seconds"])
    return {"now": emu.state.now(), "offset_seconds": emu.state.clock_offset}


@route("GET", "/clock")
def get_clock(emu, data, query):
    return {"now": emu.state.now(), "offset_seconds": emu.state.clock_offset}


# ------------------------------------------------------------------ meetings (inspection)


def _raw(meeting: dict) -> dict:
    out = copy.deepcopy({k: v for k, v in meeting.items() if k not in ("start", "end", "host")})
    out["start"] = _fmt(meeting["start"], UTC_ZONE)
    out["end"] = _fmt(meeting["end"], UTC_ZONE)
    out["hostEmail"] = meeting["host"]["email"]
    return out


@route("GET", "/meetings")
def list_meetings(emu, data, query):
    return {"items": [_raw(m) for m in emu.state.meetings.values()]}


@route("GET", "/meetings/([^/]+)")
def get_meeting(emu, data, query, meeting_id):
    meeting = emu.state.meetings.get(meeting_id)
    if meeting is None:
        raise ControlError(404, f"no meeting {meeting_id}")
    return _raw(meeting)


# ------------------------------------------------------------------ faults, latency, requests


@route("POST", "/faults")
def add_fault(emu, data, query):
    fault = {
        "method": data.get("method"),
        "path_regex": data.get("path_regex") or "",
        "status": int(data.get("status", 503) or 0),
        "count": int(data.get("count", 1)),
        "delay_ms": int(data.get("delay_ms", 0) or 0),
        "body": data.get("body"),
        "retry_after": data.get("retry_after"),
        "hits": 0,
    }
    if fault["path_regex"]:
        re.compile(fault["path_regex"])
    emu.state.faults.append(fault)
    return fault


@route("GET", "/faults")
def list_faults(emu, data, query):
    return {"faults": copy.deepcopy(emu.state.faults)}


@route("DELETE", "/faults")
def clear_faults(emu, data, query):
    emu.state.faults.clear()
    return {"ok": True}


@route("PUT", "/latency")
def put_latency(emu, data, query):
    emu.state.latency = {
        "delay_ms": int(data.get("delay_ms", 0) or 0),
        "jitter_ms": int(data.get("jitter_ms", 0) or 0),
    }
    return emu.state.latency


@route("GET", "/latency")
def get_latency(emu, data, query):
    return emu.state.latency


@route("DELETE", "/latency")
def clear_latency(emu, data, query):
    emu.state.latency = {"delay_ms": 0, "jitter_ms": 0}
    return emu.state.latency


@route("GET", "/requests")
def requests(emu, data, query):
    since = int(_q(query, "since", "0"))
    return {"next": emu.state.request_seq, "requests": [r for r in emu.state.requests if r["seq"] > since]}


@route("DELETE", "/requests")
def clear_requests(emu, data, query):
    emu.state.requests.clear()
    return {"ok": True}
