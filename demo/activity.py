"""The demo's gentle activity: a few events a minute change in the emulated tenant, so open pages visibly live.

A daemon thread in ``rundemo`` (Google emulator control API only): every ``interval`` seconds it does one of
create a short meeting later today, move one it created, or cancel one it created, on a demo person's calendar.
It touches only events it made, so the seeded calendars stay as described.
"""

import random
import threading
from datetime import UTC, datetime, timedelta

from google_emulator.client import EmulatorControl

DOMAIN = "demo.example.com"
PEOPLE = ("ana", "bo", "carl", "chloe", "minji", "liam", "sofia", "hugo")
TITLES = ("Quick sync", "Pairing session", "Coffee chat", "Budget check-in", "Point rapide", "짧은 회의")
LINKS = ("https://meet.google.com/qrs-tuvw-xyz", "https://demo.webex.com/meet/ana.martin",
         "https://meet.jit.si/CalendarHubDemo", "")


class ActivityGenerator(threading.Thread):
    def __init__(self, base_url, *, stop, interval=20.0, out=None, seed=None):
        super().__init__(daemon=True, name="demo-activity")
        self.emu = EmulatorControl(base_url)
        self.stop = stop
        self.interval = interval
        self.out = out
        self.random = random.Random(seed)
        self.mine = []  # (email, event id) of the events made here, oldest first

    def run(self):
        while not self.stop.wait(self.interval):
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - the demo's decoration must never stop the demo
                if self.out:
                    self.out(f"[activity] skipped a change: {exc}")

    def step(self, now=None):
        """One change; returns what it did (``created``, ``moved`` or ``cancelled``)."""
        now = now or datetime.now(UTC)
        roll = self.random.random()
        if len(self.mine) >= 4 or (self.mine and roll < 0.3):
            email, event_id = self.mine.pop(0)
            self.emu.delete_event(email, event_id)
            return self._said("cancelled", email)
        if self.mine and roll < 0.6:
            email, event_id = self.random.choice(self.mine)
            start = now.replace(second=0, microsecond=0) + timedelta(minutes=self.random.choice((10, 25, 40, 70)))
            self.emu.patch_event(email, event_id, {"start": {"dateTime": start.isoformat()},
                                                   "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()}})
            return self._said("moved", email)
        email = f"{self.random.choice(PEOPLE)}@{DOMAIN}"
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=self.random.choice((5, 15, 30, 50, 90)))
        event = {"summary": self.random.choice(TITLES), "organizer": {"email": email},
                 "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                 "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "UTC"},
                 "attendees": [{"email": email, "responseStatus": "accepted"},
                               {"email": f"ana@{DOMAIN}", "responseStatus": "needsAction"}]}
        link = self.random.choice(LINKS)
        if link:
            event["location"] = link
        created = self.emu.create_event(email, event)
        self.mine.append((email, created["id"]))
        return self._said("created", email)

    def _said(self, what, email):
        if self.out:
            self.out(f"[activity] {what} a meeting on {email}'s calendar")
        return what
