"""BigBlueButton API emulator: checksums, create, join, getMeetingInfo, isMeetingRunning, end, control API."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bbb_emulator import Emulator, sign

SECRET = "0d8b6d4e2f1c4a4e9a1b3c5d7e9f1a2b"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def get(url: str):
    """(status, parsed XML or None, headers)."""
    try:
        with _opener.open(url, timeout=10) as resp:
            status, raw, headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as err:
        status, raw, headers = err.code, err.read(), err.headers
    if headers.get("Content-Type", "").startswith("text/xml"):
        return status, ET.fromstring(raw), headers
    return status, None, headers


def fields(root) -> dict:
    return {child.tag: (child.text or "") for child in root}


@pytest.fixture(scope="module")
def server():
    with Emulator(secret=SECRET) as emu:
        yield emu


@pytest.fixture
def bbb(server):
    server.call("POST", "/_emulator/reset")
    return server


def call(bbb, api_call, /, algorithm="sha1", **params):
    status, root, headers = get(bbb.url(api_call, algorithm=algorithm, **params))
    return status, (fields(root) if root is not None else None), headers


def create(bbb, meeting_id="standup-42", **params):
    status, body, _ = call(bbb, "create", meetingID=meeting_id, name="Standup", **params)
    assert status == 200 and body["returncode"] == "SUCCESS", body
    return body


def test_checksum_is_sha_of_call_query_and_secret(bbb):
    query = "name=Standup&meetingID=standup-42&attendeePW=ap&moderatorPW=mp"
    for algorithm in ("sha1", "sha256", "sha384", "sha512"):
        checksum = hashlib.new(algorithm, ("create" + query + SECRET).encode()).hexdigest()
        assert sign("create", query, SECRET, algorithm) == checksum
        status, root, _ = get(f"{bbb.api_url}create?{query}&checksum={checksum}")
        assert status == 200 and root.findtext("returncode") == "SUCCESS"


def test_checksum_first_in_the_query_string(bbb):
    query = "meetingID=m1&name=Board"
    checksum = sign("create", query, SECRET)
    _, root, _ = get(f"{bbb.api_url}create?checksum={checksum}&{query}")
    assert root.findtext("returncode") == "SUCCESS"


@pytest.mark.parametrize("case", ["missing", "wrong", "other_secret", "other_call", "disabled_algorithm"])
def test_checksum_errors(bbb, case):
    query = "meetingID=m1&name=Board"
    checksum = {
        "missing": None,
        "wrong": "0" * 40,
        "other_secret": sign("create", query, "not-the-secret"),
        "other_call": sign("join", query, SECRET),
        "disabled_algorithm": sign("create", query, SECRET, "sha256"),
    }[case]
    if case == "disabled_algorithm":
        bbb.call("PUT", "/_emulator/config", {"algorithms": ["sha1"]})
    url = f"{bbb.api_url}create?{query}" + (f"&checksum={checksum}" if checksum else "")
    status, root, _ = get(url)
    assert status == 200
    assert fields(root) == {
        "returncode": "FAILED",
        "messageKey": "checksumError",
        "message": "You did not pass the checksum security check",
    }


def test_tampered_parameter_fails_the_checksum(bbb):
    url = bbb.url("create", meetingID="m1", name="Board")
    _, root, _ = get(url.replace("name=Board", "name=Other"))
    assert root.findtext("messageKey") == "checksumError"


def test_create(bbb):
    body = create(bbb, attendeePW="ap", moderatorPW="mp", meta_calhub_event="evt-1", duration="60")
    assert body["meetingID"] == "standup-42"
    assert body["internalMeetingID"].startswith(hashlib.sha1(b"standup-42").hexdigest() + "-")
    assert (body["attendeePW"], body["moderatorPW"]) == ("ap", "mp")
    assert body["createTime"].isdigit() and body["voiceBridge"].isdigit()
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}", body["createDate"])
    assert body["hasUserJoined"] == "false" and body["hasBeenForciblyEnded"] == "false"
    assert body["duration"] == "60" and body["messageKey"] == ""


def test_create_generates_passwords(bbb):
    body = create(bbb)
    assert len(body["attendeePW"]) == 8 and body["attendeePW"] != body["moderatorPW"]


def test_create_again_with_the_same_params_is_a_duplicate_warning(bbb):
    first = create(bbb, attendeePW="ap", moderatorPW="mp")
    again = create(bbb, attendeePW="ap", moderatorPW="mp")
    assert again["messageKey"] == "duplicateWarning"
    assert again["message"] == "This conference was already in existence and may currently be in progress."
    assert again["internalMeetingID"] == first["internalMeetingID"]


def test_create_again_with_other_params_is_id_not_unique(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp")
    _, body, _ = call(
        bbb, "create", meetingID="standup-42", name="Standup", attendeePW="other", moderatorPW="mp"
    )
    assert body == {
        "returncode": "FAILED",
        "messageKey": "idNotUnique",
        "message": "A meeting already exists with that meeting ID.  Please use a different meeting ID.",
    }


def test_create_needs_meeting_id_and_name(bbb):
    _, body, _ = call(bbb, "create", name="Standup")
    assert body["messageKey"] == "missingParamMeetingID"
    _, body, _ = call(bbb, "create", meetingID="m1")
    assert body["messageKey"] == "missingParamName"


def test_join_redirects_to_the_client(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp")
    status, _, headers = call(bbb, "join", meetingID="standup-42", fullName="Ana", password="mp")
    assert status == 302
    assert headers["Location"].startswith(f"{bbb.base_url}/html5client/join?sessionToken=")


def test_join_without_redirect_answers_xml(bbb):
    created = create(bbb, attendeePW="ap", moderatorPW="mp")
    _, body, _ = call(bbb, "join", meetingID="standup-42", fullName="Bob", password="ap", redirect="false")
    assert body["returncode"] == "SUCCESS" and body["messageKey"] == "successfullyJoined"
    assert body["meeting_id"] == created["internalMeetingID"] and body["user_id"].startswith("w_")
    assert body["guestStatus"] == "ALLOW" and "sessionToken=" + body["session_token"] in body["url"]


def test_signed_join_url(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp")
    url = bbb.url("join", fullName="Ana", meetingID="standup-42", role="VIEWER")
    assert re.fullmatch(
        rf"{re.escape(bbb.api_url)}join\?fullName=Ana&meetingID=standup-42&role=VIEWER&checksum=[0-9a-f]{{40}}",
        url,
    )
    assert get(url)[0] == 302


def test_join_with_role_instead_of_password(bbb):
    create(bbb)
    status, _, _ = call(bbb, "join", meetingID="standup-42", fullName="Ana", role="MODERATOR")
    assert status == 302


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"meetingID": "standup-42", "password": "ap"}, "missingParamFullName"),
        ({"meetingID": "nope", "fullName": "Ana", "password": "ap"}, "invalidMeetingIdentifier"),
        ({"meetingID": "standup-42", "fullName": "Ana", "password": "bad"}, "invalidPassword"),
        ({"meetingID": "standup-42", "fullName": "Ana"}, "invalidPassword"),
        ({"fullName": "Ana", "password": "ap"}, "missingParamMeetingID"),
    ],
)
def test_join_errors(bbb, params, key):
    create(bbb, attendeePW="ap", moderatorPW="mp")
    status, body, _ = call(bbb, "join", **params)
    assert status == 200 and body["returncode"] == "FAILED" and body["messageKey"] == key and body["message"]


def test_max_participants(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp", maxParticipants="1")
    call(bbb, "join", meetingID="standup-42", fullName="Ana", password="ap")
    _, body, _ = call(bbb, "join", meetingID="standup-42", fullName="Bob", password="ap")
    assert body["messageKey"] == "maxParticipantsReached"


def test_is_meeting_running(bbb):
    _, body, _ = call(bbb, "isMeetingRunning", meetingID="standup-42")
    assert body == {"returncode": "SUCCESS", "running": "false"}
    create(bbb, attendeePW="ap", moderatorPW="mp")
    assert call(bbb, "isMeetingRunning", meetingID="standup-42")[1]["running"] == "false"
    call(bbb, "join", meetingID="standup-42", fullName="Ana", password="mp")
    assert call(bbb, "isMeetingRunning", meetingID="standup-42")[1]["running"] == "true"


def test_get_meeting_info(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp", meta_calhub_event="evt-1")
    call(bbb, "join", meetingID="standup-42", fullName="Ana", password="mp", userID="ana@acme.test")
    status, root, _ = get(bbb.url("getMeetingInfo", meetingID="standup-42"))
    assert status == 200
    info = fields(root)
    assert info["returncode"] == "SUCCESS" and info["meetingName"] == "Standup"
    assert info["running"] == "true" and info["participantCount"] == "1" and info["moderatorCount"] == "1"
    attendee = root.find("attendees/attendee")
    assert attendee.findtext("fullName") == "Ana" and attendee.findtext("role") == "MODERATOR"
    assert attendee.findtext("userID") == "ana@acme.test"
    assert root.findtext("metadata/calhub_event") == "evt-1"


def test_get_meeting_info_of_an_unknown_meeting(bbb):
    _, body, _ = call(bbb, "getMeetingInfo", meetingID="nope")
    assert body == {
        "returncode": "FAILED",
        "messageKey": "notFound",
        "message": "We could not find a meeting with that meeting ID",
    }


def test_end(bbb):
    create(bbb, attendeePW="ap", moderatorPW="mp")
    call(bbb, "join", meetingID="standup-42", fullName="Ana", password="mp")
    _, body, _ = call(bbb, "end", meetingID="standup-42", password="ap")
    assert body["messageKey"] == "invalidPassword"
    _, body, _ = call(bbb, "end", meetingID="standup-42", password="mp")
    assert body["returncode"] == "SUCCESS" and body["messageKey"] == "sentEndMeetingRequest"
    assert call(bbb, "isMeetingRunning", meetingID="standup-42")[1]["running"] == "false"
    info = call(bbb, "getMeetingInfo", meetingID="standup-42")[1]
    assert info["hasBeenForciblyEnded"] == "true" and info["running"] == "false"
    _, body, _ = call(bbb, "join", meetingID="standup-42", fullName="Ana", password="mp")
    assert body["messageKey"] == "meetingForciblyEnded"
    # An ended meeting's id can be created anew.
    again = create(bbb, attendeePW="x", moderatorPW="y")
    assert again["hasBeenForciblyEnded"] == "false" and again["messageKey"] == ""


def test_end_of_an_unknown_meeting(bbb):
    _, body, _ = call(bbb, "end", meetingID="nope", password="mp")
    assert body["messageKey"] == "notFound"


def test_api_index_and_unknown_call(bbb):
    status, root, _ = get(bbb.api_url)
    assert status == 200 and root.findtext("returncode") == "SUCCESS" and root.findtext("version") == "2.0"
    _, body, _ = call(bbb, "deleteEverything", meetingID="x")
    assert body["messageKey"] == "noActionSpecified"


def test_get_meetings(bbb):
    _, root, _ = get(bbb.url("getMeetings"))
    assert root.findtext("messageKey") == "noMeetings"
    create(bbb)
    _, root, _ = get(bbb.url("getMeetings"))
    assert [m.findtext("meetingID") for m in root.findall("meetings/meeting")] == ["standup-42"]


def _control(bbb, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(bbb.base_url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_request_log_and_reset(bbb):
    create(bbb)
    get(f"{bbb.api_url}create?meetingID=x&name=y&checksum=bad")
    log = bbb.call("GET", "/_emulator/requests")
    assert [(r["call"], r["returncode"], r["messageKey"]) for r in log["requests"]] == [
        ("create", "SUCCESS", ""),
        ("create", "FAILED", "checksumError"),
    ]
    assert bbb.call("GET", f"/_emulator/requests?since={log['next']}")["requests"] == []
    assert [m["meetingID"] for m in bbb.call("GET", "/_emulator/meetings")["items"]] == ["standup-42"]
    bbb.call("POST", "/_emulator/reset")
    assert bbb.call("GET", "/_emulator/meetings")["items"] == []
    assert bbb.call("GET", "/_emulator/requests")["requests"] == []


def test_control_config_and_meeting_removal(bbb):
    bbb.call("PUT", "/_emulator/config", {"secret": "new-secret"})
    assert bbb.call("GET", "/_emulator/config")["secret"] == "new-secret"
    create(bbb)  # bbb.url signs with the current secret
    assert _control(bbb, "DELETE", "/_emulator/meetings/standup-42") == (200, {"ok": True})
    assert _control(bbb, "DELETE", "/_emulator/meetings/standup-42")[0] == 404
    assert _control(bbb, "PUT", "/_emulator/config", {"algorithms": ["md5"]})[0] == 400
    assert _control(bbb, "GET", "/_emulator/nothing")[0] == 404
    bbb.call("POST", "/_emulator/reset")
    assert bbb.call("GET", "/_emulator/config")["secret"] == SECRET


def test_command_line(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bbb_emulator", "--port", "0", "--secret", "cli"],
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    try:
        api = proc.stdout.readline().strip()
        assert api.startswith("http://127.0.0.1:") and api.endswith("/bigbluebutton/api/")
        query = urllib.parse.urlencode({"meetingID": "m", "name": "n"})
        _, root, _ = get(f"{api}create?{query}&checksum={sign('create', query, 'cli')}")
        assert root.findtext("returncode") == "SUCCESS"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
