"""The Workspaces admin pages and the room display's HTTP side: token auth, ETag/304, actions, revoke/rotate,
the QR code, bad input without a 500, the device API with a room token."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.workspaces import displays
from calendar_sync.workspaces.models import Room, RoomDisplay
from tests.calendar_sync.conftest import event_at, soon
from tests.calendar_sync.workspaces.conftest import ROOM_A, ROOM_B, SCHED
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_pages_list_import_add_policy_and_pair(admin_client, workspaces_on, rooms_google):
    page = admin_client.get(reverse("workspaces"))
    assert page.status_code == 200 and SCHED in page.content.decode()
    page = admin_client.get(reverse("workspaces_import"))
    body = page.content.decode()
    assert page.status_code == 200 and ROOM_A in body and ROOM_B in body and "Whiteboard" in body
    response = admin_client.post(reverse("workspaces_import"), {"rooms": [ROOM_A]})
    assert response.status_code == 302
    room = Room.objects.get(email=ROOM_A)
    assert room.state == Room.State.ACTIVE
    response = admin_client.post(reverse("workspace_room_policy", args=[room.pk]), {
        "show_titles": "", "booking_lengths": ["15", "30"], "checkin_required": "on", "release_minutes": "7",
        "honour_acceptance": "on"})
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.show_titles, room.booking_lengths, room.checkin_required, room.release_minutes) == (
        False, [15, 30], True, 7)
    bad = admin_client.post(reverse("workspace_room_policy", args=[room.pk]), {"booking_lengths": ["17"],
                                                                                "release_minutes": "x"})
    assert bad.status_code == 400

    admin_client.post(reverse("workspace_display_create", args=[room.pk]), {"name": "Door tablet"})
    page = admin_client.get(reverse("workspace_room", args=[room.pk])).content.decode()
    url = re.search(r'id="new-display-url">([^<]+)<', page).group(1)
    assert "/rooms/chr_" in url and "<svg" in page  # the QR code, server-side
    assert "/rooms/chr_" not in admin_client.get(reverse("workspace_room", args=[room.pk])).content.decode()
    # The raw token is shown once; the display works without signing in.
    path = url.split("testserver", 1)[-1]
    assert Client().get(path).status_code == 200

    display = RoomDisplay.objects.get(room=room)
    admin_client.post(reverse("workspace_display_action", args=[room.pk, display.pk, "rotate"]))
    assert Client().get(path).status_code == 404  # the old address stopped at once
    new = RoomDisplay.objects.get(room=room, revoked_at__isnull=True)
    admin_client.post(reverse("workspace_display_action", args=[room.pk, new.pk, "revoke"]))
    assert not RoomDisplay.objects.filter(room=room, revoked_at__isnull=True).exists()


def test_admin_add_by_hand_refuses_bad_input_and_readonly_admins(admin_client, workspaces_on, readonly_admin):
    assert admin_client.post(reverse("workspaces_add"), {"email": "not an email"}).status_code == 400
    response = admin_client.post(reverse("workspaces_settings"), {"enabled": "on", "scheduling_account": ROOM_A})
    assert response.status_code == 400 and "room address is not a user" in response.content.decode()
    reader = Client()
    reader.force_login(readonly_admin)
    assert reader.get(reverse("workspaces")).status_code == 200
    assert reader.post(reverse("workspaces_add"), {"email": ROOM_B}).status_code == 403


def test_display_state_304_actions_and_errors(active_room, rooms_google):
    _display, raw = displays.display_create(room=active_room, name="Door")
    client = Client()
    state_url = reverse("room_display_state", args=[raw])
    first = client.get(state_url)
    assert first.status_code == 200 and first.json()["room"]["name"] == "Room A"
    again = client.get(state_url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    book = client.post(reverse("room_display_action", args=[raw, "book"]), data={"minutes": 30},
                       content_type="application/json")
    assert book.status_code == 200, book.content
    assert any(m["booking"] for m in book.json()["meetings"]) or book.json()["busy"]
    assert client.get(state_url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200  # changed
    clash = client.post(reverse("room_display_action", args=[raw, "book"]), data={"minutes": 15},
                        content_type="application/json")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "conflict"
    for body in (b"{not json", b"[]", b'{"minutes": "ten"}'):
        bad = client.post(reverse("room_display_action", args=[raw, "book"]), data=body,
                          content_type="application/json")
        assert bad.status_code == 400
    assert client.post(reverse("room_display_action", args=[raw, "fly"])).status_code == 404
    assert client.get(reverse("room_display", args=["chr_nope"])).status_code == 404
    assert client.get(reverse("room_display_state", args=["chr_nope"])).status_code == 404


def test_a_new_release_changes_the_display_document_s_build_and_etag(active_room, rooms_google, monkeypatch,
                                                                      settings):
    """The page's build is in the document and its ETag, so a display polling with If-None-Match learns of a
    deploy (and reloads itself) even when nothing else changed. In production the build follows the hashed URLs
    of the page's script and style."""
    from calendar_sync.workspaces import selectors

    _display, raw = displays.display_create(room=active_room, name="Door")
    client = Client()
    state_url = reverse("room_display_state", args=[raw])
    first = client.get(state_url)
    assert first.json()["build"] == selectors.display_build() and len(first.json()["build"]) == 16
    page = client.get(reverse("room_display", args=[raw]))
    assert selectors.display_build() in page.content.decode()  # the page starts from the same build
    monkeypatch.setattr(selectors, "display_build", lambda: "release-2")
    after = client.get(state_url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200 and after.json()["build"] == "release-2" and after["ETag"] != first["ETag"]
    monkeypatch.undo()

    selectors.display_build.cache_clear()
    settings.STATIC_URL = "/static/v2/"  # what the hashed names do on a deploy that changed the files
    try:
        assert selectors.display_build() != first.json()["build"]
    finally:
        selectors.display_build.cache_clear()


def test_the_device_api_serves_a_room_as_a_person(active_room, rooms_google):
    rooms_google.create_event(ROOM_A, event_at("Design review", soon(1)))
    from calendar_sync.sync.sources import source_run

    wait_until(lambda: source_run(source_id=active_room.source_id) is not None, timeout=20, message="a sync run")
    _, raw = device_token_create(organization=active_room.organization, source=active_room.source, name="Room A")
    body = Client().get(reverse("api_meetings"), HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert [m["title"] for m in body["meetings"]] == ["Design review"]


def test_a_room_in_error_shows_why_on_its_display(workspaces_on, rooms_google):
    from calendar_sync.workspaces import services

    room = services.room_add(organization=workspaces_on, email="nowhere@resource.calendar.google.com")
    _display, raw = displays.display_create(room=room, name="Door")
    client = Client()
    assert client.get(reverse("room_display", args=[raw])).status_code == 200
    state = client.get(reverse("room_display_state", args=[raw])).json()
    assert state["active"] is False and state["unavailable"] == "Room unknown to Google"
    refused = client.post(reverse("room_display_action", args=[raw, "book"]), data={"minutes": 30},
                          content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_active"


def test_the_display_document_names_each_meeting_service_as_the_meetings_list_does(active_room, rooms_google):
    from calendar_sync.sync.sources import source_run

    attendees = [{"email": "ana@acme.test"}, {"email": ROOM_A, "resource": True}]
    today = timezone.now().replace(minute=0, second=0, microsecond=0)  # the room's day (its zone is UTC)
    for title, hour, where in (("Retro", 9, "https://meet.jit.si/AcmeRetroRoomA42"),
                               ("Customer call", 10, "https://acme.webex.com/meet/design"),
                               ("Video bridge", 11, "sip:4242@video.acme.test"),
                               ("Lunch", 12, "")):
        rooms_google.create_event("ana@acme.test", event_at(title, today.replace(hour=hour), location=where,
                                                            attendees=attendees))
    wait_until(lambda: source_run(source_id=active_room.source_id) is not None, timeout=20, message="a sync run")
    _display, raw = displays.display_create(room=active_room, name="Door")
    state_url = reverse("room_display_state", args=[raw])

    meetings = {m["title"]: m for m in Client().get(state_url).json()["meetings"]}
    assert {t: (m["join_provider"], m["provider_label"], m["provider_icon"]) for t, m in meetings.items()} == {
        "Retro": ("jitsi", "Jitsi Meet", "/static/img/provider-jitsi.svg"),
        "Customer call": ("webex", "Webex", "/static/img/provider-webex.svg"),
        "Video bridge": ("sip", "Video system (SIP)", "/static/img/provider-sip.svg"),
        "Lunch": ("", "", ""),  # nothing to join, no service
    }
    # The generic names speak the display's language; a brand stays as it is.
    french = {m["title"]: m["provider_label"]
              for m in Client().get(state_url, HTTP_ACCEPT_LANGUAGE="fr").json()["meetings"]}
    assert french["Video bridge"] == "Système vidéo (SIP)" and french["Customer call"] == "Webex"
