"""A room is a calendar source like a person's: the same engine syncs it (as the org's scheduling account), the
same webhook takes its pushes, the same selectors and device API read it. No room UI is involved."""

import pytest
from django.test import Client
from django.urls import reverse

from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.sync.sources import source_ensure, source_start
from tests.calendar_sync.conftest import event_at, soon
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ROOM = "room-4@resource.calendar.google.com"


@pytest.fixture
def room(settings, live_server, google_tenant, org):
    """Room 4 in the emulated tenant, readable by admin@acme.test (the scheduling account), as a source."""
    settings.WEBHOOK_BASE_URL = live_server.url
    google_tenant.call("POST", "/_emulator/resources", {"email": ROOM, "name": "Room 4", "capacity": 6,
                                                        "domain": "acme.test"})
    google_tenant.call("POST", f"/_emulator/calendars/{ROOM}/acl",
                       {"scope": {"type": "user", "value": "admin@acme.test"}, "role": "writer"})
    google_tenant.create_event(ROOM, event_at("Design review", soon(1)))
    source = source_ensure(organization=org, kind=CalendarSource.Kind.ROOM, calendar_id=ROOM,
                           subject="admin@acme.test", name="Room 4")
    return source


def titles(source):
    window = sel.window_for(time_zone="UTC")
    viewer = sel.viewer_of_source(CalendarSource.objects.select_related("organization").get(pk=source.pk))
    read = sel.meetings_read(person=viewer, source=viewer.source, window=window)
    return [e.title for e in read.entries]


def test_a_room_syncs_takes_pushes_and_reads_through_the_same_selectors_and_api(room, google_tenant):
    outcome = source_start(source_id=room.pk)
    assert outcome is not None and outcome.full
    assert titles(room) == ["Design review"]
    # Read as the scheduling account, never as the room (a room is not a user and cannot be impersonated).
    subjects = {r.get("subject") for r in google_tenant.requests()["requests"] if r.get("subject")}
    assert ROOM not in subjects and "admin@acme.test" in subjects
    # The push channel is the room calendar's; a change in Google reaches the mirror through the webhook.
    channel = room.channels.get(state="active")
    assert channel.source_id == room.pk
    google_tenant.create_event(ROOM, event_at("Stand-up", soon(3)))
    wait_until(lambda: Meeting.objects.filter(source=room).count() == 2, message="the pushed room event")
    assert titles(room) == ["Design review", "Stand-up"]
    # The device API serves the room's meetings as it serves a person's.
    _, raw = device_token_create(organization=room.organization, source=room, name="Room 4 display")
    body = Client().get(reverse("api_meetings"), HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [m["title"] for m in body["meetings"]] == ["Design review", "Stand-up"]
    assert body["person"]["name"] == "Room 4"
