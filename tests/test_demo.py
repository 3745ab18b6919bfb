"""`make run` as a newcomer runs it: the demo serves, a second run finds the seeded people working again, and
Ctrl-C (SIGINT to the demo's process group) stops every process it started within 10 seconds."""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
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
        web, google, dns, webex = _free_ports(4)
        self.url = f"http://127.0.0.1:{web}"
        env = {**os.environ, **_demo_env(), "DJANGO_SETTINGS_MODULE": "controlhub.settings",
               "GOOGLE_API_ENDPOINT": f"http://127.0.0.1:{google}", "DNS_NAMESERVERS": f"127.0.0.1:{dns}",
               "GOOGLE_SERVICE_ACCOUNT_FILE": str(data_dir / "service-account.json"), "PUBLIC_BASE_URL": self.url,
               "DATABASE_URL": f"sqlite:///{data_dir / 'demo.sqlite3'}", "EMAIL_FILE_PATH": str(data_dir / "mail"),
               "Q_WORKERS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "rundemo", "--addr", f"127.0.0.1:{web}", "--emulator-port", str(google),
             "--dns-port", str(dns), "--webex-port", str(webex), "--data-dir", str(data_dir), "--no-activity"],
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


def test_ctrl_c_stops_every_process_and_a_second_run_keeps_people_working(tmp_path):
    first = Demo(tmp_path)
    try:
        wait_until(first.serving, timeout=40, interval=0.2, message="the demo to serve")
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
