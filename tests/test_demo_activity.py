"""The demo's activity generator: a few changes a minute on the emulated tenant, only to events it made."""

import threading
from datetime import UTC, datetime, timedelta

from demo.activity import DOMAIN, PEOPLE, ActivityGenerator


def test_activity_creates_moves_and_cancels_only_its_own_events(google):
    google.tenant(DOMAIN, "Demo")
    for local in {*PEOPLE, "ana"}:
        google.user(f"{local}@{DOMAIN}")
    seeded = google.create_event(f"ana@{DOMAIN}", {
        "summary": "Seeded", "start": {"dateTime": "2026-12-02T10:00:00Z"}, "end": {"dateTime": "2026-12-02T11:00:00Z"}})
    activity = ActivityGenerator(google.base_url, stop=threading.Event(), seed=7)
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    done = [activity.step(now=now + timedelta(minutes=i)) for i in range(30)]
    assert {"created", "moved", "cancelled"} <= set(done)
    assert len(activity.mine) <= 4  # it cleans up after itself: the list lives, it does not pile up
    for email, event_id in activity.mine:  # what it still holds is there
        assert any(e["id"] == event_id for e in google.events(email)["items"])
    assert any(e["id"] == seeded["id"] for e in google.events(f"ana@{DOMAIN}")["items"])  # never touched
