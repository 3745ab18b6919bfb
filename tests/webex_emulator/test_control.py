"""The control API, the request log and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .helpers import SITE, request


def test_request_log(world, meeting_body):
    start = world.ctl("GET", "/requests")["next"]
    world.admin("POST", "/v1/meetings", meeting_body())
    request(world.base, "GET", "/v1/meetings")
    world.admin.refresh()
    log = world.ctl("GET", f"/requests?since={start}")
    assert [(r["method"], r["path"], r["status"], r["api"]) for r in log["requests"]] == [
        ("POST", "/v1/meetings", 200, "meetings.create"),
        ("GET", "/v1/meetings", 401, "meetings.list"),
        ("POST", "/v1/access_token", 200, "oauth.token"),
    ]
    assert log["requests"][0]["client_id"] == world.admin.app["client_id"]
    assert world.ctl("GET", f"/requests?since={log['next']}")["requests"] == []


def test_reset_wipes_everything(world, meeting_body):
    world.admin("POST", "/v1/meetings", meeting_body())
    world.ctl("POST", "/faults", {"status": 500, "count": -1, "path_regex": "^/nothing$"})
    world.ctl("POST", "/reset")
    assert world.ctl("GET", "/users")["items"] == []
    assert world.ctl("GET", "/meetings")["items"] == []
    assert world.ctl("GET", "/faults")["faults"] == []
    assert world.admin("GET", "/v1/meetings").status == 401


def test_users_and_apps(world):
    user = world.ctl("GET", "/users/ANA@acme.test")
    assert user["siteUrl"] == SITE and user["host"] is True and user["personalRoomId"] == "ana.lima"
    world.ctl("PATCH", "/users/ana@acme.test", {"host": False})
    assert world.ctl("GET", "/users/ana@acme.test")["host"] is False
    world.ctl("DELETE", "/users/bob@acme.test")
    world.ctl("GET", "/users/bob@acme.test", expect=404)
    apps = world.ctl("GET", "/service-apps")["items"]
    assert {a["name"] for a in apps} == {"Calendar Hub", "Ana's integration"}
    assert all("client_secret" not in a for a in apps)
    assert world.ctl("GET", "/sites")["items"][0]["siteUrl"] == SITE
    world.ctl("POST", "/sites", {"siteUrl": "not a site"}, expect=400)
    world.ctl("POST", "/service-apps", {"user": "ghost@acme.test"}, expect=400)


def test_stored_meetings_are_inspectable(world, meeting_body):
    created = world.admin(
        "POST", "/v1/meetings", meeting_body(invitees=[{"email": "bob@acme.test"}], integrationTags=["t1"])
    ).body
    raw = world.ctl("GET", f"/meetings/{created['id']}")
    assert raw["hostEmail"] == "ana@acme.test" and raw["invitees"][0]["email"] == "bob@acme.test"
    assert raw["integrationTags"] == {world.admin.app["client_id"]: ["t1"]}
    assert raw["createdBy"] == world.admin.app["client_id"] and raw["sendEmail"] is True
    world.ctl("GET", "/meetings/unknown", expect=404)


def test_clock_and_tokens_listing(world):
    before = world.ctl("GET", "/clock")["offset_seconds"]
    assert world.ctl("POST", "/clock", {"advance_seconds": 60})["offset_seconds"] == before + 60
    tokens = world.ctl("GET", "/tokens")["items"]
    assert {t["kind"] for t in tokens} == {"access", "refresh"}


def test_unknown_control_endpoint(world):
    assert request(world.base, "GET", "/_emulator/nothing").status == 404
    assert request(world.base, "DELETE", "/_emulator/reset").status == 405


def test_command_line(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "webex_emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        assert request(base, "GET", "/v1/meetings").status == 401
        assert request(base, "POST", "/_emulator/reset").body == {"ok": True}
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
