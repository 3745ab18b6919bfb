"""Room and resource calendars: their Directory metadata (``resources.calendars``) and the control-side store.

A resource is a calendar of kind ``resource`` whose ``resource`` dict holds the Directory fields. Its calendar
``summary`` (and the ``displayName`` of the room in attendee lists) is the generated resource name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets

from .util import BASE32HEX, ApiError, digits

RESOURCE_DOMAIN = "resource.calendar.google.com"
CATEGORIES = ("CONFERENCE_ROOM", "OTHER", "CATEGORY_UNKNOWN")
ORDER_FIELDS = {"resourceId": "resource_id", "resourceName": "name", "capacity": "capacity",
                "buildingId": "building_id", "floorName": "floor_name"}
# control-API key -> accepted aliases (the Directory field names may be used too)
FIELDS = {
    "resource_id": ("resource_id", "id", "resourceId"),
    "name": ("name", "resourceName"),
    "capacity": ("capacity",),
    "building_id": ("building_id", "building", "buildingId"),
    "building_name": ("building_name",),
    "floor_name": ("floor_name", "floor", "floorName"),
    "floor_section": ("floor_section", "floorSection"),
    "features": ("features", "featureInstances"),
    "category": ("category", "resource_category", "resourceCategory"),
    "resource_type": ("resource_type", "resourceType"),
    "description": ("description", "resource_description", "resourceDescription"),
    "user_visible_description": ("user_visible_description", "userVisibleDescription"),
    "auto_accept": ("auto_accept",),
    "domain_can_book": ("domain_can_book",),
}


def new_email() -> str:
    return "c_1" + "".join(secrets.choice(BASE32HEX) for _ in range(26)) + "@" + RESOURCE_DOMAIN


def is_resource(cal: dict | None) -> bool:
    return bool(cal) and cal.get("kind") == "resource"


def _meta(cal: dict) -> dict:
    """The Directory fields of a resource calendar (a calendar from an older state file gets defaults)."""
    if "resource" not in cal:
        cal["resource"] = {"resource_id": digits(11), "name": cal.get("summary") or cal["id"].partition("@")[0],
                           "capacity": cal.get("capacity"), "category": "CONFERENCE_ROOM", "features": [],
                           "auto_accept": True, "domain_can_book": True}
    return cal["resource"]


def resources(state, tenant: dict | None = None) -> list[dict]:
    """Resource calendars, of one tenant when given."""
    out = []
    for cal in state.calendars.values():
        if not is_resource(cal):
            continue
        _meta(cal)
        if tenant is not None and state.tenant_of(cal.get("domain")) is not tenant:
            continue
        out.append(cal)
    return out


def find(state, key: str, tenant: dict | None = None) -> dict | None:
    """A resource calendar by resourceEmail or resourceId."""
    key = (key or "").strip()
    cal = state.calendars.get(key.lower())
    if is_resource(cal) and (tenant is None or state.tenant_of(cal.get("domain")) is tenant):
        _meta(cal)
        return cal
    for cal in resources(state, tenant):
        if (cal.get("resource") or {}).get("resource_id") == key:
            return cal
    return None


def _normalise(data: dict) -> dict:
    out = {}
    for key, aliases in FIELDS.items():
        for alias in aliases:
            if alias in data:
                out[key] = data[alias]
                break
    if "features" in out:
        feats = []
        for f in out["features"] or []:
            name = f.get("feature", {}).get("name") if isinstance(f, dict) else f
            if not isinstance(name, str) or not name:
                raise ValueError("features must be a list of names")
            feats.append(name)
        out["features"] = feats
    if out.get("capacity") is not None:
        out["capacity"] = int(out["capacity"])
    if "category" in out and out["category"] not in CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
    return out


def generated_name(res: dict) -> str:
    """``Building-Floor-Section-Name (capacity)``, skipping the parts that are not set."""
    parts = [res.get("building_name") or res.get("building_id"), res.get("floor_name"), res.get("floor_section"),
             res.get("name")]
    name = "-".join(str(p) for p in parts if p not in (None, ""))
    if res.get("capacity") is not None:
        name += f" ({res['capacity']})"
    return name


def upsert(state, data: dict, cal: dict | None = None) -> dict:
    """Create (``cal`` None) or change a resource calendar from a control-API body."""
    fields = _normalise(data)
    if cal is None:
        domain = (data.get("domain") or "").lower()
        if not domain:
            raise ValueError("domain required")
        email = (data.get("email") or "").lower() or new_email()
        existing = state.calendars.get(email)
        if existing is not None and not is_resource(existing):
            raise KeyError(f"{email} is a user calendar")
        tenant = state.ensure_tenant(domain)
        if existing is None:
            rid = str(fields.get("resource_id") or digits(11))
            clash = find(state, rid, tenant)
            if clash is not None:
                raise KeyError(f"resourceId {rid} already used by {clash['id']}")
            res = {"resource_id": rid, "name": email.partition("@")[0], "capacity": None,
                   "category": "CONFERENCE_ROOM", "features": [], "auto_accept": True, "domain_can_book": True}
            cal = state.ensure_calendar(email, owner=None, kind="resource", resource=res)
        else:
            cal = existing
        cal["domain"] = domain
    res = _meta(cal)
    res.update({k: v for k, v in fields.items() if k != "resource_id"})  # the id is fixed at creation
    if data.get("time_zone"):
        cal["time_zone"] = data["time_zone"]
    res["generation"] = state.next_seq()
    cal["summary"] = generated_name(res)
    return cal


def control_view(cal: dict) -> dict:
    res = cal["resource"]
    return {"email": cal["id"], "domain": cal["domain"], "time_zone": cal.get("time_zone"),
            "generated_resource_name": cal["summary"],
            **{k: (list(v) if isinstance(v, list) else v) for k, v in res.items() if k != "generation"}}


def directory_view(cal: dict) -> dict:
    """The ``CalendarResource`` of the Directory API (unset optional fields are omitted)."""
    res = cal["resource"]
    etag = base64.urlsafe_b64encode(hashlib.sha1(json.dumps(
        [cal["id"], res], sort_keys=True).encode()).digest()).decode().rstrip("=")
    out = {"kind": "admin#directory#resources#calendars#CalendarResource", "etags": f'"{etag}"',
           "resourceId": res["resource_id"], "resourceName": res.get("name") or "",
           "generatedResourceName": cal["summary"], "resourceEmail": cal["id"],
           "resourceCategory": res.get("category") or "CONFERENCE_ROOM"}
    optional = (("resourceType", "resource_type"), ("resourceDescription", "description"),
                ("userVisibleDescription", "user_visible_description"), ("capacity", "capacity"),
                ("buildingId", "building_id"), ("floorName", "floor_name"), ("floorSection", "floor_section"))
    for api_key, key in optional:
        if res.get(key) not in (None, ""):
            out[api_key] = res[key]
    if res.get("features"):
        out["featureInstances"] = [{"feature": {"name": name}} for name in res["features"]]
    return out


# ------------------------------------------------------------------ list: query and orderBy

_CLAUSE = re.compile(r'\s*(NOT\s+)?([A-Za-z_.]+)\s*(!=|>=|<=|=|:|>|<)\s*("(?:[^"\\]|\\.)*"|\S+)\s*', re.I)
QUERY_FIELDS = {
    "generatedresourcename": lambda cal: cal["summary"],
    "name": lambda cal: cal["resource"].get("name"),
    "resourcename": lambda cal: cal["resource"].get("name"),
    "buildingid": lambda cal: cal["resource"].get("building_id"),
    "floor_name": lambda cal: cal["resource"].get("floor_name"),
    "floorname": lambda cal: cal["resource"].get("floor_name"),
    "capacity": lambda cal: cal["resource"].get("capacity"),
    "featureinstances.feature.name": lambda cal: list(cal["resource"].get("features") or []),
    "resourceemail": lambda cal: cal["id"],
    "resourcecategory": lambda cal: cal["resource"].get("category") or "CONFERENCE_ROOM",
    "resourceid": lambda cal: cal["resource"].get("resource_id"),
}


def _invalid(param: str) -> ApiError:
    return ApiError(400, f"Invalid Input: {param}", "invalid")


def parse_query(text: str):
    """``field op value [AND [NOT] field op value ...]`` -> predicate over resource calendars."""
    clauses = []
    rest = text.strip()
    while rest:
        m = _CLAUSE.match(rest)
        if not m or m.group(2).lower() not in QUERY_FIELDS:
            raise _invalid("query")
        negate, field, op, value = bool(m.group(1)), m.group(2).lower(), m.group(3), m.group(4)
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        clauses.append((negate, field, op, value))
        rest = rest[m.end():]
        if rest:
            joiner = re.match(r"AND\s+", rest, re.I)
            if not joiner:
                raise _invalid("query")
            rest = rest[joiner.end():]

    def test(cal, field, op, value) -> bool:
        actual = QUERY_FIELDS[field](cal)
        if field == "capacity":
            try:
                want = int(value)
            except ValueError as exc:
                raise _invalid("query") from exc
            have = actual if actual is not None else 0
            return {"=": have == want, ":": have == want, "!=": have != want, ">": have > want,
                    ">=": have >= want, "<": have < want, "<=": have <= want}[op]
        if op in (">", ">=", "<", "<="):
            raise _invalid("query")
        values = actual if isinstance(actual, list) else [actual]
        values = [str(v).lower() for v in values if v is not None]
        want = value.lower()
        if op == ":":
            if want.endswith("*"):
                return any(v.startswith(want[:-1]) for v in values)
            return want in values
        hit = want in values
        return hit if op == "=" else not hit

    def predicate(cal) -> bool:
        return all(test(cal, field, op, value) != negate for negate, field, op, value in clauses)

    return predicate


def sort_key_list(order_by: str):
    """``field [asc|desc], ...`` -> list of (control key, descending)."""
    keys = []
    for part in order_by.split(","):
        words = part.split()
        if not words:
            continue
        if words[0] not in ORDER_FIELDS or len(words) > 2 or (len(words) == 2 and words[1].lower()
                                                                not in ("asc", "desc")):
            raise _invalid("orderBy")
        keys.append((ORDER_FIELDS[words[0]], len(words) == 2 and words[1].lower() == "desc"))
    return keys


def ordered(cals: list[dict], order_by: str | None) -> list[dict]:
    """Sorted by resourceName (then resourceId) unless ``orderBy`` says otherwise; unset values sort last."""
    out = sorted(cals, key=lambda c: ((c["resource"].get("name") or "").lower(), c["resource"]["resource_id"]))
    for key, desc in reversed(sort_key_list(order_by) if order_by else []):
        def value(c, key=key):
            v = c["resource"].get(key)
            return (0 if v is None else v) if key == "capacity" else str(v or "").lower()

        out.sort(key=value, reverse=desc)
        out.sort(key=lambda c, key=key: c["resource"].get(key) in (None, ""))  # stable: unset ones last
    return out
