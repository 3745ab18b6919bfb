"""The org's own Jitsi / BigBlueButton servers (Meeting service page) reach the sync engine's Join detector."""

from datetime import UTC, datetime, timedelta

import pytest

from calendar_sync.scheduling.services import meeting_service_save
from calendar_sync.sync import engine
from calendar_sync.sync.meeting_fields import decrypt_fields
from calendar_sync.sync.models import Meeting
from controlhub.tenancy.google_connection import org_gateway
from tests.calendar_sync.test_meetings_support import make_person, make_source

pytestmark = pytest.mark.django_db


def _sync(source):
    source.refresh_from_db()
    engine.calendar_sync_once(source=source, gateway=org_gateway(source.organization))
    return {m.google_event_id: m for m in Meeting.objects.filter(source=source)}


def test_pasted_links_to_the_orgs_own_servers_get_a_join_button(org, google_tenant, google):
    google_tenant.user("eli@acme.test", locale="en", time_zone="UTC")
    source = make_source(make_person(org, "eli@acme.test"))
    start = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    when = {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}}
    jitsi = google.create_event("eli@acme.test", {"summary": "Retro", "location": "https://video.acme.test/TeamRetro",
                                                  **when})
    bbb = google.create_event("eli@acme.test", {"summary": "Class", **when,
                                                "description": "Join: https://bbb.acme.test/rooms/team-standup/join"})
    rows = _sync(source)
    assert rows[jitsi["id"]].join_provider != "jitsi" and rows[bbb["id"]].join_provider != "bigbluebutton"

    meeting_service_save(organization=org, values={"kind": "jitsi", "jitsi_host": "video.acme.test",
                                                   "bbb_api_url": "https://bbb.acme.test/bigbluebutton/api/"})
    google.patch_event("eli@acme.test", jitsi["id"], {"summary": "Retro (moved)"})
    google.patch_event("eli@acme.test", bbb["id"], {"summary": "Class (moved)"})
    rows = _sync(source)
    assert rows[jitsi["id"]].join_provider == "jitsi"
    assert decrypt_fields(org, rows[jitsi["id"]], ("join_url",))["join_url"] == "https://video.acme.test/TeamRetro"
    assert rows[bbb["id"]].join_provider == "bigbluebutton"


def test_a_failing_provider_never_breaks_the_mirror(org, google_tenant, google, monkeypatch):
    def broken(source):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "_JOIN_HOSTS_PROVIDERS", [broken, *engine._JOIN_HOSTS_PROVIDERS])
    google_tenant.user("eli@acme.test", locale="en", time_zone="UTC")
    source = make_source(make_person(org, "eli@acme.test"))
    start = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    event = google.create_event("eli@acme.test", {"summary": "x", "location": "https://meet.jit.si/SomeRoom",
                                                  "start": {"dateTime": start.isoformat()},
                                                  "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}})
    assert _sync(source)[event["id"]].join_provider == "jitsi"
