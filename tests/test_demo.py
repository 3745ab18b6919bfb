"""`make run` as a newcomer runs it: the demo serves and shows what it claims (three rooms and their displays, a
lit Join, an @webex event answered by the emulated Webex site, a pasted Jitsi link named Jitsi, the BigBlueButton
emulator ready to switch to), a second run finds the seeded people working again, and Ctrl-C (SIGINT to the
demo's process group) stops every process it started within 10 seconds."""

import http.cookiejar
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.demo


def _demo_env():
    """The Makefile's DEMO_ENV, as `make run` passes it."""
    text = (ROOT / "Makefile").read_text()
    block = re.search(r"^DEMO_ENV :=(.*?)(?<!\\)\n", text, re.M | re.S).group(1).replace("\\\n", " ")
    return dict(item.split("=", 1) for item in shlex.split(block.replace("$(CURDIR)", str(ROOT))))


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _descendants(root):
    """Every live process whose ancestry leads to ``root`` (read from /proc), and any still in its groups."""
    parents, groups = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents[int(entry)], groups[int(entry)] = int(fields[1]), int(fields[2])
    found, changed = {root}, True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if pid not in found and ppid in found:
                found.add(pid)
                changed = True
    return {p for p in found if p in parents}


class Demo:
    def __init__(self, data_dir):
        web, google, dns, webex, bbb = _free_ports(5)
        self.url = f"http://127.0.0.1:{web}"
        self.google, self.webex = f"http://127.0.0.1:{google}", f"http://127.0.0.1:{webex}"
        self.bbb = f"http://127.0.0.1:{bbb}"
        env = {**os.environ, **_demo_env(), "DJANGO_SETTINGS_MODULE": "controlhub.settings",
               "GOOGLE_API_ENDPOINT": f"http://127.0.0.1:{google}", "DNS_NAMESERVERS": f"127.0.0.1:{dns}",
               "GOOGLE_SERVICE_ACCOUNT_FILE": str(data_dir / "service-account.json"), "PUBLIC_BASE_URL": self.url,
               "DATABASE_URL": f"sqlite:///{data_dir / 'demo.sqlite3'}", "EMAIL_FILE_PATH": str(data_dir / "mail"),
               "Q_WORKERS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo", "--addr", f"127.0.0.1:{web}", "--emulator-port", str(google),
             "--dns-port", str(dns), "--webex-port", str(webex), "--bbb-port", str(bbb), "--data-dir", str(data_dir), "--no-activity"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)  # its own group, as a terminal's foreground job
        self.lines = []
        threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True).start()

    def serving(self):
        assert self.proc.poll() is None, "".join(self.lines)
        try:
            return urllib.request.urlopen(self.url + "/accounts/login/", timeout=2).status == 200 and any(
                "demo is running" in line for line in self.lines)
        except OSError:
            return False

    def output(self):
        return "".join(self.lines)

    def ctrl_c(self):
        """SIGINT to the whole group, as a terminal's Ctrl-C; returns how long until nothing of it was left."""
        started = time.monotonic()
        family = _descendants(self.proc.pid)
        assert len(family) >= 5, f"expected the demo's children to be running, found {family}"
        os.killpg(self.proc.pid, signal.SIGINT)
        wait_until(lambda: not any(os.path.exists(f"/proc/{p}") and _alive(p) for p in family), timeout=10,
                   interval=0.1, message=f"every process of the demo to exit ({family})")
        self.proc.wait(timeout=1)
        return time.monotonic() - started


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _people(output):
    """``({state: count}, [lines of the people in error])`` from the seed's summary."""
    lines = output.splitlines()
    line = next(line for line in lines if "; people: " in line)
    counts = {state: int(n) for n, state in (item.split(" ", 1) for item in line.split("; people: ", 1)[1].split(", "))}
    return counts, sorted(line for line in lines if "in error on purpose:" in line)


def _json(url, headers=None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
        return json.loads(resp.read())


class _Form(HTMLParser):
    """The fields of the form posting to ``action``, as a browser would send them untouched."""

    def __init__(self, html, action):
        super().__init__()
        self.action, self.inside, self.select, self.values = action, False, None, {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.values[a["name"]] = a.get("value") or ""
        elif self.inside and tag == "select":
            self.select = a.get("name")
        elif self.inside and tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value")

    def handle_endtag(self, tag):
        self.inside = self.inside and tag != "form"
        self.select = None if tag == "select" else self.select


class Browser:
    """Signed in to the demo with cookies and CSRF, as a person at a browser."""

    def __init__(self, base, email, password):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.home = self.post("/accounts/login/", {"username": email, "password": password}).url

    def get(self, path):
        with self.opener.open(self.base + path, timeout=30) as resp:
            return resp.read().decode()

    def post(self, path, data, form_page=None):
        page = self.get(form_page or path)
        fields = _Form(page, path).values if form_page else {}
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token, **data}).encode()
        req = urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path})
        resp = self.opener.open(req, timeout=30)
        resp.text = resp.read().decode()
        return resp


def _rooms(output):
    """``[(name, email, state line, display URL)]`` from the seed's summary of the rooms."""
    return re.findall(r"^  (\w+) \((\S+@resource\.calendar\.google\.com)\): (.+)\n    (http://\S+/rooms/chr_\S+/)$",
                      output, re.M)


