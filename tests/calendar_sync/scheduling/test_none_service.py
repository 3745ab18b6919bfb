"""Meeting service "none": keyword scheduling is off, and the Join button still works for the links people paste.
The emulated Google and Webex over real HTTP, the sync engine, the device JSON API and the meetings page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.scheduling.services import meeting_service_save
from calendar_sync.sync import engine
from calendar_sync.sync.models import Meeting, OutboxEntry
from controlhub.people.calendar import person_calendar_source
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.models import Membership
from controlhub.tenancy.orgs import membership_set
from tests.calendar_sync.test_meetings_support import make_person, make_source

pytestmark = pytest.mark.django_db
EMAIL = "eli@acme.test"
ZOOM = "https://us02web.zoom.us/j/85550001111?pwd=QWxhZGRpbjpvcGVu"
JITSI = "https://meet.jit.si/AcmeRetro"


def _when(hours):
    start = (datetime.now(UTC) + timedelta(hours=hours)).replace(second=0, microsecond=0)
    return {"start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()}}


def _sync(source):
    source.refresh_from_db()
    engine.calendar_sync_once(source=source, gateway=org_gateway(source.organization))


def test_none_service_leaves_webex_alone_and_lights_pasted_zoom_and_jitsi_links(org, google_tenant, google, webex,
                                                                                 client):
    meeting_service_save(organization=org, values={"kind": "none"})
    google_tenant.user(EMAIL, locale="en", time_zone="UTC")
    membership = membership_set(organization=org, email=EMAIL, role=Membership.Role.USER, password="pw-eli-1234")
    source = make_source(make_person(org, EMAIL, user=membership.user, google_locale="en"))
    zoom = google.create_event(EMAIL, {"summary": "Customer call", **_when(3),
                                       "description": f"Join Zoom Meeting\n{ZOOM}\n\nPasscode: 424242"})
    jitsi = google.create_event(EMAIL, {"summary": "Retro", "location": f"{JITSI}>", **_when(4)})
    keyword = google.create_event(EMAIL, {"summary": "Planning", "location": "Room 4 @webex", **_when(5)})
    g0, w0 = google.requests()["next"], webex.since()

    _sync(source)
    google.patch_event(EMAIL, keyword["id"], {"summary": "Planning (agenda)"})  # a person's edit: a second page
    _sync(source)

    # @webex left alone: no meeting anywhere, no PATCH written to Google, not one call to the Webex site.
    writes = [r for r in google.requests(g0)["requests"]  # Calendar API writes (a token request is none)
              if r["path"].startswith("/calendar/") and r["http_method"] in ("PATCH", "PUT", "POST")]
    assert [r["api_method"] for r in google.requests(g0)["requests"] if r["path"].startswith("/calendar/")]
    assert writes == [], writes
    assert webex.requests(w0) == [] and webex.meetings() == []
    after = next(e for e in google.events(EMAIL)["items"] if e["id"] == keyword["id"])
    assert after["location"] == "Room 4 @webex" and not after.get("description")
    assert not KeywordMeeting.objects.filter(source=source, meeting_id__isnull=False).exists()
    # Nothing waits to be retried either: no keyword record, no outbox entry (no Google re-reads every 15 min).
    assert not KeywordMeeting.objects.filter(source=source).exists()
    assert not OutboxEntry.objects.filter(source=source).exists()
    rows = {m.google_event_id: m for m in Meeting.objects.filter(source=source)}
    assert rows[keyword["id"]].join_provider == ""
    assert (rows[zoom["id"]].join_provider, rows[jitsi["id"]].join_provider) == ("zoom", "jitsi")

    # The pasted links: their Join and provider, in the device JSON...
    _, raw = device_token_create(organization=org, source=person_calendar_source(person=source.person, active=False),
                                 name="Eli's desk")
    data = client.get("/api/v1/meetings", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    by_title = {m["title"]: m for m in data["meetings"]}
    assert set(by_title) >= {"Customer call", "Retro", "Planning (agenda)"}
    assert (by_title["Customer call"]["provider"], by_title["Customer call"]["join_url"]) == (
        "zoom", ZOOM)
    assert (by_title["Retro"]["provider"], by_title["Retro"]["join_url"]) == ("jitsi", JITSI)  # without the ">"
    assert by_title["Retro"]["join_enabled_from"] and by_title["Customer call"]["join_enabled_from"]
    assert (by_title["Planning (agenda)"]["provider"], by_title["Planning (agenda)"]["join_url"]) == (None, None)

    # ... and on the person's meetings page: each pasted link's provider name and its Join target.
    client.force_login(membership.user)
    page = client.get(reverse("meetings")).content.decode()
    for title, provider, url in (("Customer call", "Zoom", ZOOM), ("Retro", "Jitsi", JITSI),
                                 ("Planning (agenda)", None, None)):
        row = page[page.index(f">{title}<"):]
        row = row[:row.index("</li>")]  # the row: title, time, people, provider, Join
        if provider:
            assert f"<span>{provider}" in row and f'data-join-url="{url.replace("&", "&amp;")}"' in row, row
        else:
            assert "data-join-url" not in row and "mtg-provider\"></div>" in row, row
