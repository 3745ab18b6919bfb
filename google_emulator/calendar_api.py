"""Calendar API v3 handlers and the event store operations they share with the control API."""

from __future__ import annotations

import base64
import bisect
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
# Scope sets per method, as listed in the discovery document (calendar v3).
READ_EVENTS = {CAL_ALL, CAL_RO, A + "calendar.app.created", A + "calendar.events", A + "calendar.events.freebusy",
               A + "calendar.events.owned", A + "calendar.events.owned.readonly",
               A + "calendar.events.public.readonly", A + "calendar.events.readonly"}
WRITE_EVENTS = {CAL_ALL, A + "calendar.app.created", A + "calendar.events", A + "calendar.events.owned"}
SETTINGS = {CAL_ALL, CAL_RO, A + "calendar.settings.readonly", A + "calendar.settings"}
FREEBUSY = {CAL_ALL, CAL_RO, A + "calendar.freebusy", A + "calendar.events.freebusy"}
ACL_WRITE = {CAL_ALL, A + "calendar.acls"}
ACL_LIST = ACL_WRITE | {A + "calendar.acls.readonly"}
ACL_GET = ACL_LIST | {CAL_RO}
CHANNELS_STOP = {CAL_ALL, CAL_RO, A + "calendar.acls", A + "calendar.acls.readonly", A + "calendar.app.created",
                 A + "calendar.calendarlist", A + "calendar.calendarlist.readonly", A + "calendar.events",
                 A + "calendar.events.freebusy", A + "calendar.events.owned", A + "calendar.events.owned.readonly",
                 A + "calendar.events.public.readonly", A + "calendar.events.readonly", A + "calendar.settings",
                 A + "calendar.settings.readonly"}

ROLES = ["none", "freeBusyReader", "reader", "writerWithoutPrivateAccess", "writer", "owner"]
# Event writes are open to writerWithoutPrivateAccess too; the error still asks for "writer" access.
THRESHOLD = {"writer": "writerWithoutPrivateAccess"}
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


def required_access(need: str) -> ApiError:
    return ApiError(403, f"You need to have {need} access to this calendar.", "requiredAccessLevel", "calendar")


# =================================================================== helpers


def access_role(state: State, cal: dict, subject: str | None) -> str:
    """The subject's role on a calendar: data owner, tenant admin on a resource calendar, or its best ACL rule."""
    if not subject:
        return "none"
    if cal.get("owner") == subject:
        return "owner"
    if cal["kind"] == "resource" and state.is_admin_of(subject, cal["domain"]):
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
    if rank(role) < rank(THRESHOLD.get(need, need)):
        raise required_access(need)
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
                a.setdefault("displayName", target.get("summary"))
            out.append(a)
        ev["attendees"] = out
    return ev


# ------------------------------------------------------------------- room booking (resource auto-accept)

ROOM_SERIES_MAX_CONFLICTS = 8


def may_book(state: State, room: dict, organizer: str) -> bool:
    """Google lets a user book a room shared with them as free/busy (with booking allowed) or better: by default
    every user of the room's tenant; others need an ACL rule. Tenant admins can book every room."""
    if state.is_admin_of(organizer, room["domain"]):
        return True
    if (room.get("resource") or {}).get("domain_can_book", True) and state.same_tenant(organizer,
                                                                                       f"x@{room['domain']}"):
        return True
    return rank(access_role(state, room, organizer)) >= rank("freeBusyReader")


def _spans(state: State, ev: dict, zone) -> list[tuple[dt.datetime, dt.datetime]]:
    """The (start, end) instants the event occupies: one span, or the future occurrences of a series."""
    s, e = _time_of(ev.get("start"), zone), _time_of(ev.get("end"), zone)
    if ev.get("recurrence"):
        now = dt.datetime.fromtimestamp(state.now(), UTC)
        hz = max(horizon(state), (s or now) + dt.timedelta(days=HORIZON_DAYS))  # a year of a future series too
        return [(o.start_utc(zone), o.end_utc(zone)) for o in expand(ev, lo=now, horizon=hz)]
    return [(s, e)] if s is not None and e is not None else []


