"""Webex Meetings REST endpoints: ``/v1/meetings`` and ``/v1/meetingPreferences/personalMeetingRoom``.

Field names, defaults and error texts follow Webex's published OpenAPI spec
(``public-spec/webex-meeting.json`` of github.com/webex/webex-openapi-specs).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import string
import urllib.parse
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import BAD_REQUEST, INVALID_ITEMS, WebexError
from .state import State, person_id, site_url

UTC = dt.UTC
DIAL_IN_IP = "173.243.2.68"
CALL_IN_NUMBERS = [
    {"label": "United States Toll", "callInNumber": "+1-415-655-0001", "tollType": "toll"},
    {"label": "United Kingdom Toll", "callInNumber": "+44-20-7660-8149", "tollType": "toll"},
]
READ = ("meeting:schedules_read", "meeting:admin_schedule_read")
WRITE = ("meeting:schedules_write", "meeting:admin_schedule_write")
PREFERENCES = ("meeting:preferences_read", "meeting:admin_preferences_read")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BOOLEANS = (
    "enabledAutoRecordMeeting",
    "allowAnyUserToBeCoHost",
    "enabledJoinBeforeHost",
    "enableConnectAudioBeforeHost",
    "excludePassword",
    "publicMeeting",
    "enableAutomaticLock",
    "allowFirstUserToBeCoHost",
    "allowAuthenticatedDevices",
    "enabledWebcastView",
    "enabledBreakoutSessions",
    "enabledAudioWatermark",
    "enabledVisualWatermark",
    "requireAttendeeLogin",
    "restrictToInvitees",
    "enabledLiveStream",
    "sendEmail",
)
_DEFAULTS = {
    "enabledAutoRecordMeeting": False,
    "allowAnyUserToBeCoHost": False,
    "enabledJoinBeforeHost": False,
    "enableConnectAudioBeforeHost": False,
    "joinBeforeHostMinutes": 0,
    "excludePassword": False,
    "publicMeeting": False,
    "reminderTime": 10,
    "unlockedMeetingJoinSecurity": "allowJoin",
    "sessionTypeId": 3,
    "scheduledType": "meeting",
    "enabledWebcastView": False,
    "enableAutomaticLock": False,
    "automaticLockMinutes": 0,
    "allowFirstUserToBeCoHost": False,
    "allowAuthenticatedDevices": False,
    "enabledBreakoutSessions": False,
    "enabledAudioWatermark": False,
    "enabledVisualWatermark": False,
}
_NUMBERS = {
    "joinBeforeHostMinutes": (0, 15),
    "reminderTime": (0, 10080),
    "automaticLockMinutes": (0, 20),
    "sessionTypeId": (1, 10**6),
}
_ENUMS = {
    "unlockedMeetingJoinSecurity": ("allowJoin", "allowJoinWithLobby", "blockFromJoin"),
    "scheduledType": ("meeting", "webinar", "personalRoomMeeting"),
}
_OBJECTS = ("meetingOptions", "attendeePrivileges", "audioConnectionOptions", "trackingCodes")
_MEETING_OPTIONS = {
    "enabledChat": True,
    "enabledVideo": True,
    "enabledPolling": False,
    "enabledNote": True,
    "noteType": "allowAll",
    "enabledFileTransfer": True,
    "enabledUCFRichMedia": True,
}
_ATTENDEE_PRIVILEGES = {
    "enabledShareContent": True,
    "enabledSaveDocument": False,
    "enabledPrintDocument": False,
    "enabledAnnotate": False,
    "enabledViewParticipantList": True,
    "enabledViewThumbnails": False,
    "enabledRemoteControl": True,
    "enabledViewAnyDocument": False,
    "enabledViewAnyPage": False,
    "enabledContactOperatorPrivately": False,
    "enabledChatHost": True,
    "enabledChatPresenter": True,
    "enabledChatOtherParticipants": True,
}
_AUDIO = {
    "audioConnectionType": "webexAudio",
    "enabledTollFreeCallIn": False,
    "enabledGlobalCallIn": True,
    "enabledAudienceCallBack": False,
    "entryAndExitTone": "beep",
    "allowHostToUnmuteParticipants": False,
    "allowAttendeeToUnmuteSelf": True,
    "muteAttendeeUponEntry": True,
}


class Ctx:
    """One authenticated API request."""

    def __init__(self, state: State, emulator, method: str, path: str, query: dict, headers, body: bytes):
        self.state = state
        self.emulator = emulator
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.token: dict = {}
        self.app: dict = {}
        self.response_headers: dict = {}

    def q(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> dict:
        if not self.body:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise WebexError(400, "Invalid JSON in the request body.") from exc
        if not isinstance(data, dict):
            raise WebexError(400, "The request body must be a JSON object.")
        return data

    def has(self, *scopes: str) -> bool:
        return any(s in self.app["scopes"] for s in scopes)

    @property
    def caller(self) -> str | None:
        return self.app.get("user")


# ---------------------------------------------------------------------------------------------- helpers


def _bad(*descriptions: str) -> WebexError:
    return WebexError(400, *descriptions, message=BAD_REQUEST)


def _zone(name) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise _bad("'timezone' is invalid.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _bad(f"'timezone' value '{name}' is invalid.") from exc


def _parse_time(value, name: str, zone: ZoneInfo) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"'{name}' cannot be empty.")
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00"
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as exc:
        raise _bad(f"'{name}' value '{value}' is not a valid ISO 8601 date and time.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def _fmt(when: dt.datetime, zone: ZoneInfo) -> str:
    local = when.astimezone(zone)
    if local.utcoffset() == dt.timedelta(0):
        return local.strftime("%Y-%m-%dT%H:%M:%SZ")
    return local.isoformat(timespec="seconds")


def _now(ctx: Ctx) -> dt.datetime:
    return dt.datetime.fromtimestamp(ctx.state.now(), UTC)


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(8))
        if (
            any(c.isupper() for c in value)
            and any(c.islower() for c in value)
            and any(c.isdigit() for c in value)
        ):
            return value


def _numeric_password(password: str) -> str:
    """The phone and video system password Webex derives from the meeting password (digits only)."""
    keypad = {
        c: str(i)
        for i, letters in enumerate(("", "", "abc", "def", "ghi", "jkl", "mno", "pqrs", "tuv", "wxyz"))
        for c in letters
    }
    digits = "".join(c if c.isdigit() else keypad.get(c.lower(), "0") for c in password)
    return digits[:8].ljust(8, "0")


_RRULE_STEP = {"DAILY": 1, "WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}


def _recurrence(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(
        r"FREQ=(?:DAILY|WEEKLY|MONTHLY|YEARLY)(?:;[A-Z]+=[^;]+)*", value.strip()
    ):
        raise _bad(f"'recurrence' value '{value}' is invalid.")
    return value.strip()


def _series_end(meeting: dict) -> dt.datetime | None:
    """End of the last occurrence of a meeting series (an upper bound), None when it never ends."""
    rule = meeting.get("recurrence")
    duration = meeting["end"] - meeting["start"]
    if not rule:
        return meeting["end"]
    parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    if "UNTIL" in parts:
        raw = parts["UNTIL"].rstrip("Z")
        try:
            until = (
                dt.datetime.strptime(raw, "%Y%m%dT%H%M%S")
                if "T" in raw
                else dt.datetime.strptime(raw, "%Y%m%d")
            )
        except ValueError:
            return None
        return until.replace(tzinfo=UTC) + duration + dt.timedelta(days=1)
    if "COUNT" in parts and parts["COUNT"].isdigit():
        step = _RRULE_STEP.get(parts.get("FREQ", ""), 1) * max(1, int(parts.get("INTERVAL", "1") or 1))
        return meeting["start"] + dt.timedelta(days=step * (int(parts["COUNT"]) - 1)) + duration
    return None


def _state(meeting: dict, now: dt.datetime) -> str:
    end = _series_end(meeting)
    return "expired" if end is not None and end <= now else "active"


def _view_zone(ctx: Ctx, meeting: dict) -> ZoneInfo:
    header = ctx.headers.get("timezone") if ctx.headers is not None else None
    if header:
        try:
            return ZoneInfo(header)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(meeting["timezone"])


def meeting_view(ctx: Ctx, meeting: dict) -> dict:
    zone = _view_zone(ctx, meeting)
    host = meeting["host"]
    site = meeting["siteUrl"]
    view = {
        "id": meeting["id"],
        "meetingNumber": meeting["meetingNumber"],
        "title": meeting["title"],
        "agenda": meeting.get("agenda"),
        "password": meeting["password"],
        "phoneAndVideoSystemPassword": _numeric_password(meeting["password"]),
        "meetingType": "meetingSeries",
        "state": _state(meeting, _now(ctx)),
        "timezone": str(zone.key),
        "start": _fmt(meeting["start"], zone),
        "end": _fmt(meeting["end"], zone),
        "recurrence": meeting.get("recurrence"),
        "hostUserId": host["personId"],
        "hostDisplayName": host["displayName"],
        "hostEmail": host["email"],
        "hostKey": host["hostKey"],
        "siteUrl": site,
        "webLink": meeting["webLink"],
        "sipAddress": f"{meeting['meetingNumber']}@{site}",
        "dialInIpAddress": DIAL_IN_IP,
    }
    for key in _DEFAULTS:
        view[key] = meeting["settings"][key]
    view["telephony"] = {
        "accessCode": meeting["meetingNumber"],
        "callInNumbers": CALL_IN_NUMBERS,
        "links": [
            {
                "rel": "globalCallinNumbers",
                "href": f"/v1/meetings/{meeting['id']}/globalCallinNumbers",
                "method": "GET",
            }
        ],
    }
    for key in _OBJECTS:
        if meeting["settings"].get(key) is not None:
            view[key] = meeting["settings"][key]
    tags = meeting["integrationTags"].get(ctx.app["client_id"])
    if tags:
        view["integrationTags"] = list(tags)
    view["links"] = [
        {"rel": "breakoutSessions", "href": f"/v1/meetings/{meeting['id']}/breakoutSessions", "method": "GET"}
    ]
    return {k: v for k, v in view.items() if v is not None}


# ---------------------------------------------------------------------------------------------- validation


def _validate(ctx: Ctx, data: dict, current: dict | None, *, require: tuple[str, ...]) -> dict:
    """Checked fields of a create/update body (only those present in ``data``, plus ``require``)."""
    out: dict = {}
    for name in require:
        if data.get(name) in (None, ""):
            raise _bad(f"'{name}' cannot be empty.")
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str) or not title.strip():
            raise _bad("'title' cannot be empty.")
        if len(title) > 128:
            raise _bad("'title' cannot be longer than 128 characters.")
        out["title"] = title
    if "agenda" in data:
        agenda = data["agenda"]
        if agenda is not None and (not isinstance(agenda, str) or len(agenda) > 1300):
            raise _bad("'agenda' must be a string of at most 1300 characters.")
        out["agenda"] = agenda or None
    if "password" in data:
        password = data["password"]
        if not isinstance(password, str) or not password:
            raise _bad("'password' cannot be empty.")
        if not (any(c.isupper() for c in password) and any(c.islower() for c in password)):
            raise WebexError(
                400,
                "Meeting password validation failed. A mix of uppercase and lowercase letters "
                "(A, a, B, b, C, c, etc.) is required.",
                message=INVALID_ITEMS,
            )
        out["password"] = password
    zone_name = data.get("timezone") or (current["timezone"] if current else "UTC")
    zone = _zone(zone_name)
    out["timezone"] = str(zone.key)
    if "start" in data or "end" in data or "timezone" in data:
        start = _parse_time(data["start"], "start", zone) if "start" in data else current["start"]
        end = _parse_time(data["end"], "end", zone) if "end" in data else current["end"]
        now = _now(ctx)
        if "start" in data:
            start = start.replace(second=0, microsecond=0)
            minute = now.replace(second=0, microsecond=0)
            if start < minute:
                raise _bad("'start' cannot be before current date and time.")
            if start == minute:
                start += dt.timedelta(minutes=1)
        if "end" in data:
            end = end.replace(second=0, microsecond=0)
        if end <= start:
            raise _bad("'end' cannot be before 'start'.")
        if end - start < dt.timedelta(minutes=10):
            raise _bad("Duration between 'start' and 'end' cannot be shorter than 10 minutes.")
        if end - start > dt.timedelta(hours=23, minutes=59):
            raise _bad("Duration between 'start' and 'end' cannot be longer than 23 hours 59 minutes.")
        out["start"], out["end"] = start, end
    if "recurrence" in data:
        out["recurrence"] = _recurrence(data["recurrence"])
    for key in _BOOLEANS:
        if key in data and not isinstance(data[key], bool):
            raise _bad(f"'{key}' must be a boolean.")
    for key, (low, high) in _NUMBERS.items():
        if key in data and (
            isinstance(data[key], bool) or not isinstance(data[key], int) or not low <= data[key] <= high
        ):
            raise _bad(f"'{key}' must be a number between {low} and {high}.")
    for key, allowed in _ENUMS.items():
        if key in data and data[key] not in allowed:
            raise _bad(f"'{key}' must be one of {', '.join(allowed)}.")
    if "invitees" in data:
        invitees = data["invitees"]
        if invitees is None:
            invitees = []
        if not isinstance(invitees, list) or len(invitees) > 1000:
            raise _bad("'invitees' must be a list of at most 1000 invitees.")
        cleaned = []
        for i, invitee in enumerate(invitees):
            email = invitee.get("email") if isinstance(invitee, dict) else None
            if not isinstance(email, str) or not _EMAIL.match(email.strip()):
                raise _bad(f"'invitees[{i}].email' is not a valid email address.")
            cleaned.append(
                {
                    "email": email.strip(),
                    "displayName": invitee.get("displayName") or email.strip(),
                    "coHost": bool(invitee.get("coHost", False)),
                    "panelist": bool(invitee.get("panelist", False)),
                }
            )
        out["invitees"] = cleaned
    if "integrationTags" in data:
        tags = data["integrationTags"] or []
        if not isinstance(tags, list) or len(tags) > 3:
            raise _bad("The maximum size of 'integrationTags' is 3.")
        if any(not isinstance(t, str) or not t or len(t) > 64 for t in tags):
            raise _bad("Each item of 'integrationTags' must be a string of 1 to 64 characters.")
        out["integrationTags"] = list(dict.fromkeys(tags))
    return out


def _settings(data: dict, base: dict | None) -> dict:
    settings = dict(base or _DEFAULTS)
    for key in _DEFAULTS:
        if key in data and data[key] is not None:
            settings[key] = data[key]
    defaults = {
        "meetingOptions": _MEETING_OPTIONS,
        "attendeePrivileges": _ATTENDEE_PRIVILEGES,
        "audioConnectionOptions": _AUDIO,
        "trackingCodes": None,
    }
    for key, default in defaults.items():
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, dict | list):
                raise _bad(f"'{key}' is invalid.")
            if isinstance(value, dict) and isinstance(default, dict):
                value = {**default, **value}
            settings[key] = value
        elif base is None:
            settings[key] = dict(default) if isinstance(default, dict) else default
    return settings


# ---------------------------------------------------------------------------------------------- access


def _require(ctx: Ctx, scopes: tuple[str, ...]) -> None:
    if not ctx.has(*scopes):
        raise WebexError(403)


def _host_error(email: str, site: str) -> WebexError:
    return WebexError(403, f"The user '{email}' is not a host on the site '{site}'.")


def _host_for_write(ctx: Ctx, host_email, site) -> tuple[dict, str]:
    """(host user, site) of a new meeting; ``hostEmail`` counts only with an admin scope."""
    admin = ctx.has("meeting:admin_schedule_write")
    if host_email is not None and not isinstance(host_email, str):
        raise _bad("'hostEmail' is invalid.")
    email = host_email if (admin and host_email) else ctx.caller
    if not email:
        raise _bad("'hostEmail' cannot be empty.")
    user = ctx.state.user(email)
    if site is not None:
        try:
            site = site_url(site)
        except ValueError as exc:
            raise _bad(f"'siteUrl' value '{site}' is invalid.") from exc
    target = site or (user["siteUrl"] if user else ctx.app["siteUrls"][0] if ctx.app["siteUrls"] else "")
    if user is None or not user["host"] or user["siteUrl"] != target or target not in ctx.app["siteUrls"]:
        raise _host_error(email, target)
    return user, target


def _viewer(ctx: Ctx, admin_scope: str, host_email: str | None = None) -> str | None:
    """The user whose meetings a read or change acts on; None: an admin over all meetings of its sites."""
    host_email = host_email or ctx.q("hostEmail")
    if host_email is not None and not isinstance(host_email, str):
        raise _bad("'hostEmail' is invalid.")
    if host_email and ctx.has(admin_scope):
        if ctx.state.user(host_email) is None:
            raise _host_error(host_email, ctx.app["siteUrls"][0] if ctx.app["siteUrls"] else "")
        return host_email.lower()
    if ctx.caller:
        return ctx.caller.lower()
    if ctx.has(admin_scope):
        return None
    raise WebexError(403)


def _visible(ctx: Ctx, meeting: dict, viewer: str | None) -> bool:
    if meeting["siteUrl"] not in ctx.app["siteUrls"]:
        return False
    if viewer is None:
        return True
    return meeting["host"]["email"].lower() == viewer or any(
        i["email"].lower() == viewer for i in meeting["invitees"]
    )


def _meeting(ctx: Ctx, meeting_id: str, *, write: bool, host_email: str | None = None) -> dict:
    admin_scope = "meeting:admin_schedule_write" if write else "meeting:admin_schedule_read"
    viewer = _viewer(ctx, admin_scope, host_email)
    meeting = ctx.state.meetings.get(meeting_id)
    if meeting is None or not _visible(ctx, meeting, viewer):
        raise WebexError(404, "The meeting is not found.")
    if write and viewer is not None and meeting["host"]["email"].lower() != viewer:
        raise WebexError(403, "Only the meeting host can change or delete the meeting.")
    return meeting


# ---------------------------------------------------------------------------------------------- handlers


def create_meeting(ctx: Ctx):
    _require(ctx, WRITE)
    data = ctx.json()
    if data.get("adhoc") and not data.get("roomId"):
        raise _bad("'roomId' cannot be empty when 'adhoc' is true.")
    checked = _validate(ctx, data, None, require=("title", "start", "end"))
    host, site = _host_for_write(ctx, data.get("hostEmail"), data.get("siteUrl"))
    meeting_id = uuid.uuid4().hex
    number = ctx.state.new_meeting_number()
    meeting = {
        "id": meeting_id,
        "meetingNumber": number,
        "title": checked["title"],
        "agenda": checked.get("agenda"),
        "password": checked.get("password") or _password(),
        "timezone": checked["timezone"],
        "start": checked["start"],
        "end": checked["end"],
        "recurrence": checked.get("recurrence"),
        "host": host,
        "siteUrl": site,
        "webLink": f"https://{site}/{site.split('.', 1)[0]}/j.php?MTID=m{secrets.token_hex(16)}",
        "invitees": checked.get("invitees", []),
        "integrationTags": {ctx.app["client_id"]: checked["integrationTags"]}
        if checked.get("integrationTags")
        else {},
        "settings": _settings(data, None),
        "createdBy": ctx.app["client_id"],
        "created": ctx.state.now(),
        "sendEmail": data.get("sendEmail", True),
    }
    ctx.state.meetings[meeting_id] = meeting
    return 200, meeting_view(ctx, meeting)


def get_meeting(ctx: Ctx, meeting_id: str):
    _require(ctx, READ)
    return 200, meeting_view(ctx, _meeting(ctx, meeting_id, write=False))


def _update(ctx: Ctx, meeting_id: str, *, replace: bool):
    _require(ctx, WRITE)
    data = ctx.json()
    data.pop("invitees", None)  # invitees have their own API; an update ignores them
    meeting = _meeting(ctx, meeting_id, write=True, host_email=data.get("hostEmail"))
    if _state(meeting, _now(ctx)) == "expired":
        raise _bad("An expired meeting cannot be updated.")
    if replace:
        # PUT replaces the meeting: what the body leaves out is reset (integration tags stay unless given).
        for name in ("title", "password", "start", "end"):
            if data.get(name) in (None, ""):
                raise _bad(f"'{name}' cannot be empty.")
        data = {"agenda": None, "recurrence": None, **data}
    checked = _validate(ctx, data, meeting, require=())
    meeting["settings"] = _settings(data, None if replace else meeting["settings"])
    for key in ("title", "agenda", "password", "timezone", "start", "end", "recurrence"):
        if key in checked:
            meeting[key] = checked[key]
    if "integrationTags" in checked:
        if checked["integrationTags"]:
            meeting["integrationTags"][ctx.app["client_id"]] = checked["integrationTags"]
        else:
            meeting["integrationTags"].pop(ctx.app["client_id"], None)
    return 200, meeting_view(ctx, meeting)


def put_meeting(ctx: Ctx, meeting_id: str):
    return _update(ctx, meeting_id, replace=True)


def patch_meeting(ctx: Ctx, meeting_id: str):
    return _update(ctx, meeting_id, replace=False)


def delete_meeting(ctx: Ctx, meeting_id: str):
    _require(ctx, WRITE)
    meeting = _meeting(ctx, meeting_id, write=True)
    del ctx.state.meetings[meeting["id"]]
    return 204, None


def list_meetings(ctx: Ctx):
    _require(ctx, READ)
    viewer = _viewer(ctx, "meeting:admin_schedule_read")
    meeting_type = ctx.q("meetingType") or "meetingSeries"
    if meeting_type not in ("meetingSeries", "scheduledMeeting", "meeting"):
        raise _bad(f"'meetingType' value '{meeting_type}' is invalid.")
    try:
        limit = int(ctx.q("max") or 10)
        offset = int(base64.urlsafe_b64decode(ctx.q("cursor") or "MA==").decode() or 0)
    except ValueError as exc:
        raise _bad("'max' is invalid.") from exc
    if not 1 <= limit <= 100:
        raise _bad("'max' must be between 1 and 100.")
    number = ctx.q("meetingNumber")
    web_link = ctx.q("webLink")
    tag = ctx.q("integrationTag")
    state_filter = ctx.q("state")
    site_filter = ctx.q("siteUrl")
    now = _now(ctx)
    window = None
    if not number and not web_link:
        zone = ZoneInfo("UTC")
        start = _parse_time(ctx.q("from"), "from", zone) if ctx.q("from") else None
        end = _parse_time(ctx.q("to"), "to", zone) if ctx.q("to") else None
        if start is None and end is None:
            start, end = now, now + dt.timedelta(days=7)
        elif start is None:
            start = end - dt.timedelta(days=7)
        elif end is None:
            end = start + dt.timedelta(days=7)
        if start > end:
            raise _bad("'from' cannot be after 'to'.")
        window = (start, end)
    items = []
    if meeting_type == "meetingSeries":
        for meeting in sorted(ctx.state.meetings.values(), key=lambda m: (m["start"], m["id"])):
            if not _visible(ctx, meeting, viewer):
                continue
            if number and meeting["meetingNumber"] != number.replace(" ", ""):
                continue
            if web_link and meeting["webLink"] != web_link:
                continue
            if tag and tag not in meeting["integrationTags"].get(ctx.app["client_id"], ()):
                continue
            if site_filter and meeting["siteUrl"] != site_filter.lower():
                continue
            if window is not None:
                series_end = _series_end(meeting)
                if meeting["start"] >= window[1] or (series_end is not None and series_end <= window[0]):
                    continue
            if state_filter and _state(meeting, now) != state_filter:
                continue
            items.append(meeting)
    page = items[offset : offset + limit]
    if offset + limit < len(items):
        query = {k: v[0] for k, v in ctx.query.items() if k != "cursor"}
        query["cursor"] = base64.urlsafe_b64encode(str(offset + limit).encode()).decode()
        ctx.response_headers["Link"] = (
            f'<{ctx.emulator.base_url}/v1/meetings?{urllib.parse.urlencode(query)}>; rel="next"'
        )
    return 200, {"items": [meeting_view(ctx, m) for m in page]}


def personal_meeting_room(ctx: Ctx):
    _require(ctx, PREFERENCES)
    email = ctx.q("userEmail")
    if email and (not ctx.caller or email.lower() != ctx.caller.lower()):
        if not ctx.has("meeting:admin_preferences_read"):
            text = "Not permitted to view or change other user's preferences"
            raise WebexError(403, text, message=text)
    email = email or ctx.caller
    if not email:
        raise _bad("'userEmail' cannot be empty.")
    user = ctx.state.user(email)
    site = (ctx.q("siteUrl") or (user["siteUrl"] if user else "")).lower()
    if user is None or not user["host"] or user["siteUrl"] != site:
        raise WebexError(404, "User not found.")
    if site not in ctx.app["siteUrls"]:
        raise _host_error(email, site)
    room = user["personalRoomId"]
    access_code = f"2{int(uuid.uuid5(uuid.NAMESPACE_URL, site + '/' + room).hex, 16) % 10**10:010d}"
    return 200, {
        "topic": f"{user['displayName']}'s Personal Room",
        "hostPin": user["hostPin"],
        "personalMeetingRoomLink": f"https://{site}/meet/{room}",
        "enabledAutoLock": False,
        "autoLockMinutes": 10,
        "enabledNotifyHost": True,
        "supportCoHost": False,
        "supportAnyoneAsCoHost": False,
        "allowFirstUserToBeCoHost": False,
        "allowAuthenticatedDevices": False,
        "coHosts": [],
        "sipAddress": f"{room}@{site}",
        "dialInIpAddress": DIAL_IN_IP,
        "telephony": {
            "accessCode": access_code,
            "callInNumbers": CALL_IN_NUMBERS,
            "links": [
                {
                    "rel": "globalCallinNumbers",
                    "href": f"/v1/meetings/{person_id('ROOM', room)}/globalCallinNumbers",
                    "method": "GET",
                }
            ],
        },
    }


_ID = r"([0-9a-f]{32}(?:_[0-9TZ]+)?|[^/]+)"
ROUTES = [
    ("POST", re.compile(r"^/v1/meetings/?$"), create_meeting, "meetings.create"),
    ("GET", re.compile(r"^/v1/meetings/?$"), list_meetings, "meetings.list"),
    ("GET", re.compile(rf"^/v1/meetings/{_ID}$"), get_meeting, "meetings.get"),
    ("PUT", re.compile(rf"^/v1/meetings/{_ID}$"), put_meeting, "meetings.update"),
    ("PATCH", re.compile(rf"^/v1/meetings/{_ID}$"), patch_meeting, "meetings.patch"),
    ("DELETE", re.compile(rf"^/v1/meetings/{_ID}$"), delete_meeting, "meetings.delete"),
    (
        "GET",
        re.compile(r"^/v1/meetingPreferences/personalMeetingRoom/?$"),
        personal_meeting_room,
        "meetingPreferences.personalMeetingRoom",
    ),
]
