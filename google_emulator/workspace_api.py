"""Gmail vacation settings and Admin SDK Directory users handlers."""

from __future__ import annotations

import base64
import json
import re

from . import rooms
from .util import ApiError

A = "https://www.googleapis.com/auth/"
VACATION_READ = {"https://mail.google.com/", A + "gmail.modify", A + "gmail.readonly", A + "gmail.settings.basic"}
VACATION_WRITE = {A + "gmail.settings.basic"}  # discovery: updateVacation takes only this scope
DIRECTORY_READ = {A + "admin.directory.user", A + "admin.directory.user.readonly"}
USERS_LIST = DIRECTORY_READ | {A + "cloud-platform"}  # discovery lists cloud-platform for users.list only
RESOURCE_READ = {A + "admin.directory.resource.calendar", A + "admin.directory.resource.calendar.readonly"}
VACATION_FIELDS = ("enableAutoReply", "responseSubject", "responseBodyPlainText", "responseBodyHtml",
                   "restrictToContacts", "restrictToDomain", "startTime", "endTime")
NOT_AUTHORIZED = "Not Authorized to access this resource/api"


# =================================================================== Gmail


def _vacation_user(ctx, user_id: str) -> str:
    if not ctx.subject:
        raise ApiError(400, "Precondition check failed.", "failedPrecondition", status="FAILED_PRECONDITION")
    if user_id not in ("me", ctx.subject) and user_id.lower() != ctx.subject:
        raise ApiError(403, f"Delegation denied for {ctx.subject}", "forbidden")
    return ctx.subject


def vacation_view(state, email: str) -> dict:
    stored = state.vacation.get(email) or {}
    out = {"enableAutoReply": bool(stored.get("enableAutoReply", False))}
    for key in VACATION_FIELDS[1:]:
        if key in stored and stored[key] is not None:
            out[key] = stored[key]
    return out


def store_vacation(state, email: str, body: dict) -> dict:
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received.", "invalidArgument")
    clean = {}
    for key in VACATION_FIELDS:
        if key in body and body[key] is not None:
            value = body[key]
            if key in ("startTime", "endTime"):
                try:
                    value = str(int(value))
                except (TypeError, ValueError) as exc:
                    raise ApiError(400, f"Invalid value at '{key}'", "invalidArgument") from exc
            clean[key] = value
    if "startTime" in clean and "endTime" in clean and int(clean["startTime"]) >= int(clean["endTime"]):
        raise ApiError(400, "Start time must be before end time.", "invalidArgument")
    state.vacation[email] = clean
    return vacation_view(state, email)


def get_vacation(ctx, user_id: str):
    return 200, vacation_view(ctx.state, _vacation_user(ctx, user_id))


def put_vacation(ctx, user_id: str):
    return 200, store_vacation(ctx.state, _vacation_user(ctx, user_id), ctx.json())


# =================================================================== Directory


def directory_user(state, u: dict, projection: str = "basic") -> dict:
    email = u["email"]
    local, _, domain = email.partition("@")
    tenant = state.tenant_of(domain) or {}
    test_alias = f"{local}@{domain.split('.')[0]}.test-google-a.com"
    given, family = u.get("given_name") or "", u.get("family_name") or ""
    etag = base64.b32encode(json.dumps(u, sort_keys=True).encode()[-40:]).decode().rstrip("=").lower()[:27]
    out = {
        "kind": "admin#directory#user",
        "id": u["id"],
        "etag": f'"{etag}"',
        "primaryEmail": email,
        "name": {"givenName": given, "familyName": family, "fullName": f"{given} {family}".strip()},
        "isAdmin": bool(u.get("is_admin")),
        "isDelegatedAdmin": False,
        "lastLoginTime": "1970-01-01T00:00:00.000Z",
        "creationTime": u.get("created"),
        "agreedToTerms": True,
        "suspended": bool(u.get("suspended")),
        "archived": False,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "emails": [{"address": email, "primary": True}, {"address": test_alias}]
        + [{"address": a} for a in u.get("aliases") or []],
        "nonEditableAliases": [test_alias],
        "customerId": tenant.get("customer_id", "C00000000"),
        "orgUnitPath": u.get("org_unit_path") or "/",
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": False,
        "isEnforcedIn2Sv": False,
        "includeInGlobalAddressList": True,
        "thumbnailPhotoUrl": f"https://www.google.com/s2/photos/private/{u['id']}",
    }
    if u.get("suspended"):
        out["suspensionReason"] = "ADMIN"
    if u.get("aliases"):
        out["aliases"] = list(u["aliases"])
    if projection in ("custom", "full") and u.get("custom_schemas"):
        out["customSchemas"] = u["custom_schemas"]
    return out


def _require_admin(ctx):
    state = ctx.state
    admin = state.live_user(ctx.subject)
    if admin is None or not admin.get("is_admin"):
        raise ApiError(403, NOT_AUTHORIZED, "forbidden")
    return admin


def get_user(ctx, key: str):
    state = ctx.state
    admin = _require_admin(ctx)
    key = key.lower()
    user = state.live_user(key)
    if user is None:
        user = next((u for u in state.users.values() if not u.get("deleted")
                     and (u["id"] == key or key in [a.lower() for a in u.get("aliases") or []])), None)
    if user is None:
        raise ApiError(404, "Resource Not Found: userKey", "notFound")
    if not state.same_tenant(user["email"], admin["email"]):
        raise ApiError(403, NOT_AUTHORIZED, "forbidden")
    return 200, directory_user(state, user, ctx.q("projection") or "basic")


