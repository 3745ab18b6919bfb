"""BigBlueButton API emulator: the meeting calls of ``/bigbluebutton/api/``, checksums, XML answers.

Every call carries ``checksum`` = hex digest of ``callName + queryString + sharedSecret``, where
``queryString`` is the request's query string without the checksum parameter; the digest's length tells the
algorithm (sha1: 40, sha256: 64, sha384: 96, sha512: 128), as BigBlueButton's ``ParamsProcessorUtil`` does.
Answers are ``<response><returncode>SUCCESS|FAILED</returncode>…</response>`` with HTTP 200, and FAILED ones
carry ``messageKey`` and ``message`` with BigBlueButton's texts.

Usage::

    from bbb_emulator import Emulator
    with Emulator(secret="s3cret") as bbb:
        url = bbb.url("create", meetingID="m1", name="Standup")    # signed
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import string
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

API_PATH = "/bigbluebutton/api"
ALGORITHMS = {40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}
DEFAULT_SECRET = "8cd8ef52e8e101574e400365b55e11a6"
CALLS = ("create", "join", "getMeetingInfo", "isMeetingRunning", "end", "getMeetings")

CHECKSUM_ERROR = ("checksumError", "You did not pass the checksum security check")
MISSING_MEETING_ID = ("missingParamMeetingID", "You must specify a meeting ID for the meeting.")
MISSING_NAME = ("missingParamName", "You must specify a name for the meeting.")
MISSING_FULL_NAME = (
    "missingParamFullName",
    "You must specify a name for the attendee who will be joining the meeting.",
)
ID_NOT_UNIQUE = (
    "idNotUnique",
    "A meeting already exists with that meeting ID.  Please use a different meeting ID.",
)
DUPLICATE = ("duplicateWarning", "This conference was already in existence and may currently be in progress.")
JOIN_NOT_FOUND = (
    "invalidMeetingIdentifier",
    "The meeting ID that you supplied did not match any existing meetings",
)
INVALID_PASSWORD = (
    "invalidPassword",
    "You either did not supply a password or the password supplied is neither "
    "the attendee or moderator password for this conference.",
)
END_PASSWORD = ("invalidPassword", "You must supply the moderator password for this call.")
FORCIBLY_ENDED = (
    "meetingForciblyEnded",
    "You can not re-join a meeting that has already been forcibly ended.  "
    "However, once the meeting is removed from memory (according to the timeout configured on this "
    "server, you will be able to once again create a meeting with the same meeting ID",
)
MEETING_NOT_FOUND = ("notFound", "We could not find a meeting with that meeting ID")
END_NOT_FOUND = (
    "notFound",
    "We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?",
)
END_SENT = (
    "sentEndMeetingRequest",
    "A request to end the meeting was sent.  Please wait a few seconds, and then "
    "use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.",
)
JOINED = ("successfullyJoined", "You have joined successfully.")
NO_ACTION = ("noActionSpecified", "You did not specify an API action.")


def sign(call: str, query: str, secret: str, algorithm: str = "sha1") -> str:
    """The checksum of ``call`` with ``query`` (the query string without checksum)."""
    return hashlib.new(algorithm, (call + query + secret).encode()).hexdigest()


def _xml(returncode: str, fields: list[tuple[str, object]]) -> str:
    parts = ["<response>", f"<returncode>{returncode}</returncode>"]
    for name, value in fields:
        parts.append(_element(name, value))
    parts.append("</response>")
    return "".join(parts)


def _element(name: str, value) -> str:
    if isinstance(value, list):
        return f"<{name}>{''.join(_element(n, v) for n, v in value)}</{name}>"
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _failed(key_message: tuple[str, str]) -> str:
    return _xml("FAILED", [("messageKey", key_message[0]), ("message", key_message[1])])


def _password(length: int = 8) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _java_date(epoch_ms: int) -> str:
    """Java's ``Date.toString()``, BigBlueButton's createDate: ``Tue Jul 10 16:36:25 UTC 2018``."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _strip_checksum(query: str, checksum: str) -> str:
    for piece in (f"&checksum={checksum}", f"checksum={checksum}&", f"checksum={checksum}"):
        query = query.replace(piece, "")
    return query


class Emulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        secret: str = DEFAULT_SECRET,
        algorithms: tuple[str, ...] = ("sha1", "sha256", "sha384", "sha512"),
        verbose: bool = False,
    ):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.lock = threading.RLock()
        self._default_config = {"secret": secret, "algorithms": list(algorithms)}
        self.base_url = ""
        self._httpd: ThreadingHTTPServer | None = None
        self.reset()

    # ------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        with self.lock:
            self.config = dict(self._default_config, algorithms=list(self._default_config["algorithms"]))
            self.meetings: dict[str, dict] = {}
            self.requests: list[dict] = []
            self.request_seq = 0

    def start(self) -> Emulator:
        httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        httpd.emulator = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True, name="bbb-emulator-http"
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ convenience

    @property
    def api_url(self) -> str:
        """What BigBlueButton integrations call the server URL: ``http://HOST:PORT/bigbluebutton/api/``."""
        return f"{self.base_url}{API_PATH}/"

    def url(self, call: str, /, algorithm: str = "sha1", **params) -> str:
        """A signed API URL of ``call`` with ``params`` (in the given order)."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        checksum = sign(call, query, self.config["secret"], algorithm)
        return f"{self.api_url}{call}?{query}{'&' if query else ''}checksum={checksum}"

    def call(self, method: str, path: str, body=None, timeout: float = 30.0):
        """Call the control API (``path`` like ``/_emulator/meetings``) and return the JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------ the API

    def _checksum_ok(self, call: str, raw_query: str, checksum: str) -> bool:
        algorithm = ALGORITHMS.get(len(checksum))
        if algorithm is None or algorithm not in self.config["algorithms"]:
            return False
        expected = sign(call, _strip_checksum(raw_query, checksum), self.config["secret"], algorithm)
        return hmac.compare_digest(expected, checksum.lower())

    def handle_api(self, call: str, raw_query: str) -> tuple[int, str, dict]:
        """(HTTP status, XML body, extra headers) of one API call."""
        params = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
        if call == "":
            return (
                200,
                _xml("SUCCESS", [("version", "2.0"), ("apiVersion", "2.0"), ("bbbVersion", "3.0.0")]),
                {},
            )
        if call not in CALLS:
            return 200, _failed(NO_ACTION), {}
        checksum = params.get("checksum", "")
        if not checksum:
            return 200, _failed(CHECKSUM_ERROR), {}
        if call != "getMeetings" and not params.get("meetingID", "").strip():
            return 200, _failed(MISSING_MEETING_ID), {}
        if not self._checksum_ok(call, raw_query, checksum):
            return 200, _failed(CHECKSUM_ERROR), {}
        params.pop("checksum")
        with self.lock:
            return getattr(self, "_" + call)(params)

    def _create(self, params: dict):
        meeting_id = params["meetingID"].strip()
        if not params.get("name", "").strip():
            return 200, _failed(MISSING_NAME), {}
        existing = self.meetings.get(meeting_id)
        if existing is not None and not existing["ended"]:
            if existing["params"] != params:
                return 200, _failed(ID_NOT_UNIQUE), {}
            return (
                200,
                _xml(
                    "SUCCESS",
                    self._conference(existing) + [("messageKey", DUPLICATE[0]), ("message", DUPLICATE[1])],
                ),
                {},
            )
        now_ms = int(time.time() * 1000)
        meeting = {
            "meetingID": meeting_id,
            "internalMeetingID": f"{hashlib.sha1(meeting_id.encode()).hexdigest()}-{now_ms}",
            "name": params["name"],
            "attendeePW": params.get("attendeePW") or _password(),
            "moderatorPW": params.get("moderatorPW") or _password(),
            "createTime": now_ms,
            "voiceBridge": params.get("voiceBridge") or str(70000 + secrets.randbelow(10000)),
            "dialNumber": params.get("dialNumber") or "613-555-1234",
            "duration": int(params.get("duration") or 0),
            "maxParticipants": int(params.get("maxParticipants") or 0),
            "record": params.get("record", "false").lower() == "true",
            "welcome": params.get("welcome", ""),
            "logoutURL": params.get("logoutURL", ""),
            "metadata": {k[5:].lower(): v for k, v in params.items() if k.startswith("meta_")},
            "params": dict(params),
            "attendees": [],
            "ended": False,
            "startTime": 0,
            "endTime": 0,
        }
        self.meetings[meeting_id] = meeting
        return 200, _xml("SUCCESS", self._conference(meeting) + [("messageKey", ""), ("message", "")]), {}

    @staticmethod
    def _conference(m: dict) -> list[tuple[str, object]]:
        return [
            ("meetingID", m["meetingID"]),
            ("internalMeetingID", m["internalMeetingID"]),
            ("parentMeetingID", "bbb-none"),
            ("attendeePW", m["attendeePW"]),
            ("moderatorPW", m["moderatorPW"]),
            ("createTime", m["createTime"]),
            ("voiceBridge", m["voiceBridge"]),
            ("dialNumber", m["dialNumber"]),
            ("createDate", _java_date(m["createTime"])),
            ("hasUserJoined", bool(m["attendees"]) or m["startTime"] > 0),
            ("duration", m["duration"]),
            ("hasBeenForciblyEnded", m["ended"]),
        ]

    def _join(self, params: dict):
        redirect = params.get("redirect", "true").lower() != "false"
        full_name = params.get("fullName", "").strip()
        if not full_name:
            return 200, _failed(MISSING_FULL_NAME), {}
        meeting = self.meetings.get(params["meetingID"].strip())
        if meeting is None:
            return 200, _failed(JOIN_NOT_FOUND), {}
        if meeting["ended"]:
            return 200, _failed(FORCIBLY_ENDED), {}
        password = params.get("password", "")
        role = None
        if password:
            role = (
                "MODERATOR"
                if password == meeting["moderatorPW"]
                else "VIEWER"
                if password == meeting["attendeePW"]
                else None
            )
        elif params.get("role", "").upper() in ("MODERATOR", "VIEWER"):
            role = params["role"].upper()
        if role is None:
            return 200, _failed(INVALID_PASSWORD), {}
        if meeting["maxParticipants"] and len(meeting["attendees"]) >= meeting["maxParticipants"]:
            return (
                200,
                _failed(
                    (
                        "maxParticipantsReached",
                        "The number of participants allowed for this meeting has been reached.",
                    )
                ),
                {},
            )
        user_id = "w_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
        session = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(16))
        auth = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
        meeting["attendees"].append(
            {
                "userID": params.get("userID") or user_id,
                "fullName": full_name,
                "role": role,
                "internalUserID": user_id,
            }
        )
        if not meeting["startTime"]:
            meeting["startTime"] = int(time.time() * 1000)
        url = f"{self.base_url}/html5client/join?sessionToken={session}"
        if redirect:
            return 302, "", {"Location": url}
        return (
            200,
            _xml(
                "SUCCESS",
                [
                    ("messageKey", JOINED[0]),
                    ("message", JOINED[1]),
                    ("meeting_id", meeting["internalMeetingID"]),
                    ("user_id", user_id),
                    ("auth_token", auth),
                    ("session_token", session),
                    ("guestStatus", "ALLOW"),
                    ("url", url),
                ],
            ),
            {},
        )

    def _isMeetingRunning(self, params: dict):  # noqa: N802 - the API call's name
        meeting = self.meetings.get(params["meetingID"].strip())
        running = meeting is not None and not meeting["ended"] and bool(meeting["attendees"])
        return 200, _xml("SUCCESS", [("running", running)]), {}

    def _info(self, m: dict) -> list[tuple[str, object]]:
        running = not m["ended"] and bool(m["attendees"])
        moderators = sum(1 for a in m["attendees"] if a["role"] == "MODERATOR")
        return [
            ("meetingName", m["name"]),
            ("meetingID", m["meetingID"]),
            ("internalMeetingID", m["internalMeetingID"]),
            ("createTime", m["createTime"]),
            ("createDate", _java_date(m["createTime"])),
            ("voiceBridge", m["voiceBridge"]),
            ("dialNumber", m["dialNumber"]),
            ("attendeePW", m["attendeePW"]),
            ("moderatorPW", m["moderatorPW"]),
            ("running", running),
            ("duration", m["duration"]),
            ("hasUserJoined", m["startTime"] > 0),
            ("recording", m["record"]),
            ("hasBeenForciblyEnded", m["ended"]),
            ("startTime", m["startTime"]),
            ("endTime", m["endTime"]),
            ("participantCount", len(m["attendees"])),
            ("listenerCount", 0),
            ("voiceParticipantCount", 0),
            ("videoCount", 0),
            ("maxUsers", m["maxParticipants"]),
            ("moderatorCount", moderators),
            (
                "attendees",
                [
                    (
                        "attendee",
                        [
                            ("userID", a["userID"]),
                            ("fullName", a["fullName"]),
                            ("role", a["role"]),
                            ("isPresenter", a["role"] == "MODERATOR"),
                            ("isListeningOnly", False),
                            ("hasJoinedVoice", False),
                            ("hasVideo", False),
                            ("clientType", "HTML5"),
                        ],
                    )
                    for a in m["attendees"]
                ],
            ),
            ("metadata", list(m["metadata"].items())),
            ("isBreakout", False),
        ]

    def _getMeetingInfo(self, params: dict):  # noqa: N802 - the API call's name
        meeting = self.meetings.get(params["meetingID"].strip())
        if meeting is None:
            return 200, _failed(MEETING_NOT_FOUND), {}
        return 200, _xml("SUCCESS", self._info(meeting)), {}

    def _getMeetings(self, params: dict):  # noqa: N802 - the API call's name
        if not self.meetings:
            return (
                200,
                _xml(
                    "SUCCESS",
                    [
                        ("meetings", []),
                        ("messageKey", "noMeetings"),
                        ("message", "no meetings were found on this server"),
                    ],
                ),
                {},
            )
        return (
            200,
            _xml("SUCCESS", [("meetings", [("meeting", self._info(m)) for m in self.meetings.values()])]),
            {},
        )

    def _end(self, params: dict):
        password = params.get("password", "")
        meeting = self.meetings.get(params["meetingID"].strip())
        if meeting is None:
            return 200, _failed(END_NOT_FOUND), {}
        if password and password != meeting["moderatorPW"]:
            return 200, _failed(END_PASSWORD), {}
        meeting["ended"] = True
        meeting["endTime"] = int(time.time() * 1000)
        meeting["attendees"] = []
        return 200, _xml("SUCCESS", [("messageKey", END_SENT[0]), ("message", END_SENT[1])]), {}

    # ------------------------------------------------------------ control API

    def handle_control(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, object]:
        data = json.loads(body) if body else {}
        with self.lock:
            if (method, path) == ("POST", "/_emulator/reset"):
                self.reset()
                return 200, {"ok": True}
            if (method, path) == ("GET", "/_emulator/requests"):
                since = int((query.get("since") or ["0"])[0])
                return 200, {
                    "next": self.request_seq,
                    "requests": [r for r in self.requests if r["seq"] > since],
                }
            if (method, path) == ("GET", "/_emulator/config"):
                return 200, self.config
            if (method, path) == ("PUT", "/_emulator/config"):
                if "secret" in data:
                    self.config["secret"] = str(data["secret"])
                if "algorithms" in data:
                    unknown = set(data["algorithms"]) - set(ALGORITHMS.values())
                    if unknown:
                        return 400, {"error": f"unknown algorithms {sorted(unknown)}"}
                    self.config["algorithms"] = list(data["algorithms"])
                return 200, self.config
            if (method, path) == ("GET", "/_emulator/meetings"):
                return 200, {"items": [{k: v for k, v in m.items()} for m in self.meetings.values()]}
            if method == "DELETE" and path.startswith("/_emulator/meetings/"):
                meeting_id = urllib.parse.unquote(path.rsplit("/", 1)[1])
                if self.meetings.pop(meeting_id, None) is None:
                    return 404, {"error": f"no meeting {meeting_id}"}
                return 200, {"ok": True}
        return 404, {"error": "no such control endpoint"}

    def log(self, entry: dict) -> None:
        with self.lock:
            self.request_seq += 1
            self.requests.append({"seq": self.request_seq, "time": time.time(), **entry})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "BBBEmulator"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        if getattr(self.server.emulator, "verbose", False):
            super().log_message(format, *args)

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_GET

    def _handle(self):
        emu: Emulator = self.server.emulator
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parts.path
        if path.startswith("/_emulator"):
            try:
                status, payload = emu.handle_control(
                    self.command, path.rstrip("/"), urllib.parse.parse_qs(parts.query), body
                )
            except (ValueError, KeyError, TypeError) as exc:
                status, payload = 400, {"error": f"bad request: {exc}"}
            self._send(status, json.dumps(payload).encode(), "application/json", {})
            return
        if path.rstrip("/") == API_PATH or path.startswith(API_PATH + "/"):
            call = path[len(API_PATH) :].strip("/")
            try:
                status, xml, headers = emu.handle_api(call, parts.query)
            except Exception:  # pragma: no cover - defensive
                traceback.print_exc(file=sys.stderr)
                status, xml, headers = 500, "", {}
            returncode = "SUCCESS" if "<returncode>SUCCESS" in xml or status == 302 else "FAILED"
            key = xml.split("<messageKey>", 1)[1].split("<", 1)[0] if "<messageKey>" in xml else ""
            emu.log(
                {
                    "method": self.command,
                    "call": call,
                    "query": parts.query,
                    "status": status,
                    "returncode": returncode,
                    "messageKey": key,
                }
            )
            self._send(status, xml.encode(), "text/xml;charset=utf-8", headers)
            return
        self._send(404, b"Not Found", "text/plain", {})

    def _send(self, status: int, raw: bytes, ctype: str, headers: dict) -> None:
        self.send_response(status)
        if raw:
            self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        if raw:
            self.wfile.write(raw)