def room_response(state: State, room: dict, organizer: str, ev: dict) -> str:
    """The answer of a room invited to ``ev``: ``declined`` when the organizer may not book it or it is busy
    (another booking it accepted overlaps), else ``accepted``. A series is declined as a whole when more than
    half of its (future) occurrences, or more than 8, conflict. A room without auto-accept (its manager answers)
    leaves ``needsAction``."""
    if not may_book(state, room, organizer):
        return "declined"
    if not (room.get("resource") or {}).get("auto_accept", True):
        return "needsAction"
    zone = get_zone(room.get("time_zone"))
    spans = _spans(state, ev, zone)
    if not spans:
        return "accepted"
    lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
    if hi <= lo:
        return "accepted"
    busy = _busy_of(state, room, lo, hi, exclude=ev["id"])
    starts = [b[0] for b in busy]  # merged busy periods: disjoint and sorted, so ends are sorted too
    conflicts = 0
    for s, e in spans:
        i = bisect.bisect_left(starts, e)  # busy[:i] start before this span ends; busy[i-1] ends last
        if i and busy[i - 1][1] > s:
            conflicts += 1
    if not ev.get("recurrence"):
        return "declined" if conflicts else "accepted"
    return "declined" if conflicts * 2 > len(spans) or conflicts > ROOM_SERIES_MAX_CONFLICTS else "accepted"


def _book_rooms(state: State, cal: dict, ev: dict, previous: dict | None) -> None:
    """Set the responseStatus of every room attendee on the organizer's copy (before it is committed).

    A room answers when it is first invited, and again when the event moves (start, end or recurrence change:
    Google releases the room and tries to book it again); otherwise it keeps its previous answer."""
    if ev.get("status") == "cancelled" or not ev.get("attendees"):
        return
    was_live = previous is not None and previous.get("status") != "cancelled"
    moved = not was_live or any(ev.get(k) != previous.get(k) for k in ("start", "end", "recurrence"))
    before = {(a.get("email") or "").lower(): a for a in (previous or {}).get("attendees") or []} if was_live else {}
    for a in ev["attendees"]:
        email = (a.get("email") or "").lower()
        room = state.calendars.get(email)
        if room is None or room["kind"] != "resource" or email == cal["id"]:
            continue
        old = before.get(email)
        if old is not None and not moved and old.get("responseStatus"):
            a["responseStatus"] = old["responseStatus"]
        else:
            a["responseStatus"] = room_response(state, room, cal["id"], ev)


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
    _book_rooms(state, cal, ev, None)
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
            def strip(lst):  # who is invited (an attendee may answer and comment, not change the guest list)
                return sorted((a.get("email") or "").lower() for a in lst or [])
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
    _book_rooms(state, cal, new, existing)
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


