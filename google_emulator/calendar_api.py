"""Calendar API v3 handlers and the event store operations they share with the control API."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import time
import urllib.parse

from .recurrence import Occurrence, expand
from .state import SETTING_DEFAULTS, State
from .util import (
    UTC,
    ApiError,
    bad_request,
    event_id,
    get_zone,
    not_found,
    opaque,
    parse_date,
    parse_datetime,
    rfc3339,
    rfc3339_ms,
    valid_event_id,
)

A = "https://www.googleapis.com/auth/"
CAL_ALL = A + "calendar"
CAL_RO = A + "calendar.readonly"
READ_EVENTS = {CAL_ALL, CAL_RO, A + "calendar.events", A + "calendar.events.readonly",
               A + "calendar.events.owned", A + "calendar.events.owned.readonly"}
WRITE_EVENTS = {CAL_ALL, A + "calendar.events", A + "calendar.events.owned"}
SETTINGS = {CAL_ALL, CAL_RO, A + "calendar.settings.readonly", A + "calendar.settings"}
FREEBUSY = {CAL_ALL, CAL_RO, A + "calendar.freebusy", A + "calendar.events.freebusy"}
ACL_WRITE = {CAL_ALL, A + "calendar.acls"}
ACL_READ = ACL_WRITE | {CAL_RO, A + "calendar.acls.readonly"}
ANY_CALENDAR = READ_EVENTS | SETTINGS | FREEBUSY | ACL_READ

ROLES = ["none", "freeBusyReader", "reader", "writer", "owner"]
SYNC_FORBIDDEN = ("iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin",
                  "timeMax", "updatedMin")
READ_ONLY = {"kind", "etag", "htmlLink", "created", "updated", "creator", "organizer", "hangoutLink",
             "recurringEventId", "originalStartTime"}
ATTENDEE_FIELDS = {"reminders", "colorId", "transparency"}
SHARED_CHECK = ("summary", "description", "location", "start", "end", "recurrence", "attendees")
HORIZON_DAYS = 366
CONFERENCE_TYPES = {"hangoutsMeet", "eventHangout", "eventNamedHangout", "addOn"}


def rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else 0


# =================================================================== helpers


def access_role(state: State, cal: dict, subject: str | None) -> str:
    if not subject:
        return "none"
    if cal.get("owner") == subject:
        return "owner"
    best = "none"
    for rid in (f"user:{subject}", f"domain:{subject.partition('@')[2]}", "default"):
        rule = cal["acl"].get(rid)
        if rule and rank(rule["role"]) > rank(best):
            best = rule["role"]
    return best


def calendar_for(ctx, cal_id: str, need: str = "reader") -> tuple[dict, str]:
    state = ctx.state
    cid = ctx.subject if cal_id == "primary" else cal_id
    cal = state.calendars.get(cid or "") or state.calendars.get((cid or "").lower())
    if cal is None or (cal["kind"] == "user" and state.live_user(cal["owner"]) is None):
        raise not_found()
    role = access_role(state, cal, ctx.subject)
    if rank(role) < rank("reader"):
        raise not_found()
    if rank(role) < rank(need):
        raise ApiError(403, f"You need to have {need} access to this calendar.", "requiredAccessLevel")
    return cal, role


def html_link(eid: str, cal_id: str) -> str:
    eid64 = base64.urlsafe_b64encode(f"{eid} {cal_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid64}"


def _time_of(edt: dict | None, zone) -> dt.datetime | None:
    if not edt:
        return None
    if edt.get("date"):
        return dt.datetime.combine(parse_date(edt["date"]), dt.time(0), tzinfo=zone)
    if edt.get("dateTime"):
        return parse_datetime(edt["dateTime"])
    return None


def overlaps(ev: dict, zone, lo, hi) -> bool:
    if lo is None and hi is None:
        return True
    start, end = _time_of(ev.get("start"), zone), _time_of(ev.get("end"), zone)
    if start is None or end is None:
        return True
    if lo is not None and end <= lo:
        return False
    return not (hi is not None and start >= hi)


def minimal(ev: dict) -> dict:
    out = {"kind": "calendar#event", "etag": ev.get("etag"), "id": ev["id"], "status": "cancelled"}
    if "recurringEventId" in ev:
        out["recurringEventId"] = ev["recurringEventId"]
        out["originalStartTime"] = ev.get("originalStartTime")
    return out


def _fmt(value, all_day: bool, tzname: str | None) -> dict:
    if all_day:
        return {"date": value.isoformat()}
    out = {"dateTime": rfc3339(value)}
    if tzname:
        out["timeZone"] = tzname
    return out


def make_instance(master: dict, occ: Occurrence) -> dict:
    inst = {k: v for k, v in master.items() if k != "recurrence"}
    inst["id"] = f"{master['id']}_{occ.suffix()}"
    inst["recurringEventId"] = master["id"]
    tz = master["start"].get("timeZone")
    inst["start"] = _fmt(occ.start, occ.all_day, tz)
    inst["end"] = _fmt(occ.end, occ.all_day, master.get("end", {}).get("timeZone") or tz)
    inst["originalStartTime"] = _fmt(occ.original, occ.all_day, tz)
    return inst


def _suffix_instant(suffix: str):
    try:
        if "T" in suffix:
            return dt.datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return dt.datetime.strptime(suffix, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def find_event(cal: dict, eid: str) -> tuple[dict | None, bool]:
    """Return (event, stored). Computed instances of a series are returned with stored=False."""
    ev = cal["events"].get(eid)
    if ev is not None:
        return ev, True
    if "_" not in eid:
        return None, False
    master_id, suffix = eid.rsplit("_", 1)
    master = cal["events"].get(master_id)
    at = _suffix_instant(suffix)
    if master is None or not master.get("recurrence") or at is None:
        return None, False
    for occ in expand(master, lo=at - dt.timedelta(days=2), hi=at + dt.timedelta(days=2)):
        if occ.suffix() == suffix:
            inst = make_instance(master, occ)
            if master.get("status") == "cancelled":
                inst["status"] = "cancelled"
            return inst, False
    return None, False


def horizon(state: State) -> dt.datetime:
    return dt.datetime.fromtimestamp(state.now(), UTC) + dt.timedelta(days=HORIZON_DAYS)


# =================================================================== store mutations


def commit(state: State, cal: dict, ev: dict) -> dict:
    now = state.now()
    seq = state.next_seq()
    ev["etag"] = f'"{int(now * 1000) * 1000 + seq % 1000}"'
    ev["updated"] = rfc3339_ms(now)
    cal["events"][ev["id"]] = ev
    cal["seqs"][ev["id"]] = seq
    cal["updated"] = ev["updated"]
    changes = state.stats["changes"]
    changes.append({"email": cal["id"], "event_id": ev["id"], "committed_at": time.time()})
    if len(changes) > 200_000:
        del changes[:100_000]
    state.notify(cal["id"])
    return ev


def _validate_times(ev: dict) -> None:
    start, end = ev.get("start"), ev.get("end")
    if not start or not (start.get("date") or start.get("dateTime")):
        raise ApiError(400, "Missing start time.", "required")
    if not end or not (end.get("date") or end.get("dateTime")):
        raise ApiError(400, "Missing end time.", "required")
    if bool(start.get("date")) != bool(end.get("date")):
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    try:
        if start.get("date"):
            s, e = parse_date(start["date"]), parse_date(end["date"])
        else:
            for edt, which in ((start, "start"), (end, "end")):
                raw = edt["dateTime"]
                has_offset = raw.endswith(("Z", "z")) or re.search(r"[+-]\d\d:?\d\d$", raw)
                if not has_offset and not edt.get("timeZone"):
                    raise ApiError(400, f"Missing time zone definition for {which} time.", "required")
            s = _time_of(start, get_zone(start.get("timeZone")))
            e = _time_of(end, get_zone(end.get("timeZone")))
    except ApiError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("Invalid start time.") from exc
    if e < s:
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar")
    if ev.get("recurrence") and start.get("dateTime") and not start.get("timeZone"):
        raise ApiError(400, "Missing time zone definition for start time.", "required")


def _localize_naive(ev: dict) -> None:
    """dateTime values without an offset are interpreted in their timeZone (stored with offset)."""
    for key in ("start", "end"):
        edt = ev.get(key) or {}
        raw = edt.get("dateTime")
        if raw and not (raw.endswith(("Z", "z")) or re.search(r"[+-]\d\d:?\d\d$", raw)) and edt.get("timeZone"):
            naive = dt.datetime.fromisoformat(raw)
            edt["dateTime"] = rfc3339(naive.replace(tzinfo=get_zone(edt["timeZone"])))


def _conference(state: State, data: dict) -> dict:
    data = copy.deepcopy(data)
    req = data.get("createRequest")
    if req is not None:
        ctype = ((req.get("conferenceSolutionKey") or {}).get("type")) or ""
        if ctype not in CONFERENCE_TYPES:
            raise bad_request("Invalid conference type value.")
        letters = "abcdefghijklmnopqrstuvwxyz"
        code = "-".join("".join(letters[b % 26] for b in base64.b32encode(opaque(n).encode()))[:n]
                        for n in (3, 4, 3))
        data = {
            "createRequest": {**req, "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
                             "label": f"meet.google.com/{code}"}],
            "conferenceSolution": {"key": {"type": ctype}, "name": "Google Meet",
                                   "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
                                              "logo_meet_2020q4_color_2x_web_512dp.png"},
            "conferenceId": code,
        }
    return data


def _shape(state: State, cal_id: str, ev: dict) -> dict:
    """Adjust organizer/creator/attendee flags for the calendar holding this copy."""
    org = ev.get("organizer") or {}
    ev["organizer"] = {"email": org.get("email")}
    if org.get("displayName"):
        ev["organizer"]["displayName"] = org["displayName"]
    if org.get("email") == cal_id:
        ev["organizer"]["self"] = True
    cre = dict(ev.get("creator") or {})
    cre.pop("self", None)
    if cre.get("email") == cal_id:
        cre["self"] = True
    ev["creator"] = cre
    if ev.get("attendees"):
        out = []
        for a in ev["attendees"]:
            a = dict(a)
            email = (a.get("email") or "").lower()
            a.setdefault("responseStatus", "needsAction")
            a.pop("self", None)
            a.pop("organizer", None)
            if email and email == (org.get("email") or "").lower():
                a["organizer"] = True
            if email and email == cal_id:
                a["self"] = True
            target = state.calendars.get(email)
            if target is not None and target["kind"] == "resource":
                a["resource"] = True
                a["responseStatus"] = "accepted"
                a.setdefault("displayName", target.get("summary"))
            out.append(a)
        ev["attendees"] = out
    return ev


def _propagate(state: State, cal: dict, ev: dict) -> None:
    """Keep attendee copies (same id/iCalUID) of an organizer's event in the attendees' calendars."""
    if (ev.get("organizer") or {}).get("email") != cal["id"]:
        return
    targets = set()
    if ev.get("status") != "cancelled":
        for a in ev.get("attendees") or []:
            email = (a.get("email") or "").lower()
            t = state.calendars.get(email)
            if not email or email == cal["id"] or t is None:
                continue
            if t["kind"] == "user" and state.live_user(email) is None:
                continue
            targets.add(email)
    previous = set(cal["copies"].get(ev["id"], []))
    for email in sorted(targets | previous):
        tcal = state.calendars.get(email)
        if tcal is None:
            continue
        existing = tcal["events"].get(ev["id"])
        if email not in targets:
            if existing is not None and existing.get("status") != "cancelled":
                gone = dict(existing)
                gone["status"] = "cancelled"
                commit(state, tcal, gone)
            continue
        dup = copy.deepcopy(ev)
        dup["htmlLink"] = html_link(ev["id"], email)
        props = dict(dup.get("extendedProperties") or {})
        props.pop("private", None)
        if existing is not None:
            old_private = (existing.get("extendedProperties") or {}).get("private")
            if old_private:
                props["private"] = old_private
            for key in ("reminders", "colorId", "transparency"):
                if key in existing:
                    dup[key] = existing[key]
                else:
                    dup.pop(key, None)
        else:
            dup["reminders"] = {"useDefault": True}
            dup.pop("colorId", None)
        if props:
            dup["extendedProperties"] = props
        else:
            dup.pop("extendedProperties", None)
        commit(state, tcal, _shape(state, email, dup))
    if targets:
        cal["copies"][ev["id"]] = sorted(targets)
    else:
        cal["copies"].pop(ev["id"], None)


def insert_event(state: State, cal: dict, body: dict, actor: str | None, conference_version: int = 0) -> dict:
    if not isinstance(body, dict):
        raise bad_request("Bad Request", "badRequest")
    fields = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY and v is not None}
    eid = fields.pop("id", None)
    if eid:
        if not valid_event_id(eid):
            raise bad_request("Invalid resource id value.")
        if eid in cal["events"]:
            raise ApiError(409, "The requested identifier already exists.", "duplicate")
    else:
        eid = event_id()
    _validate_times(fields)
    _localize_naive(fields)
    now = rfc3339_ms(state.now())
    owner = cal["id"]
    ev = {"kind": "calendar#event", "etag": "", "id": eid, "status": "confirmed",
          "htmlLink": html_link(eid, owner), "created": now, "updated": now}
    conference = fields.pop("conferenceData", None)
    ev.update(fields)
    ev.setdefault("iCalUID", f"{eid}@google.com")
    ev.setdefault("sequence", 0)
    ev.setdefault("reminders", {"useDefault": True})
    ev.setdefault("eventType", "default")
    creator = actor or owner
    ev["creator"] = {"email": creator}
    ev["organizer"] = {"email": owner}
    if cal["kind"] == "resource":
        ev["organizer"]["displayName"] = cal.get("summary")
    if conference is not None and conference_version >= 1:
        ev["conferenceData"] = _conference(state, conference)
        if ev["conferenceData"].get("conferenceId"):
            ev["hangoutLink"] = ev["conferenceData"]["entryPoints"][0]["uri"]
    _shape(state, owner, ev)
    commit(state, cal, ev)
    _propagate(state, cal, ev)
    return ev


def _check_if_match(ev: dict, if_match: str | None) -> None:
    if if_match and if_match.strip() not in ("*", ev.get("etag")):
        raise ApiError(412, "Precondition Failed", "conditionNotMet", location="If-Match", location_type="header")


def _attendee_edit_allowed(existing: dict, body: dict, cal_id: str, full: bool) -> bool:
    keys = set(body)
    if full:
        keys |= {k for k in SHARED_CHECK if k in existing}
    for key in keys:
        if key in ATTENDEE_FIELDS or key in ("id", "etag", "kind", "iCalUID", "sequence") or key in READ_ONLY:
            continue
        if key == "extendedProperties":
            if set(body[key] or {}) <= {"private"} or (body[key] or {}).get("shared") == (
                    existing.get(key) or {}).get("shared"):
                continue
            return False
        if key == "attendees":
            def strip(lst):
                return [{k: v for k, v in a.items() if k not in ("responseStatus", "comment", "additionalGuests",
                                                                  "self", "organizer", "resource")}
                        for a in lst or []]
            if strip(body.get(key)) == strip(existing.get(key)):
                continue
            return False
        if body.get(key) == existing.get(key):
            continue
        return False
    return True


def modify_event(state: State, cal: dict, eid: str, body: dict, actor: str | None, *, full: bool,
                 if_match: str | None = None, conference_version: int = 0) -> dict:
    if not isinstance(body, dict):
        raise bad_request("Bad Request", "badRequest")
    existing, stored = find_event(cal, eid)
    if existing is None:
        raise not_found()
    _check_if_match(existing, if_match)
    organizer = (existing.get("organizer") or {}).get("email")
    if organizer != cal["id"]:
        if not _attendee_edit_allowed(existing, body, cal["id"], full):
            raise ApiError(403, "Shared properties can only be changed by the organizer of the event.",
                           "forbiddenForNonOrganizer", "calendar")
        return _attendee_update(state, cal, existing, body)
    if full:
        new = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY and v is not None}
        for key in ("id", "created", "creator", "organizer", "iCalUID", "htmlLink", "kind",
                    "recurringEventId", "originalStartTime", "sequence"):
            if key in existing:
                new[key] = copy.deepcopy(existing[key])
        if conference_version < 1 or "conferenceData" not in body:
            new.pop("conferenceData", None)
            if conference_version < 1 and "conferenceData" in existing:
                new["conferenceData"] = copy.deepcopy(existing["conferenceData"])
                if "hangoutLink" in existing:
                    new["hangoutLink"] = existing["hangoutLink"]
        new.setdefault("status", "confirmed")
        new.setdefault("reminders", {"useDefault": True})
        new.setdefault("eventType", existing.get("eventType", "default"))
        new["kind"] = "calendar#event"
    else:
        new = copy.deepcopy(existing)
        for key, value in body.items():
            if key in READ_ONLY or key == "id":
                continue
            if key == "conferenceData" and conference_version < 1:
                continue
            if key == "extendedProperties" and isinstance(value, dict):
                props = new.setdefault("extendedProperties", {})
                for scope in ("private", "shared"):
                    if scope in value:
                        if value[scope] is None:
                            props.pop(scope, None)
                            continue
                        merged = dict(props.get(scope) or {})
                        for pk, pv in value[scope].items():
                            if pv is None:
                                merged.pop(pk, None)
                            else:
                                merged[pk] = pv
                        props[scope] = merged
                continue
            if value is None:
                new.pop(key, None)
            else:
                new[key] = copy.deepcopy(value)
    if "conferenceData" in body and conference_version >= 1 and body.get("conferenceData") is not None:
        new["conferenceData"] = _conference(state, body["conferenceData"])
        if new["conferenceData"].get("conferenceId"):
            new["hangoutLink"] = new["conferenceData"]["entryPoints"][0]["uri"]
    _validate_times(new)
    _localize_naive(new)
    if any(new.get(k) != existing.get(k) for k in ("start", "end", "recurrence", "location", "summary")):
        new["sequence"] = int(existing.get("sequence", 0)) + 1
    _shape(state, cal["id"], new)
    commit(state, cal, new)
    _propagate(state, cal, new)
    return new


def _attendee_update(state: State, cal: dict, existing: dict, body: dict) -> dict:
    new = copy.deepcopy(existing)
    for key in ATTENDEE_FIELDS:
        if key in body:
            if body[key] is None:
                new.pop(key, None)
            else:
                new[key] = copy.deepcopy(body[key])
    if isinstance(body.get("extendedProperties"), dict) and "private" in body["extendedProperties"]:
        props = new.setdefault("extendedProperties", {})
        merged = dict(props.get("private") or {})
        for k, v in (body["extendedProperties"]["private"] or {}).items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = v
        props["private"] = merged
    my_status = None
    for a in body.get("attendees") or []:
        if (a.get("email") or "").lower() == cal["id"] and a.get("responseStatus"):
            my_status = a["responseStatus"]
    if my_status:
        for a in new.get("attendees") or []:
            if (a.get("email") or "").lower() == cal["id"]:
                a["responseStatus"] = my_status
    commit(state, cal, new)
    org_cal = state.calendars.get((existing.get("organizer") or {}).get("email") or "")
    if my_status and org_cal is not None:
        org_ev = org_cal["events"].get(existing["id"])
        if org_ev is not None:
            org_ev = copy.deepcopy(org_ev)
            for a in org_ev.get("attendees") or []:
                if (a.get("email") or "").lower() == cal["id"]:
                    a["responseStatus"] = my_status
            commit(state, org_cal, org_ev)
            _propagate(state, org_cal, org_ev)
    return new


def delete_event(state: State, cal: dict, eid: str, if_match: str | None = None) -> None:
    existing, stored = find_event(cal, eid)
    if existing is None:
        raise not_found()
    if existing.get("status") == "cancelled":
        raise ApiError(410, "Resource has been deleted", "deleted")
    _check_if_match(existing, if_match)
    gone = copy.deepcopy(existing)
    gone["status"] = "cancelled"
    commit(state, cal, gone)
    if gone.get("recurrence"):
        prefix = gone["id"] + "_"
        for other_id in [i for i in cal["events"] if i.startswith(prefix)]:
            other = cal["events"][other_id]
            if other.get("recurringEventId") == gone["id"] and other.get("status") != "cancelled":
                commit(state, cal, {**copy.deepcopy(other), "status": "cancelled"})
    _propagate(state, cal, gone)


# =================================================================== listing


def _encode(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return data if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


def _parse_bound(ctx, name: str):
    raw = ctx.q(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_datetime(raw)
    except ValueError as exc:
        raise ApiError(400, "Bad Request", "badRequest") from exc


def _max_results(ctx) -> int:
    raw = ctx.q("maxResults")
    if raw is None:
        return 250
    try:
        n = int(raw)
    except ValueError as exc:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: [1, 2500]",
                          location="maxResults", location_type="parameter") from exc
    if n < 1:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: [1, 2500]",
                          location="maxResults", location_type="parameter")
    return min(n, 2500)


def _filters(ctx):
    q = (ctx.q("q") or "").lower().strip()
    ical = ctx.q("iCalUID")
    priv = [p.split("=", 1) for p in ctx.qall("privateExtendedProperty") if "=" in p]
    shared = [p.split("=", 1) for p in ctx.qall("sharedExtendedProperty") if "=" in p]
    types = [t for t in ctx.qall("eventTypes") if t]
    updated_min = _parse_bound(ctx, "updatedMin")
    if not (q or ical or priv or shared or types or updated_min is not None):
        return None, False

    def match(ev: dict) -> bool:
        if types and ev.get("eventType", "default") not in types:
            return False
        if ical and ev.get("iCalUID") != ical:
            return False
        props = ev.get("extendedProperties") or {}
        for k, v in priv:
            if (props.get("private") or {}).get(k) != v:
                return False
        for k, v in shared:
            if (props.get("shared") or {}).get(k) != v:
                return False
        if updated_min is not None and parse_datetime(ev["updated"]) < updated_min:
            return False
        if q:
            hay = [ev.get("summary"), ev.get("description"), ev.get("location"),
                   (ev.get("organizer") or {}).get("email"), (ev.get("organizer") or {}).get("displayName")]
            for a in ev.get("attendees") or []:
                hay += [a.get("email"), a.get("displayName")]
            text = " ".join(h for h in hay if h).lower()
            if not all(word in text for word in q.split()):
                return False
        return True

    return match, updated_min is not None


def _sort_start(item: dict, zone) -> tuple:
    t = _time_of(item.get("start"), zone) or _time_of(item.get("originalStartTime"), zone)
    return (t.timestamp() if t else 0.0, item["id"])


def collect(state: State, cal: dict, *, single: bool, show_deleted: bool, lo=None, hi=None,
            since: int | None = None, match=None, include_deleted: bool = False,
            master_id: str | None = None) -> list[dict]:
    zone = get_zone(cal.get("time_zone"))
    events, seqs = cal["events"], cal["seqs"]
    sync = since is not None
    deleted_ok = show_deleted or sync or include_deleted
    hz = horizon(state)
    out: list[dict] = []
    for eid, ev in events.items():
        if sync and seqs.get(eid, 0) <= since:
            continue
        if master_id is not None and eid != master_id and ev.get("recurringEventId") != master_id:
            continue
        if match is not None and not match(ev):
            continue
        cancelled = ev.get("status") == "cancelled"
        is_master = bool(ev.get("recurrence")) and "recurringEventId" not in ev
        is_exception = "recurringEventId" in ev
        if single:
            if is_master:
                if cancelled and not sync:
                    continue
                for occ in expand(ev, lo, hi, horizon=hz):
                    iid = f"{eid}_{occ.suffix()}"
                    if iid in events:
                        continue
                    inst = make_instance(ev, occ)
                    out.append(minimal(inst) if cancelled else inst)
                continue
            if cancelled and not deleted_ok:
                continue
            if not sync and not overlaps(ev, zone, lo, hi):
                continue
            out.append(minimal(ev) if cancelled and (sync or include_deleted or is_exception) else ev)
            continue
        if master_id is not None:
            continue
        if cancelled:
            if sync or include_deleted:
                out.append(minimal(ev))
                continue
            if not show_deleted:
                master = events.get(ev.get("recurringEventId") or "")
                if not (is_exception and master is not None and master.get("status") != "cancelled"):
                    continue
        if not sync:
            if is_master:
                if (lo is not None or hi is not None) and not expand(ev, lo, hi, horizon=hz):
                    continue
            elif not overlaps(ev, zone, lo, hi):
                continue
        out.append(minimal(ev) if cancelled and is_exception else ev)
    return out


def _events_response(state: State, cal: dict, role: str, ctx, items: list[dict], page_state: dict,
                     max_results: int) -> dict:
    offset = page_state.get("o", 0)
    page = items[offset:offset + max_results]
    updated = cal.get("updated") or rfc3339_ms(state.now())
    resp = {
        "kind": "calendar#events",
        "etag": f'"{page_state["s"]}"',
        "summary": cal.get("summary", cal["id"]),
        "description": "",
        "updated": updated,
        "timeZone": ctx.q("timeZone") or cal.get("time_zone", "Etc/GMT"),
        "accessRole": role,
        "defaultReminders": [{"method": "popup", "minutes": 10}] if role == "owner" else [],
    }
    if offset + max_results < len(items):
        resp["nextPageToken"] = _encode({**page_state, "o": offset + max_results})
    elif page_state.get("sync", True):
        resp["nextSyncToken"] = _encode({"c": cal["id"], "s": page_state["s"], "e": cal["epoch"]})
    resp["items"] = page
    return resp


def list_events(ctx, cal_id: str):
    state = ctx.state
    cal, role = calendar_for(ctx, cal_id)
    single = ctx.qbool("singleEvents")
    show_deleted = ctx.qbool("showDeleted")
    order = ctx.q("orderBy")
    sync_token = ctx.q("syncToken")
    max_results = _max_results(ctx)
    since = None
    if sync_token:
        for p in SYNC_FORBIDDEN:
            if p in ctx.query:
                raise bad_request(f"The {p} parameter cannot be used together with syncToken.",
                                  location=p, location_type="parameter")
        tok = _decode(sync_token)
        if (not tok or tok.get("c") != cal["id"] or tok.get("e") != cal["epoch"]
                or not isinstance(tok.get("s"), int) or tok["s"] > state.seq):
            raise ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired",
                           "calendar", location="syncToken", location_type="parameter")
        since = tok["s"]
    lo, hi = _parse_bound(ctx, "timeMin"), _parse_bound(ctx, "timeMax")
    if lo is not None and hi is not None and lo >= hi:
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar",
                       location="timeMax", location_type="parameter")
    if order == "startTime" and not single:
        raise bad_request("The requested ordering is not available for the particular query.",
                          location="orderBy", location_type="parameter")
    if order not in (None, "", "startTime", "updated"):
        raise bad_request(f"Invalid value for: {order} is not a valid value", location="orderBy",
                          location_type="parameter")
    page_token = ctx.q("pageToken")
    if page_token:
        page_state = _decode(page_token)
        if not page_state or not isinstance(page_state.get("o"), int) or not isinstance(page_state.get("s"), int):
            raise bad_request("Invalid page token value.", location="pageToken", location_type="parameter")
    else:
        page_state = {"o": 0, "s": state.seq}
    match, include_deleted = (None, False) if since is not None else _filters(ctx)
    if since is not None:
        types = [t for t in ctx.qall("eventTypes") if t]
        if types:
            def match(ev):
                return ev.get("eventType", "default") in types
    items = collect(state, cal, single=single, show_deleted=show_deleted, lo=lo, hi=hi, since=since,
                    match=match, include_deleted=include_deleted)
    zone = get_zone(cal.get("time_zone"))
    if order == "updated":
        items.sort(key=lambda e: (e.get("updated", ""), e["id"]))
    elif single:
        items.sort(key=lambda e: _sort_start(e, zone))
    return 200, _events_response(state, cal, role, ctx, items, page_state, max_results)


def instances(ctx, cal_id: str, eid: str):
    state = ctx.state
    cal, role = calendar_for(ctx, cal_id)
    master = cal["events"].get(eid)
    if master is None or not master.get("recurrence"):
        raise not_found()
    lo, hi = _parse_bound(ctx, "timeMin"), _parse_bound(ctx, "timeMax")
    if lo is not None and hi is not None and lo >= hi:
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar",
                       location="timeMax", location_type="parameter")
    lo_incl = lo - dt.timedelta(microseconds=1) if lo is not None else None
    items = collect(state, cal, single=True, show_deleted=ctx.qbool("showDeleted"), lo=lo_incl, hi=hi,
                    master_id=eid)
    original = ctx.q("originalStart")
    if original:
        at = parse_datetime(original) if "T" in original else None
        items = [i for i in items if (i.get("originalStartTime") or {}).get("date") == original
                 or (at and _time_of(i.get("originalStartTime"), UTC) == at)]
    zone = get_zone(cal.get("time_zone"))
    items.sort(key=lambda e: _sort_start(e, zone))
    page_token = ctx.q("pageToken")
    page_state = _decode(page_token) if page_token else {"o": 0, "s": state.seq}
    if not page_state or not isinstance(page_state.get("o"), int):
        raise bad_request("Invalid page token value.", location="pageToken", location_type="parameter")
    page_state["sync"] = False
    resp = _events_response(state, cal, role, ctx, items, page_state, _max_results(ctx))
    if "nextPageToken" in resp:
        resp["nextPageToken"] = _encode({"o": page_state["o"] + _max_results(ctx), "s": page_state["s"]})
    return 200, resp


# =================================================================== event methods


def get_event(ctx, cal_id: str, eid: str):
    cal, _ = calendar_for(ctx, cal_id)
    ev, _stored = find_event(cal, eid)
    if ev is None:
        raise not_found()
    return 200, ev


def _conf_version(ctx) -> int:
    try:
        return int(ctx.q("conferenceDataVersion") or 0)
    except ValueError:
        return 0


def insert(ctx, cal_id: str):
    cal, _ = calendar_for(ctx, cal_id, "writer")
    return 200, insert_event(ctx.state, cal, ctx.json(), ctx.subject, _conf_version(ctx))


def patch(ctx, cal_id: str, eid: str):
    cal, _ = calendar_for(ctx, cal_id, "writer")
    return 200, modify_event(ctx.state, cal, eid, ctx.json(), ctx.subject, full=False,
                             if_match=ctx.header("If-Match"), conference_version=_conf_version(ctx))


def update(ctx, cal_id: str, eid: str):
    cal, _ = calendar_for(ctx, cal_id, "writer")
    return 200, modify_event(ctx.state, cal, eid, ctx.json(), ctx.subject, full=True,
                             if_match=ctx.header("If-Match"), conference_version=_conf_version(ctx))


def delete(ctx, cal_id: str, eid: str):
    cal, _ = calendar_for(ctx, cal_id, "writer")
    delete_event(ctx.state, cal, eid, ctx.header("If-Match"))
    return 204, None


_TIME_RE = re.compile(r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b|\bat\s+(\d{1,2})(?::(\d{2}))\b", re.I)
_ISO_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2}))?\b")


def quick_add(ctx, cal_id: str):
    state = ctx.state
    cal, _ = calendar_for(ctx, cal_id, "writer")
    text = ctx.q("text")
    if not text:
        raise ApiError(400, "Required parameter: text", "required", location="text", location_type="parameter")
    zone_name = cal.get("time_zone") or "Etc/GMT"
    zone = get_zone(zone_name)
    now_local = dt.datetime.fromtimestamp(state.now(), zone)
    summary = text
    day = now_local.date()
    hour = minute = None
    m = _ISO_RE.search(text)
    if m:
        day = dt.date.fromisoformat(m.group(1))
        if m.group(2):
            hour, minute = int(m.group(2)), int(m.group(3))
        summary = (text[:m.start()] + text[m.end():])
    else:
        low = text.lower()
        for word, delta in (("tomorrow", 1), ("today", 0)):
            if word in low:
                day = now_local.date() + dt.timedelta(days=delta)
                i = low.index(word)
                summary = text[:i] + text[i + len(word):]
                break
        t = _TIME_RE.search(summary)
        if t:
            if t.group(1):
                hour, minute = int(t.group(1)) % 12, int(t.group(2) or 0)
                if t.group(3).lower() == "pm":
                    hour += 12
            else:
                hour, minute = int(t.group(4)), int(t.group(5))
            summary = summary[:t.start()] + summary[t.end():]
    summary = re.sub(r"\s+", " ", re.sub(r"\b(on|at)\s*$", "", summary.strip())).strip() or text
    if hour is None and not m:
        start = (now_local + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        body = {"start": {"dateTime": rfc3339(start), "timeZone": zone_name},
                "end": {"dateTime": rfc3339(start + dt.timedelta(hours=1)), "timeZone": zone_name}}
    elif hour is None:
        body = {"start": {"date": day.isoformat()}, "end": {"date": (day + dt.timedelta(days=1)).isoformat()}}
    else:
        start = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
        body = {"start": {"dateTime": rfc3339(start), "timeZone": zone_name},
                "end": {"dateTime": rfc3339(start + dt.timedelta(hours=1)), "timeZone": zone_name}}
    body["summary"] = summary
    return 200, insert_event(state, cal, body, ctx.subject)


# =================================================================== watch / channels


def watch(ctx, cal_id: str):
    state = ctx.state
    cal, _ = calendar_for(ctx, cal_id)
    body = ctx.json()
    cid = body.get("id")
    if not cid:
        raise ApiError(400, "Required", "required")
    if len(cid) > 64:
        raise bad_request(f"Invalid channel id: {cid}")
    ctype = body.get("type")
    if not ctype:
        raise ApiError(400, "Required", "required")
    if ctype not in ("web_hook", "webhook"):
        raise bad_request(f"Invalid value for: {ctype} is not a valid value")
    address = body.get("address")
    if not address:
        raise ApiError(400, "Required", "required")
    state.active_channels()
    if cid in state.channels:
        raise bad_request(f"Channel id {cid} not unique", "channelIdNotUnique")
    scheme = urllib.parse.urlsplit(address).scheme.lower()
    if scheme != "https" and not (state.allow_insecure_webhooks and scheme == "http"):
        raise bad_request(f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps")
    ttl = 604800
    raw_ttl = (body.get("params") or {}).get("ttl")
    if raw_ttl is not None:
        try:
            ttl = int(raw_ttl)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid ttl value: {raw_ttl}") from exc
    ttl = max(1, min(ttl, 2592000))
    now = state.now()
    expiration = int((now + ttl) * 1000)
    if body.get("expiration"):
        try:
            expiration = min(expiration, int(body["expiration"]))
        except (TypeError, ValueError):
            pass
    resource_uri = (f"https://www.googleapis.com/calendar/v3/calendars/{urllib.parse.quote(cal['id'], safe='')}"
                    "/events?alt=json")
    channel = {"kind": "api#channel", "id": cid, "resourceId": cal["resource_id"], "resourceUri": resource_uri,
               "address": address, "token": body.get("token"), "expiration": expiration, "email": cal["id"],
               "subject": ctx.subject, "client_id": ctx.token["client_id"], "project_id": ctx.token["project_id"],
               "message_number": 1, "created": now, "uid": opaque(12)}
    state.channels[cid] = channel
    if state.push_hook:
        state.push_hook(dict(channel), 1, "sync")
    resp = {"kind": "api#channel", "id": cid, "resourceId": channel["resourceId"], "resourceUri": resource_uri,
            "expiration": str(expiration)}
    if channel["token"] is not None:
        resp["token"] = channel["token"]
    return 200, resp


def stop_channel(ctx):
    state = ctx.state
    body = ctx.json()
    cid, rid = body.get("id"), body.get("resourceId")
    state.active_channels()
    ch = state.channels.get(cid or "")
    project = state.projects.get(ctx.token["project_id"], {}).get("number", ctx.token["project_id"])
    if ch is None or ch["resourceId"] != rid or ch["project_id"] != ctx.token["project_id"]:
        raise not_found(f"Channel '{cid}' not found for project '{project}'")
    del state.channels[cid]
    return 204, None


# =================================================================== settings, freebusy, acl


def get_setting(ctx, setting: str):
    state = ctx.state
    user = state.live_user(ctx.subject)
    values = dict(SETTING_DEFAULTS)
    if user is not None:
        values["locale"] = user.get("locale") or values["locale"]
        values["timezone"] = user.get("time_zone") or values["timezone"]
        values.update(user.get("settings") or {})
    if setting not in values:
        raise not_found()
    return 200, _setting(setting, values[setting])


def _setting(sid: str, value: str) -> dict:
    etag = base64.b32encode(f"{sid}={value}".encode()).decode().rstrip("=").lower()[:16]
    return {"kind": "calendar#setting", "etag": f'"{etag}"', "id": sid, "value": str(value)}


def list_settings(ctx):
    state = ctx.state
    user = state.live_user(ctx.subject) or {}
    values = dict(SETTING_DEFAULTS)
    values["locale"] = user.get("locale") or values["locale"]
    values["timezone"] = user.get("time_zone") or values["timezone"]
    items = [_setting(k, v) for k, v in sorted(values.items())]
    return 200, {"kind": "calendar#settings", "etag": f'"{state.seq}"', "items": items,
                 "nextSyncToken": _encode({"settings": 1})}


def _busy_of(state: State, cal: dict, lo, hi) -> list[tuple[dt.datetime, dt.datetime]]:
    zone = get_zone(cal.get("time_zone"))
    spans = []
    for item in collect(state, cal, single=True, show_deleted=False, lo=lo, hi=hi):
        if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
            continue
        mine = [a for a in item.get("attendees") or [] if a.get("self")]
        if mine and mine[0].get("responseStatus") == "declined":
            continue
        s, e = _time_of(item.get("start"), zone), _time_of(item.get("end"), zone)
        if s is None or e is None:
            continue
        s, e = max(s, lo), min(e, hi)
        if e > s:
            spans.append((s, e))
    spans.sort()
    merged: list[list] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def freebusy(ctx):
    state = ctx.state
    body = ctx.json()
    try:
        lo = parse_datetime(body["timeMin"])
        hi = parse_datetime(body["timeMax"])
    except KeyError as exc:
        raise ApiError(400, f"Missing {exc.args[0]} parameter.", "required") from exc
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "Bad Request", "badRequest") from exc
    if lo >= hi:
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar",
                       location="timeMax", location_type="parameter")
    out_zone = get_zone(body.get("timeZone") or "UTC")
    calendars = {}
    items = body.get("items") or []
    subject_domain = (ctx.subject or "").partition("@")[2]
    for n, item in enumerate(items):
        rid = item.get("id", "")
        if n >= 50:
            calendars[rid] = {"errors": [{"domain": "global", "reason": "tooManyCalendarsRequested"}], "busy": []}
            continue
        cid = ctx.subject if rid == "primary" else rid.lower()
        cal = state.calendars.get(cid or "")
        ok = cal is not None and not (cal["kind"] == "user" and state.live_user(cal["owner"]) is None)
        if ok:
            role = access_role(state, cal, ctx.subject)
            ok = rank(role) >= rank("freeBusyReader") or (subject_domain and cal["domain"] == subject_domain)
        if not ok:
            calendars[rid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue

        def fmt(d):
            return rfc3339(d.astimezone(out_zone))

        calendars[rid] = {"busy": [{"start": fmt(s), "end": fmt(e)} for s, e in _busy_of(state, cal, lo, hi)]}
    return 200, {"kind": "calendar#freeBusy", "timeMin": rfc3339_ms(lo.timestamp()),
                 "timeMax": rfc3339_ms(hi.timestamp()), "calendars": calendars}


def _acl_calendar(ctx, cal_id: str) -> dict:
    state = ctx.state
    cid = ctx.subject if cal_id == "primary" else cal_id.lower()
    cal = state.calendars.get(cid or "")
    if cal is None:
        raise not_found()
    if cal["kind"] == "resource" and state.is_admin_of(ctx.subject, cal["domain"]):
        return cal
    role = access_role(state, cal, ctx.subject)
    if rank(role) < rank("reader"):
        raise not_found()
    if role != "owner":
        raise ApiError(403, "You need to have owner access to this calendar.", "requiredAccessLevel")
    return cal


def acl_insert(ctx, cal_id: str):
    state = ctx.state
    cal = _acl_calendar(ctx, cal_id)
    body = ctx.json()
    role = body.get("role")
    scope = body.get("scope") or {}
    stype, value = scope.get("type"), (scope.get("value") or "").lower()
    if role not in ROLES:
        raise bad_request(f"Invalid role: {role}" if role else "Missing role.")
    if stype not in ("default", "user", "group", "domain"):
        raise bad_request("Invalid scope type value.")
    if stype != "default" and not value:
        raise bad_request("Invalid scope value.")
    rid = "default" if stype == "default" else f"{stype}:{value}"
    if rid == f"user:{ctx.subject}" and cal.get("owner") == ctx.subject and role != "owner":
        raise ApiError(403, "Cannot change your own access level.", "forbidden")
    rule = {"kind": "calendar#aclRule", "etag": f'"{int(state.now() * 1000) * 1000 + state.next_seq() % 1000}"',
            "id": rid, "scope": {"type": stype} if stype == "default" else {"type": stype, "value": value},
            "role": role}
    cal["acl"][rid] = rule
    return 200, rule


def acl_delete(ctx, cal_id: str, rule_id: str):
    cal = _acl_calendar(ctx, cal_id)
    if rule_id not in cal["acl"]:
        raise not_found()
    if rule_id == f"user:{ctx.subject}" and cal.get("owner") == ctx.subject:
        raise ApiError(403, "Cannot change your own access level.", "forbidden")
    del cal["acl"][rule_id]
    return 204, None


def acl_list(ctx, cal_id: str):
    cal = _acl_calendar(ctx, cal_id)
    return 200, {"kind": "calendar#acl", "etag": f'"{ctx.state.seq}"', "items": list(cal["acl"].values())}


# =================================================================== routing table

SEG = r"([^/]+)"
ROUTES = [
    ("GET", rf"calendars/{SEG}/events", list_events, "calendar.v3.Events.List", READ_EVENTS),
    ("POST", rf"calendars/{SEG}/events/quickAdd", quick_add, "calendar.v3.Events.QuickAdd", WRITE_EVENTS),
    ("POST", rf"calendars/{SEG}/events/watch", watch, "calendar.v3.Events.Watch", READ_EVENTS),
    ("POST", rf"calendars/{SEG}/events", insert, "calendar.v3.Events.Insert", WRITE_EVENTS),
    ("GET", rf"calendars/{SEG}/events/{SEG}/instances", instances, "calendar.v3.Events.Instances", READ_EVENTS),
    ("GET", rf"calendars/{SEG}/events/{SEG}", get_event, "calendar.v3.Events.Get", READ_EVENTS),
    ("PATCH", rf"calendars/{SEG}/events/{SEG}", patch, "calendar.v3.Events.Patch", WRITE_EVENTS),
    ("PUT", rf"calendars/{SEG}/events/{SEG}", update, "calendar.v3.Events.Update", WRITE_EVENTS),
    ("DELETE", rf"calendars/{SEG}/events/{SEG}", delete, "calendar.v3.Events.Delete", WRITE_EVENTS),
    ("POST", r"channels/stop", stop_channel, "calendar.v3.Channels.Stop", ANY_CALENDAR),
    ("GET", rf"users/me/settings/{SEG}", get_setting, "calendar.v3.Settings.Get", SETTINGS),
    ("GET", r"users/me/settings", list_settings, "calendar.v3.Settings.List", SETTINGS),
    ("POST", r"freeBusy", freebusy, "calendar.v3.Freebusy.Query", FREEBUSY),
    ("POST", rf"calendars/{SEG}/acl", acl_insert, "calendar.v3.Acl.Insert", ACL_WRITE),
    ("GET", rf"calendars/{SEG}/acl", acl_list, "calendar.v3.Acl.List", ACL_READ),
    ("DELETE", rf"calendars/{SEG}/acl/{SEG}", acl_delete, "calendar.v3.Acl.Delete", ACL_WRITE),
]
ROUTES = [(m, re.compile("^/calendar/v3/" + p + "$"), f, name, scopes) for m, p, f, name, scopes in ROUTES]