def assert_rooms_and_a_lit_join(demo):
    """Three rooms (two imported from the emulated directory, one in error with its explanation), each display's
    URL printed, and Atlas's meeting starting in a few minutes with its Join lit on the display."""
    rooms = _rooms(demo.output())
    assert [(name, state.split(" ")[0]) for name, _email, state, _url in rooms] == [
        ("Atlas", "Active"), ("Borealis", "Active"), ("Cosmos", "Error")], demo.output()
    directory = {r["email"] for r in _json(demo.google + "/_emulator/resources")["resources"]}
    assert {email for _n, email, _s, _u in rooms[:2]} <= directory and rooms[2][1] not in directory
    cosmos = rooms[2][2]
    assert "Room unknown to Google: " in cosmos and len(cosmos.split(": ", 1)[1]) > 40, cosmos  # title: explanation
    states = {name: _json(url + "state") for name, _e, _s, url in rooms}
    assert states["Cosmos"]["active"] is False and states["Cosmos"]["unavailable"] == "Room unknown to Google"
    now = states["Atlas"]["generated_at"]
    lit = [m for m in states["Atlas"]["meetings"] if m["join_url"] and m["start"] - 5 * 60_000 <= now < m["end"]]
    assert [m["title"] for m in lit] == ["Roadmap review"], states["Atlas"]  # the display's joinLit rule
    assert lit[0]["start"] > now and lit[0]["join_url"].startswith("https://demo.webex.com/")


def assert_webex_keyword_and_pasted_jitsi(demo):
    """Ana's `@webex` event got a meeting from the emulated Webex site, its SIP address written back to Google and
    its Join in her meetings; her pasted Jitsi link is named Jitsi (JSON and page)."""
    token = re.search(r"Device API token for ana@demo\.example\.com: (chd_\S+)", demo.output()).group(1)
    meetings = {m["title"]: m for m in _json(demo.url + "/api/v1/meetings",
                                               {"Authorization": f"Bearer {token}"})["meetings"]}
    [created] = [m for m in _json(demo.webex + "/_emulator/meetings")["items"] if m["title"] == "Sprint planning"]
    assert created["siteUrl"] == "demo.webex.com" and created["hostEmail"] == "ana@demo.example.com"
    [event] = [e for e in _json(demo.google + "/_emulator/users/ana%40demo.example.com/events")["items"]
               if e.get("summary") == "Sprint planning"]
    assert f"sip:{created['meetingNumber']}@demo.webex.com" in event["description"]
    assert created["webLink"] in event["description"]
    sprint = meetings["Sprint planning"]
    assert (sprint["provider"], sprint["join_url"]) == ("webex", created["webLink"]), sprint
    jitsi = meetings["Open-source community call"]
    assert (jitsi["provider"], jitsi["join_url"]) == ("jitsi", "https://meet.jit.si/CalendarHubCommunityCall")
    ana = Browser(demo.url, "ana@demo.example.com", "demo-user-pass")
    page = ana.get(urllib.parse.urlsplit(ana.home).path)
    row = page[page.index("Open-source community call"):]
    row = row[:row.index('class="mtg-action"')]  # the row, up to its Join
    provider = re.search(r'class="mtg-provider"><img [^>]*provider-jitsi[^>]*><span>([^<]+)</span>', row)
    assert provider and provider.group(1).startswith("Jitsi"), row  # the provider's name: "Jitsi Meet"


def assert_bigbluebutton_can_be_switched_to(demo):
    """The BigBlueButton emulator runs, is filled in on the Meeting service page (the org on Webex), and after
    choosing it and saving, the page's Test makes and ends a meeting there with a checksum it accepts."""
    assert re.search(rf"BigBlueButton API emulator: {demo.bbb}/bigbluebutton/api/ \(shared secret \S+\)",
                     demo.output())
    admin = Browser(demo.url, "admin@demo.example.com", "demo-admin-pass")
    fields = _Form(admin.get("/meeting-service/"), "/meeting-service/save/").values
    assert fields["kind"] == "webex" and fields["bbb_api_url"] == demo.bbb + "/bigbluebutton/api/"
    assert admin.post("/meeting-service/save/", {"kind": "bigbluebutton"}, form_page="/meeting-service/").status == 200
    report = admin.post("/meeting-service/test/", {"email": "ana@demo.example.com"}, form_page="/meeting-service/")
    assert report.status == 200
    calls = [(r["call"], r["returncode"]) for r in _json(demo.bbb + "/_emulator/requests?since=0")["requests"]]
    assert ("create", "SUCCESS") in calls and ("end", "SUCCESS") in calls, calls


def test_ctrl_c_stops_every_process_and_a_second_run_keeps_people_working(tmp_path):
    first = Demo(tmp_path)
    try:
        wait_until(first.serving, timeout=40, interval=0.2, message="the demo to serve")
        assert_rooms_and_a_lit_join(first)
        assert_webex_keyword_and_pasted_jitsi(first)
        assert_bigbluebutton_can_be_switched_to(first)  # last: it moves the org to BigBlueButton
    finally:
        took = first.ctrl_c()
    out = first.output()
    assert took < 10
    assert "Demo stopped." in out
    assert "AttributeError" not in out and "Traceback" not in out, out
    # Readable: credentials, the device token and the rooms' displays are said; no line per task or request.
    assert "admin@demo.example.com / demo-admin-pass" in out
    assert "Device API token for ana@demo.example.com: chd_" in out
    assert "/rooms/chr_" in out
    assert not re.search(r"\b(INFO|DEBUG)\b", out), out
    assert (tmp_path / "google-emulator.json").exists()  # saved on the clean stop, next to the database
    people = _people(out)
    assert people[0]["activated"] >= 20, people
    assert [line.split(": ", 1)[1].split(" ")[0] for line in people[1]] == [
        "dee@demo.example.com", "eli@demo.example.com", "ghost@demo.example.com"]  # suspended, deleted, unknown

    second = Demo(tmp_path)  # the database kept: the emulator is re-seeded with it, nobody turns into an error
    try:
        wait_until(second.serving, timeout=40, interval=0.2, message="the second demo to serve")
    finally:
        second.ctrl_c()
    assert _people(second.output()) == people