_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                            "nov", "dec"))}
_MONTH = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?|(noon|midnight)"
_QA_ISO = re.compile(r"\b(?:on\s+)?(\d{4}-\d{2}-\d{2})(?:T(\d{1,2}):(\d{2}))?\b", re.I)
_QA_MONTH_DAY = re.compile(rf"\b(?:on\s+)?{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.I)
_QA_DAY_MONTH = re.compile(rf"\b(?:on\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+(\d{{4}}))?\b",
                           re.I)
_QA_RELATIVE = re.compile(r"\b(?:on\s+)?(today|tonight|tomorrow)\b", re.I)
_QA_WEEKDAY = re.compile(r"\b(?:on\s+|this\s+)?(next\s+)?(" + "|".join(_WEEKDAYS) + r")\b", re.I)
_QA_RANGE = re.compile(rf"(?:\b(?:from|at)\s+|@\s*|\b)(?:{_CLOCK})\s*(?:-|–|\bto\b|\buntil\b|\btill\b)\s*"
                       rf"(?:{_CLOCK})(?![\w:])", re.I)
_QA_TIME = re.compile(r"(?:\bat\s+|@\s*|\b)(?:(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![\w])"
                      r"|(\d{1,2}):(\d{2})\b|(noon|midnight)\b)", re.I)
_QA_AT_HOUR = re.compile(r"\bat\s+(\d{1,2})\b(?!\s*(?:people|persons|guests|min|minutes|hours?|h)\b)", re.I)
_QA_DURATION = re.compile(r"\bfor\s+(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|minutes?|mins?|m)\b", re.I)
_QA_LOCATION = re.compile(r"^(.+?)\s+(?:at|@)\s+(.+)$", re.I)
_QA_EDGES = re.compile(r"^(?:\s|,|-|–|\b(?:on|at|from|for)\b)+|(?:\s|,|-|–|\b(?:on|at|from|for)\b)+$", re.I)


def _clock(hour, minute, ampm, word, default_ampm=None):
    """(hour, minute) of one matched clock time, or None when it is not a valid time."""
    if word:
        return (12, 0) if word.lower() == "noon" else (0, 0)
    h, m = int(hour), int(minute or 0)
    ampm = (ampm or default_ampm or "").lower().replace(".", "")
    if ampm:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ampm == "pm" else 0)
    if h > 23 or m > 59:
        return None
    return h, m


def parse_quick_add(text: str, today: dt.date) -> dict:
    """Parse quickAdd text (the emulator's subset; Google's parser is undocumented).

    Returns ``{"summary", "location"?, "date"?, "start"?: (h, m), "end"?: (h, m), "minutes"?}``; every phrase
    recognised is removed from the summary. Dates: ``2026-05-04``, ``June 3``/``June 3rd, 2026``/``3 June``,
    ``today``/``tonight``/``tomorrow``, ``[on|this|next] <weekday>``. Times: ``3pm``, ``3:30 pm``, ``15:00``,
    ``at 15``, ``noon``, ``midnight``; ranges ``10am-10:25am``, ``10-11am``, ``from 3pm to 5pm``; durations
    ``for 2 hours``/``for 30 min``. What is left after `` at `` becomes the location."""
    out: dict = {}
    rest = text

    def cut(m):
        nonlocal rest
        rest = rest[:m.start()] + " " + rest[m.end():]

    m = _QA_ISO.search(rest)
    if m:
        try:
            out["date"] = dt.date.fromisoformat(m.group(1))
            if m.group(2) and int(m.group(2)) < 24 and int(m.group(3)) < 60:
                out["start"] = (int(m.group(2)), int(m.group(3)))
            cut(m)
        except ValueError:
            out.pop("date", None)
    if "date" not in out:
        for rx, month_group, day_group in ((_QA_MONTH_DAY, 1, 2), (_QA_DAY_MONTH, 2, 1)):
            m = rx.search(rest)
            if not m:
                continue
            month, day = _MONTHS[m.group(month_group).lower()[:3]], int(m.group(day_group))
            year = int(m.group(3)) if m.group(3) else today.year
            try:
                when = dt.date(year, month, day)
            except ValueError:
                continue
            if not m.group(3) and when < today:
                when = when.replace(year=today.year + 1)
            out["date"] = when
            cut(m)
            break
    if "date" not in out:
        m = _QA_RELATIVE.search(rest)
        if m:
            out["date"] = today + dt.timedelta(days=1 if m.group(1).lower() == "tomorrow" else 0)
            if m.group(1).lower() == "tonight" and "start" not in out:
                out["evening"] = True
            cut(m)
    if "date" not in out:
        m = _QA_WEEKDAY.search(rest)
        if m:
            ahead = (_WEEKDAYS.index(m.group(2).lower()) - today.weekday()) % 7
            if m.group(1) and ahead == 0:
                ahead = 7
            out["date"] = today + dt.timedelta(days=ahead)
            cut(m)
    if "start" not in out:
        m = _QA_RANGE.search(rest)
        if m:
            g = m.groups()
            end = _clock(g[4], g[5], g[6], g[7])
            first_ampm = g[2] or (None if g[3] else g[6])
            start = _clock(g[0], g[1], first_ampm, g[3])
            if start and end and g[2] is None and g[6] and start > end:  # "11-1pm": 11am to 1pm
                start = _clock(g[0], g[1], "am" if g[6].lower().startswith("p") else "pm", g[3])
            if start and end and (g[1] or g[2] or g[3] or g[5] or g[6] or g[7]):
                out["start"], out["end"] = start, end
                cut(m)
    if "start" not in out:
        m = _QA_TIME.search(rest)
        clock = None
        if m:
            g = m.groups()
            clock = _clock(g[0], g[1], g[2], None) if g[0] else _clock(g[3], g[4], None, g[5])
        if clock is None:
            m = _QA_AT_HOUR.search(rest)
            clock = _clock(m.group(1), None, None, None) if m else None
        if clock is not None:
            if out.pop("evening", False) and clock[0] < 12:
                clock = (clock[0] + 12, clock[1])
            out["start"] = clock
            cut(m)
    m = _QA_DURATION.search(rest)
    if m and "start" in out and "end" not in out:
        amount = float(m.group(1))
        out["minutes"] = int(amount * (60 if m.group(2).lower().startswith("h") else 1))
        cut(m)
    out.pop("evening", None)
    summary = re.sub(r"\s+", " ", rest).strip()
    summary = _QA_EDGES.sub("", summary).strip()
    m = _QA_LOCATION.match(summary)
    if m and _QA_EDGES.sub("", m.group(2)).strip():
        summary, out["location"] = m.group(1).strip(), _QA_EDGES.sub("", m.group(2)).strip()
    out["summary"] = summary or text
    return out