def list_users(ctx):
    state = ctx.state
    admin = _require_admin(ctx)
    admin_domain = admin["email"].partition("@")[2]
    domain = (ctx.q("domain") or "").lower()
    customer = ctx.q("customer")
    if not domain and not customer:
        raise ApiError(400, "Bad Request", "badRequest")
    tenant = state.tenant_of(admin_domain) or {}
    if domain and state.tenant_of(domain) is not state.tenant_of(admin_domain):
        raise ApiError(403, NOT_AUTHORIZED, "forbidden")
    if customer and customer not in ("my_customer", tenant.get("customer_id")):
        raise ApiError(403, NOT_AUTHORIZED, "forbidden")
    try:
        max_results = max(1, min(int(ctx.q("maxResults") or 100), 500))
        offset = int(ctx.q("pageToken") or "0") if re.fullmatch(r"\d*", ctx.q("pageToken") or "") else None
    except ValueError as exc:
        raise ApiError(400, "Invalid Input", "invalid") from exc
    if offset is None:
        raise ApiError(400, "Invalid Input: pageToken", "invalid")
    # domain=: that domain's users; customer=: every user of the tenant, secondary domains included.
    users = sorted((u for u in state.users.values()
                    if not u.get("deleted") and (u["email"].partition("@")[2] == domain if domain
                                                 else state.same_tenant(u["email"], admin["email"]))),
                   key=lambda u: u["email"])
    query = (ctx.q("query") or "").lower()
    if query:
        users = [u for u in users if query in u["email"] or query in (u.get("given_name") or "").lower()
                 or query in (u.get("family_name") or "").lower()]
    page = users[offset:offset + max_results]
    projection = ctx.q("projection") or "basic"
    resp = {"kind": "admin#directory#users", "etag": f'"{state.seq}"',
            "users": [directory_user(state, u, projection) for u in page]}
    if offset + max_results < len(users):
        resp["nextPageToken"] = str(offset + max_results)
    return 200, resp


# =================================================================== Directory resources.calendars


def _resource_tenant(ctx, customer: str) -> dict:
    """The admin's tenant, when ``customer`` is ``my_customer`` or its customerId (else 403 like Google)."""
    state = ctx.state
    admin = _require_admin(ctx)
    tenant = state.tenant_of(admin["email"].partition("@")[2])
    if tenant is None or customer not in ("my_customer", tenant["customer_id"]):
        raise ApiError(403, NOT_AUTHORIZED, "forbidden")
    return tenant


def _page_token(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        offset = int(data["o"])
        if offset < 0:
            raise ValueError
        return offset
    except (ValueError, TypeError, KeyError) as exc:
        raise ApiError(400, "Invalid Input: pageToken", "invalid") from exc


def list_resources(ctx, customer: str):
    state = ctx.state
    tenant = _resource_tenant(ctx, customer)
    raw_max = ctx.q("maxResults")
    try:
        max_results = int(raw_max) if raw_max not in (None, "") else 100
    except ValueError:
        max_results = 0
    if not 1 <= max_results <= 500:
        raise ApiError(400, f"Invalid value '{raw_max}'. Values must be within the range: [1, 500]", "invalid",
                       location="maxResults", location_type="parameter")
    offset = _page_token(ctx.q("pageToken"))
    cals = rooms.resources(state, tenant)
    if ctx.q("query"):
        keep = rooms.parse_query(ctx.q("query"))
        cals = [c for c in cals if keep(c)]
    cals = rooms.ordered(cals, ctx.q("orderBy"))
    page = cals[offset:offset + max_results]
    etag = base64.urlsafe_b64encode(json.dumps([c["resource"].get("generation") for c in cals]).encode()
                                    ).decode().rstrip("=")[-27:]
    resp = {"kind": "admin#directory#resources#calendars#calendarResourcesList", "etag": f'"{etag}"'}
    if page:
        resp["items"] = [rooms.directory_view(c) for c in page]
    if offset + max_results < len(cals):
        token = json.dumps({"o": offset + max_results}).encode()
        resp["nextPageToken"] = base64.urlsafe_b64encode(token).decode().rstrip("=")
    return 200, resp


def get_resource(ctx, customer: str, resource_id: str):
    tenant = _resource_tenant(ctx, customer)
    cal = next((c for c in rooms.resources(ctx.state, tenant) if c["resource"]["resource_id"] == resource_id),
               None)
    if cal is None:
        raise ApiError(404, "Resource Not Found: calendarResourceId", "notFound")
    return 200, rooms.directory_view(cal)


SEG = r"([^/]+)"
ROUTES = [
    ("GET", rf"/gmail/v1/users/{SEG}/settings/vacation", get_vacation, "gmail.users.settings.getVacation",
     VACATION_READ, "gmail.googleapis.com"),
    ("PUT", rf"/gmail/v1/users/{SEG}/settings/vacation", put_vacation, "gmail.users.settings.updateVacation",
     VACATION_WRITE, "gmail.googleapis.com"),
    ("GET", r"/admin/directory/v1/users", list_users, "directory.users.list", USERS_LIST,
     "admin.googleapis.com"),
    ("GET", rf"/admin/directory/v1/users/{SEG}", get_user, "directory.users.get", DIRECTORY_READ,
     "admin.googleapis.com"),
    ("GET", rf"/admin/directory/v1/customer/{SEG}/resources/calendars", list_resources,
     "directory.resources.calendars.list", RESOURCE_READ, "admin.googleapis.com"),
    ("GET", rf"/admin/directory/v1/customer/{SEG}/resources/calendars/{SEG}", get_resource,
     "directory.resources.calendars.get", RESOURCE_READ, "admin.googleapis.com"),
]
ROUTES = [(m, re.compile("^" + p + "$"), f, name, scopes, svc) for m, p, f, name, scopes, svc in ROUTES]
