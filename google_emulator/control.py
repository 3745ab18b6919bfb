"""Control API (``/_emulator/...``): seed tenants and users, change calendars, inject faults, inspect."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import urllib.parse

from . import calendar_api, rooms, workspace_api
from .state import SERVICES
from .util import UTC, ApiError, parse_datetime, rfc3339_ms, valid_zone


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
        except ApiError as err:
            return err.code, err.body(), {}
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(400, f"bad request: {exc!r}") from exc
        if isinstance(result, tuple):
            return result[0], result[1], {}
        return 200, result, {}
    raise ControlError(405 if matched else 404, "method not allowed" if matched else "unknown control endpoint")


def _q(query: dict, name: str, default=None):
    values = query.get(name)
    return values[0] if values else default


def _user(state, email: str) -> dict:
    u = state.users.get(email.lower())
    if u is None:
        raise ControlError(404, f"unknown user {email}")
    return u


def _calendar(state, email: str) -> dict:
    cal = state.calendars.get(email.lower()) or state.calendars.get(email)
    if cal is None:
        raise ControlError(404, f"unknown calendar {email}")
    return cal


def _public_user(u: dict) -> dict:
    return {k: v for k, v in u.items()}


# ------------------------------------------------------------------ general


@route("POST", "/reset")
def reset(emu, data, query):
    emu.state.reset()
    return {"ok": True}


@route("GET", "/state")
def dump(emu, data, query):
    return emu.state.dump()


@route("POST", "/clock")
def clock(emu, data, query):
    state = emu.state
    if "offset_seconds" in data:
        state.clock_offset = float(data["offset_seconds"])
    state.clock_offset += float(data.get("advance_seconds", 0))
    now = state.now()
    return {"now": now, "now_rfc3339": rfc3339_ms(now), "offset_seconds": state.clock_offset}


@route("GET", "/clock")
def get_clock(emu, data, query):
    now = emu.state.now()
    return {"now": now, "now_rfc3339": rfc3339_ms(now), "offset_seconds": emu.state.clock_offset}


# ------------------------------------------------------------------ tenants, users, resources


@route("POST", "/tenants")
def create_tenant(emu, data, query):
    try:
        t = emu.state.ensure_tenant(data["domain"], data.get("name"), data.get("secondary_domains"))
    except ValueError as exc:
        raise ControlError(409, str(exc)) from exc
    return _tenant_view(t)


@route("GET", "/tenants")
def list_tenants(emu, data, query):
    return {"tenants": [_tenant_view(t) for t in emu.state.tenants.values()]}


def _tenant_view(t: dict) -> dict:
    return {"domain": t["domain"], "name": t["name"], "customer_id": t["customer_id"],
            "secondary_domains": list(t.get("secondary_domains", [])),
            "delegations": copy.deepcopy(t["delegations"])}


def _validate_user_body(data: dict) -> None:
    if data.get("time_zone") and not valid_zone(data["time_zone"]):
        raise ControlError(400, f"unknown time zone {data['time_zone']}")
    settings = data.get("settings")
    if settings is not None and not (isinstance(settings, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in settings.items())):
        raise ControlError(400, "settings must map Calendar setting ids to string values")


@route("POST", "/users")
def create_user(emu, data, query):
    if "@" not in (data.get("email") or ""):
        raise ControlError(400, "email required")
    _validate_user_body(data)
    return _public_user(emu.state.upsert_user(data, create=True))


@route("GET", "/users")
def list_users(emu, data, query):
    return {"users": [_public_user(u) for u in emu.state.users.values()]}


@route("GET", "/users/([^/]+)")
def get_user(emu, data, query, email):
    return _public_user(_user(emu.state, email))


@route("PATCH", "/users/([^/]+)")
def patch_user(emu, data, query, email):
    u = _user(emu.state, email)
    if u.get("deleted"):
        raise ControlError(404, f"user {email} is deleted")
    _validate_user_body(data)
    return _public_user(emu.state.upsert_user({**data, "email": u["email"]}, create=False))


@route("DELETE", "/users/([^/]+)")
def delete_user(emu, data, query, email):
    u = _user(emu.state, email)
    u["deleted"] = True
    for tok in [t for t, v in emu.state.tokens.items() if v["subject"] == u["email"]]:
        del emu.state.tokens[tok]
    return {"ok": True, "email": u["email"], "deleted": True}


@route("POST", "/resources")
def create_resource(emu, data, query):
    _validate_user_body({"time_zone": data.get("time_zone")})
    try:
        cal = rooms.upsert(emu.state, data)
    except KeyError as exc:
        raise ControlError(409, exc.args[0]) from exc
    except ValueError as exc:
        raise ControlError(400, str(exc)) from exc
    return rooms.control_view(cal)


def _resource(state, key: str) -> dict:
    cal = rooms.find(state, key)
    if cal is None:
        raise ControlError(404, f"unknown resource {key}")
    return cal


@route("GET", "/resources")
def list_resources(emu, data, query):
    return {"resources": [rooms.control_view(c) for c in rooms.resources(emu.state)]}


@route("GET", "/resources/([^/]+)")
def get_resource(emu, data, query, key):
    return rooms.control_view(_resource(emu.state, key))


@route("PATCH", "/resources/([^/]+)")
def patch_resource(emu, data, query, key):
    cal = _resource(emu.state, key)
    _validate_user_body({"time_zone": data.get("time_zone")})
    try:
        rooms.upsert(emu.state, data, cal)
    except ValueError as exc:
        raise ControlError(400, str(exc)) from exc
    return rooms.control_view(cal)


@route("DELETE", "/resources/([^/]+)")
def delete_resource(emu, data, query, key):
    """The resource leaves the directory and its calendar is gone (404 notFound from then on)."""
    state = emu.state
    cal = _resource(state, key)
    del state.calendars[cal["id"]]
    for cid in [c for c, ch in state.channels.items() if ch["email"] == cal["id"]]:
        del state.channels[cid]
    return {"ok": True, "email": cal["id"], "resource_id": cal["resource"]["resource_id"]}


@route("PUT", "/calendars/([^/]+)/freebusy-error")
def set_freebusy_error(emu, data, query, email):
    """freeBusy answers this calendar with ``errors: [{"domain": "global", "reason": reason}]``."""
    reason = data.get("reason") or "internalError"
    _calendar(emu.state, email)["freebusy_error"] = reason
    return {"email": email, "reason": reason}


@route("DELETE", "/calendars/([^/]+)/freebusy-error")
def clear_freebusy_error(emu, data, query, email):
    _calendar(emu.state, email).pop("freebusy_error", None)
    return {"ok": True}


@route("POST", "/calendars/([^/]+)/acl")
def add_acl(emu, data, query, email):
    cal = _calendar(emu.state, email)
    scope = data["scope"]
    if data["role"] not in calendar_api.ROLES:
        raise ControlError(400, f"role must be one of {', '.join(calendar_api.ROLES)}")
    return calendar_api.store_acl_rule(emu.state, cal, scope["type"], scope.get("value"), data["role"])


@route("GET", "/calendars/([^/]+)/acl")
def get_acl(emu, data, query, email):
    return {"items": list(_calendar(emu.state, email)["acl"].values())}


# ------------------------------------------------------------------ service accounts, delegation, apis


@route("POST", "/service-accounts")
def create_sa(emu, data, query):
    return emu.state.create_service_account(data["project_id"], data.get("name"))


@route("GET", "/service-accounts")
def list_sa(emu, data, query):
    return {"service_accounts": [
        {"client_id": s["client_id"], "email": s["email"], "project_id": s["project_id"],
         "keys": sorted(s["keys"])} for s in emu.state.service_accounts.values()]}


@route("POST", "/service-accounts/([^/]+)/keys")
def add_key(emu, data, query, client_id):
    if client_id not in emu.state.service_accounts:
        raise ControlError(404, f"unknown service account {client_id}")
    return emu.state.add_key(client_id)


@route("DELETE", "/service-accounts/([^/]+)/keys/([^/]+)")
def delete_key(emu, data, query, client_id, kid):
    sa = emu.state.service_accounts.get(client_id)
    if sa is None or kid not in sa["keys"]:
        raise ControlError(404, "unknown key")
    del sa["keys"][kid]
    return {"ok": True}


@route("DELETE", "/service-accounts/([^/]+)")
def delete_sa(emu, data, query, client_id):
    if emu.state.service_accounts.pop(client_id, None) is None:
        raise ControlError(404, f"unknown service account {client_id}")
    return {"ok": True}


def _tenant(state, domain: str) -> dict:
    t = state.tenant_of(domain.lower())
    if t is None:
        raise ControlError(404, f"unknown tenant {domain}")
    return t


@route("PUT", "/tenants/([^/]+)/delegation/([^/]+)")
def put_delegation(emu, data, query, domain, client_id):
    t = _tenant(emu.state, domain)
    scopes = data.get("scopes")
    if not isinstance(scopes, list):
        raise ControlError(400, "scopes must be a list")
    grant = {"client_id": client_id, "scopes": list(scopes), "updated": rfc3339_ms(emu.state.now())}
    t["delegations"][client_id] = grant
    return grant


@route("GET", "/tenants/([^/]+)/delegation/([^/]+)")
def get_delegation(emu, data, query, domain, client_id):
    grant = _tenant(emu.state, domain)["delegations"].get(client_id)
    if grant is None:
        raise ControlError(404, "no delegation grant")
    return grant


@route("DELETE", "/tenants/([^/]+)/delegation/([^/]+)")
def delete_delegation(emu, data, query, domain, client_id):
    t = _tenant(emu.state, domain)
    if t["delegations"].pop(client_id, None) is None:
        raise ControlError(404, "no delegation grant")
    return {"ok": True, "updated": rfc3339_ms(emu.state.now())}


@route("PUT", "/projects/([^/]+)/apis/([^/]+)")
def set_api(emu, data, query, project_id, service):
    if service not in SERVICES:
        raise ControlError(400, f"unknown service {service}; known: {', '.join(SERVICES)}")
    p = emu.state.project(project_id)
    disabled = set(p["disabled"])
    if data.get("enabled", True):
        disabled.discard(service)
    else:
        disabled.add(service)
    p["disabled"] = sorted(disabled)
    return {"project_id": project_id, "number": p["number"], "service": service, "enabled": service not in disabled}


@route("GET", "/projects/([^/]+)")
def get_project(emu, data, query, project_id):
    p = emu.state.projects.get(project_id)
    if p is None:
        raise ControlError(404, "unknown project")
    return p


# ------------------------------------------------------------------ calendar changes as the owner


@route("POST", "/users/([^/]+)/events")
def add_event(emu, data, query, email):
    cal = _calendar(emu.state, email)
    version = int(_q(query, "conferenceDataVersion", "1"))
    return calendar_api.insert_event(emu.state, cal, data, cal.get("owner") or cal["id"], version)


@route("GET", "/users/([^/]+)/events")
def raw_events(emu, data, query, email):
    cal = _calendar(emu.state, email)
    return {"items": copy.deepcopy(list(cal["events"].values()))}


@route("GET", "/users/([^/]+)/events/expanded")
def expanded_events(emu, data, query, email):
    state = emu.state
    cal = _calendar(state, email)
    lo = parse_datetime(_q(query, "timeMin")) if _q(query, "timeMin") else None
    hi = parse_datetime(_q(query, "timeMax")) if _q(query, "timeMax") else None
    items = calendar_api.collect(state, cal, single=True, show_deleted=False, lo=lo, hi=hi)
    zone = calendar_api.get_zone(cal.get("time_zone"))
    items = sorted((i for i in items if i.get("status") != "cancelled"),
                   key=lambda e: calendar_api._sort_start(e, zone))
    return {"items": copy.deepcopy(items)}


@route("GET", "/users/([^/]+)/events/([^/]+)")
def raw_event(emu, data, query, email, eid):
    ev, _ = calendar_api.find_event(_calendar(emu.state, email), eid)
    if ev is None:
        raise ControlError(404, "unknown event")
    return copy.deepcopy(ev)


@route("PATCH", "/users/([^/]+)/events/([^/]+)")
def change_event(emu, data, query, email, eid):
    cal = _calendar(emu.state, email)
    version = int(_q(query, "conferenceDataVersion", "1"))
    return calendar_api.modify_event(emu.state, cal, eid, data, cal.get("owner"), full=False,
                                     conference_version=version)


@route("PUT", "/users/([^/]+)/events/([^/]+)")
def replace_event(emu, data, query, email, eid):
    cal = _calendar(emu.state, email)
    version = int(_q(query, "conferenceDataVersion", "1"))
    return calendar_api.modify_event(emu.state, cal, eid, data, cal.get("owner"), full=True,
                                     conference_version=version)


@route("DELETE", "/users/([^/]+)/events/([^/]+)")
def remove_event(emu, data, query, email, eid):
    calendar_api.delete_event(emu.state, _calendar(emu.state, email), eid)
    return {"ok": True}


@route("PUT", "/users/([^/]+)/vacation")
def put_vacation(emu, data, query, email):
    u = _user(emu.state, email)
    return workspace_api.store_vacation(emu.state, u["email"], data)


@route("GET", "/users/([^/]+)/vacation")
def get_vacation(emu, data, query, email):
    u = _user(emu.state, email)
    return workspace_api.vacation_view(emu.state, u["email"])


@route("POST", "/sync-tokens/invalidate")
def invalidate(emu, data, query):
    state = emu.state
    emails = [data["email"]] if data.get("email") else list(state.calendars)
    for email in emails:
        _calendar(state, email)["epoch"] += 1
    return {"ok": True, "invalidated": emails}


@route("GET", "/channels")
def channels(emu, data, query):
    out = []
    for ch in emu.state.active_channels():
        out.append({"id": ch["id"], "resourceId": ch["resourceId"], "resourceUri": ch["resourceUri"],
                    "address": ch["address"], "expiration": ch["expiration"], "email": ch["email"],
                    "token": ch.get("token"), "subject": ch.get("subject"), "client_id": ch.get("client_id"),
                    "project_id": ch.get("project_id"), "message_number": ch["message_number"]})
    return {"channels": out}


# ------------------------------------------------------------------ faults, quota, requests, stats, dns


@route("POST", "/faults")
def add_fault(emu, data, query):
    fault = {"method": data.get("method"), "path_regex": data.get("path_regex") or "",
             "status": int(data.get("status", 503) or 0), "count": int(data.get("count", 1)),
             "delay_ms": int(data.get("delay_ms", 0) or 0), "body": data.get("body"), "hits": 0,
             "headers": {str(k): str(v) for k, v in (data.get("headers") or {}).items()}}
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


@route("PUT", "/quota")
def put_quota(emu, data, query):
    emu.state.quota = {"per_user_per_minute": data.get("per_user_per_minute", 600),
                       "per_project_per_minute": data.get("per_project_per_minute", 10000),
                       "time_scale": float(data.get("time_scale", 1.0) or 1.0)}
    emu.state.quota_windows.clear()
    return emu.state.quota


@route("DELETE", "/quota")
def delete_quota(emu, data, query):
    emu.state.quota = None
    emu.state.quota_windows.clear()
    return {"ok": True}


@route("GET", "/quota")
def get_quota(emu, data, query):
    return {"quota": emu.state.quota}


@route("GET", "/requests")
def requests(emu, data, query):
    since = int(_q(query, "since", "0"))
    items = [r for r in emu.state.requests if r["seq"] > since]
    return {"next": emu.state.request_seq, "requests": items}


@route("GET", "/stats")
def stats(emu, data, query):
    s = emu.state.stats
    since = float(_q(query, "changes_since", "0"))
    return {"calls_by_subject": dict(s["calls_by_subject"]), "calls_by_method": dict(s["calls_by_method"]),
            "pushes_sent": s["pushes_sent"], "push_attempts": s["push_attempts"],
            "push_failures": s["push_failures"],
            "changes": [c for c in s["changes"] if c["committed_at"] > since],
            "now": emu.state.now(), "now_rfc3339": dt.datetime.fromtimestamp(emu.state.now(), UTC).isoformat()}


@route("PUT", "/dns/([^/]+)/txt")
def put_txt(emu, data, query, name):
    values = data.get("values")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ControlError(400, "values must be a list of strings")
    emu.state.dns[name.rstrip(".").lower()] = list(values)
    return {"name": name.rstrip(".").lower(), "values": values}


@route("DELETE", "/dns/([^/]+)/txt")
def delete_txt(emu, data, query, name):
    emu.state.dns.pop(name.rstrip(".").lower(), None)
    return {"ok": True}


@route("GET", "/dns")
def list_dns(emu, data, query):
    return {"records": dict(emu.state.dns)}


@route("GET", "/config")
def get_config(emu, data, query):
    return {"allow_insecure_webhooks": emu.state.allow_insecure_webhooks}


@route("PUT", "/config")
def put_config(emu, data, query):
    if "allow_insecure_webhooks" in data:
        emu.state.allow_insecure_webhooks = bool(data["allow_insecure_webhooks"])
    return get_config(emu, data, query)


@route("POST", "/pushes/wait")
def wait_pushes(emu, data, query):
    """Block (up to ``timeout`` seconds) until queued push deliveries are finished or abandoned."""
    emu.state.lock.release()
    try:
        idle = emu.wait_for_pushes(float(data.get("timeout", 5.0)))
    finally:
        emu.state.lock.acquire()
    return {"idle": idle}