def quick_add(ctx, cal_id: str):
    """events.quickAdd: parse ``text`` (see ``parse_quick_add``) into an event on a calendar the subject can write.
    A date without a time makes an all-day event; a time without a date is today; neither starts at the next
    full hour. The length is the subject's ``defaultEventLength`` setting (60 minutes) unless a range or a
    duration says otherwise."""
    state = ctx.state
    cal, _ = calendar_for(ctx, cal_id, "writer")
    text = ctx.q("text")
    if not text:
        raise ApiError(400, "Required parameter: text", "required", location="text", location_type="parameter")
    zone_name = cal.get("time_zone") or "Etc/GMT"
    zone = get_zone(zone_name)
    now_local = dt.datetime.fromtimestamp(state.now(), zone)
    parsed = parse_quick_add(text, now_local.date())
    user = state.live_user(ctx.subject) or {}
    try:
        length = int((user.get("settings") or {}).get("defaultEventLength") or 60)
    except ValueError:
        length = 60
    length = parsed.get("minutes", length)

    def timed(start: dt.datetime, end: dt.datetime | None = None) -> dict:
        end = end or start + dt.timedelta(minutes=length)
        return {"start": {"dateTime": rfc3339(start), "timeZone": zone_name},
                "end": {"dateTime": rfc3339(end), "timeZone": zone_name}}

    day = parsed.get("date") or now_local.date()
    if "start" in parsed:
        start = dt.datetime.combine(day, dt.time(*parsed["start"]), tzinfo=zone)
        end = None
        if "end" in parsed:
            end = dt.datetime.combine(day, dt.time(*parsed["end"]), tzinfo=zone)
            if end <= start:
                end += dt.timedelta(days=1)
        body = timed(start, end)
    elif "date" in parsed:
        body = {"start": {"date": day.isoformat()}, "end": {"date": (day + dt.timedelta(days=1)).isoformat()}}
    else:
        body = timed((now_local + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
    body["summary"] = parsed["summary"]
    if parsed.get("location"):
        body["location"] = parsed["location"]
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
    values.update(user.get("settings") or {})
    items = [_setting(k, v) for k, v in sorted(values.items())]
    return 200, {"kind": "calendar#settings", "etag": f'"{state.seq}"', "items": items,
                 "nextSyncToken": _encode({"settings": 1})}


FREE_EVENT_TYPES = ("workingLocation", "birthday")


def is_busy(item: dict) -> bool:
    """Whether an event (instance) of a calendar makes that calendar busy: not cancelled, not transparent, not a
    working-location or birthday entry, and not declined by the calendar itself (its ``self`` attendee)."""
    if item.get("status") == "cancelled" or item.get("transparency") == "transparent":
        return False
    if item.get("eventType") in FREE_EVENT_TYPES:
        return False
    mine = [a for a in item.get("attendees") or [] if a.get("self")]
    return not (mine and mine[0].get("responseStatus") == "declined")


def _busy_of(state: State, cal: dict, lo, hi, exclude: str | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """Merged busy periods of a calendar within [lo, hi); ``exclude`` leaves out one event (and its instances)."""
    zone = get_zone(cal.get("time_zone"))
    spans = []
    for item in collect(state, cal, single=True, show_deleted=False, lo=lo, hi=hi):
        if not is_busy(item):
            continue
        if exclude is not None and (item["id"] == exclude or item.get("recurringEventId") == exclude):
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
    """freeBusy.query: busy periods per requested calendar (keys echo the ids as sent). A calendar the subject
    cannot see (unknown, deleted, another tenant without an ACL rule) gets ``errors: [notFound]``; users of one
    tenant see each other's and the tenant's rooms' free/busy without a rule."""
    state = ctx.state
    body = ctx.json()
    try:
        lo = parse_datetime(body["timeMin"])
        hi = parse_datetime(body["timeMax"])
    except KeyError as exc:
        raise ApiError(400, f"Missing {exc.args[0]} parameter.", "required") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise ApiError(400, "Bad Request", "badRequest") from exc
    if lo >= hi:
        raise ApiError(400, "The specified time range is empty.", "timeRangeEmpty", "calendar",
                       location="timeMax", location_type="parameter")
    out_zone = get_zone(body.get("timeZone") or "UTC")
    calendars = {}
    items = body.get("items") or []

    def fmt(d):
        return rfc3339(d.astimezone(out_zone))

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
            ok = rank(role) >= rank("freeBusyReader") or state.same_tenant(ctx.subject, f"x@{cal['domain']}")
        if not ok:
            calendars[rid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        if cal.get("freebusy_error"):
            calendars[rid] = {"errors": [{"domain": "global", "reason": cal["freebusy_error"]}], "busy": []}
            continue
        calendars[rid] = {"busy": [{"start": fmt(s), "end": fmt(e)} for s, e in _busy_of(state, cal, lo, hi)]}
    return 200, {"kind": "calendar#freeBusy", "timeMin": rfc3339_ms(lo.timestamp()),
                 "timeMax": rfc3339_ms(hi.timestamp()), "calendars": calendars}


def _acl_calendar(ctx, cal_id: str, need: str) -> dict:
    """ACL reads need ``writer`` (writers can read a calendar's ACL), changes need ``owner`` (discovery,
    AclRule.role). A calendar the subject cannot read at all answers 404 like every other method."""
    state = ctx.state
    cid = ctx.subject if cal_id == "primary" else cal_id.lower()
    cal = state.calendars.get(cid or "")
    if cal is None or (cal["kind"] == "user" and state.live_user(cal["owner"]) is None):
        raise not_found()
    role = access_role(state, cal, ctx.subject)
    if rank(role) < rank("reader"):
        raise not_found()
    if rank(role) < rank(need):
        raise required_access(need)
    return cal


def _rule_id(raw: str) -> str:
    stype, sep, value = raw.partition(":")
    return f"{stype}:{value.lower()}" if sep else raw


def store_acl_rule(state: State, cal: dict, stype: str, value: str | None, role: str) -> dict:
    """Create or replace the rule of one scope (rule id ``type:value``, or ``default`` for the public scope)."""
    value = (value or "").lower()
    rid = "default" if stype == "default" else f"{stype}:{value}"
    seq = state.next_seq()
    rule = {"kind": "calendar#aclRule", "etag": f'"{int(state.now() * 1000) * 1000 + seq % 1000:020d}"',
            "id": rid, "scope": {"type": stype} if stype == "default" else {"type": stype, "value": value},
            "role": role}
    cal["acl"][rid] = rule
    cal.setdefault("acl_seqs", {})[rid] = seq
    cal.setdefault("acl_deleted", {}).pop(rid, None)
    return rule


def remove_acl_rule(state: State, cal: dict, rid: str) -> None:
    """Drop a rule; it stays visible to ``showDeleted``/sync as a rule with role ``none``."""
    rule = cal["acl"].pop(rid)
    seq = state.next_seq()
    cal.setdefault("acl_deleted", {})[rid] = {**rule, "role": "none",
                                             "etag": f'"{int(state.now() * 1000) * 1000 + seq % 1000:020d}"'}
    cal.setdefault("acl_seqs", {})[rid] = seq


def _check_rule_body(body, partial: bool) -> tuple[str | None, dict | None]:
    if not isinstance(body, dict):
        raise bad_request("Bad Request", "badRequest")
    role = body.get("role")
    scope = body.get("scope")
    if role is None and not partial:
        raise ApiError(400, "Missing role.", "required")
    if role is not None and role not in ROLES:
        raise bad_request(f"Invalid role: {role}")
    if scope is None and not partial:
        raise ApiError(400, "Missing scope.", "required")
    if scope is not None:
        if not isinstance(scope, dict) or scope.get("type") not in ("default", "user", "group", "domain"):
            raise bad_request("Invalid scope type value.")
        if scope["type"] != "default" and not scope.get("value"):
            raise bad_request("Invalid scope value.")
    return role, scope


def _own_level(ctx, cal: dict, rid: str, role: str | None) -> None:
    if rid == f"user:{ctx.subject}" and cal.get("owner") == ctx.subject and role != "owner":
        raise ApiError(403, "Cannot change your own access level.", "forbidden")


def acl_insert(ctx, cal_id: str):
    """acl.insert: creates the scope's rule, or replaces the role of an existing rule for that scope."""
    cal = _acl_calendar(ctx, cal_id, "owner")
    role, scope = _check_rule_body(ctx.json(), partial=False)
    rid = "default" if scope["type"] == "default" else f"{scope['type']}:{scope['value'].lower()}"
    _own_level(ctx, cal, rid, role)
    return 200, store_acl_rule(ctx.state, cal, scope["type"], scope.get("value"), role)


def _acl_change(ctx, cal_id: str, rule_id: str, partial: bool):
    cal = _acl_calendar(ctx, cal_id, "owner")
    rid = _rule_id(rule_id)
    rule = cal["acl"].get(rid)
    if rule is None:
        raise not_found()
    role, scope = _check_rule_body(ctx.json(), partial=partial)
    if scope is not None and (scope["type"] != rule["scope"]["type"]
                              or (scope.get("value") or "").lower() != rule["scope"].get("value", "")):
        raise bad_request("Invalid scope: the scope of a rule cannot be changed.")
    role = role or rule["role"]
    _own_level(ctx, cal, rid, role)
    return 200, store_acl_rule(ctx.state, cal, rule["scope"]["type"], rule["scope"].get("value"), role)


def acl_patch(ctx, cal_id: str, rule_id: str):
    return _acl_change(ctx, cal_id, rule_id, partial=True)


def acl_update(ctx, cal_id: str, rule_id: str):
    return _acl_change(ctx, cal_id, rule_id, partial=False)


def acl_get(ctx, cal_id: str, rule_id: str):
    cal = _acl_calendar(ctx, cal_id, "writer")
    rule = cal["acl"].get(_rule_id(rule_id))
    if rule is None:
        raise not_found()
    return 200, rule


def acl_delete(ctx, cal_id: str, rule_id: str):
    cal = _acl_calendar(ctx, cal_id, "owner")
    rid = _rule_id(rule_id)
    if rid not in cal["acl"]:
        raise not_found()
    _own_level(ctx, cal, rid, None)
    remove_acl_rule(ctx.state, cal, rid)
    return 204, None


def acl_list(ctx, cal_id: str):
    """acl.list with paging (maxResults default 100, at most 250), showDeleted (removed rules as role ``none``)
    and syncToken (changes since the token, removed rules always included; 410 when the token is unusable)."""
    state = ctx.state
    cal = _acl_calendar(ctx, cal_id, "writer")
    seqs = cal.get("acl_seqs") or {}
    since = None
    sync_token = ctx.q("syncToken")
    if sync_token:
        tok = _decode(sync_token)
        if not tok or tok.get("a") != cal["id"] or not isinstance(tok.get("s"), int) or tok["s"] > state.seq:
            raise ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired",
                           "calendar", location="syncToken", location_type="parameter")
        since = tok["s"]
    rules = list(cal["acl"].values())
    if since is not None or ctx.qbool("showDeleted"):
        rules += list((cal.get("acl_deleted") or {}).values())
    if since is not None:
        rules = [r for r in rules if seqs.get(r["id"], 0) > since]
    raw = ctx.q("maxResults")
    try:
        max_results = int(raw) if raw else 100
    except ValueError:
        max_results = 0
    if max_results < 1:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: [1, 250]",
                          location="maxResults", location_type="parameter")
    max_results = min(max_results, 250)
    page_token = ctx.q("pageToken")
    page_state = _decode(page_token) if page_token else {"o": 0, "s": state.seq}
    if not page_state or not isinstance(page_state.get("o"), int) or not isinstance(page_state.get("s"), int):
        raise bad_request("Invalid page token value.", location="pageToken", location_type="parameter")
    offset = page_state["o"]
    resp = {"kind": "calendar#acl", "etag": f'"{page_state["s"]:020d}"',
            "items": rules[offset:offset + max_results]}
    if offset + max_results < len(rules):
        resp["nextPageToken"] = _encode({**page_state, "o": offset + max_results})
    else:
        resp["nextSyncToken"] = _encode({"a": cal["id"], "s": page_state["s"]})
    return 200, resp


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
    ("POST", r"channels/stop", stop_channel, "calendar.v3.Channels.Stop", CHANNELS_STOP),
    ("GET", rf"users/me/settings/{SEG}", get_setting, "calendar.v3.Settings.Get", SETTINGS),
    ("GET", r"users/me/settings", list_settings, "calendar.v3.Settings.List", SETTINGS),
    ("POST", r"freeBusy", freebusy, "calendar.v3.Freebusy.Query", FREEBUSY),
    ("POST", rf"calendars/{SEG}/acl", acl_insert, "calendar.v3.Acl.Insert", ACL_WRITE),
    ("GET", rf"calendars/{SEG}/acl", acl_list, "calendar.v3.Acl.List", ACL_LIST),
    ("GET", rf"calendars/{SEG}/acl/{SEG}", acl_get, "calendar.v3.Acl.Get", ACL_GET),
    ("PATCH", rf"calendars/{SEG}/acl/{SEG}", acl_patch, "calendar.v3.Acl.Patch", ACL_WRITE),
    ("PUT", rf"calendars/{SEG}/acl/{SEG}", acl_update, "calendar.v3.Acl.Update", ACL_WRITE),
    ("DELETE", rf"calendars/{SEG}/acl/{SEG}", acl_delete, "calendar.v3.Acl.Delete", ACL_WRITE),
]
ROUTES = [(m, re.compile("^/calendar/v3/" + p + "$"), f, name, scopes) for m, p, f, name, scopes in ROUTES]
