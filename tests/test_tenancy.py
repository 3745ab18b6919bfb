"""One organization never sees or changes another's data: every object URL of org B answers 404 to org A's
full admin (GET and POST), and B's rows stay as they were. The list of routes is read from the URL resolver,
so a new object route without a case here fails this test until it is covered."""

import pytest
from django.urls import get_resolver, reverse

from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.meetings.models import DeviceToken
from calendar_sync.workspaces.models import Room, RoomDisplay
from controlhub.onboarding.models import ConnectionTest
from controlhub.people.calendar import person_calendar_source
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.tenancy.models import Domain

OBJECT_ROUTES = {
    "onboarding_test_panel": ("test", {}),
    "domain_verify": ("domain", {}),
    "domain_remove": ("domain", {}),
    "people_job": ("job", {}),
    "people_job_confirm": ("job", {}),
    "person": ("person", {}),
    "person_action": ("person", {"action": "deactivate"}),
    "device_token_revoke": ("token", {}),
    "workspace_room": ("room", {}),
    "workspace_room_policy": ("room", {}),
    "workspace_room_action": ("room", {"action": "remove"}),
    "workspace_display_create": ("room", {}),
    "workspace_display_action": ("room", {"display_pk": 1, "action": "revoke"}),
}
NOT_ORG_OBJECTS = {"signin_link_confirm"}  # its own signed token, checked in test_signin_link
# A room display's own unguessable token is its credential (tests/calendar_sync/workspaces/test_views.py).
NOT_ORG_OBJECTS |= {"room_display", "room_display_state", "room_display_action"}


def _object_routes():
    names = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif p.name and p.pattern.converters and not prefix.startswith("admin/"):
                names.add(p.name)

    walk(get_resolver().url_patterns)
    return names - NOT_ORG_OBJECTS


def test_every_object_route_is_covered():
    assert _object_routes() == set(OBJECT_ROUTES)


@pytest.fixture
def other_org(make_org):
    org_b, _ = make_org("Beta")
    person = Person.objects.create(organization=org_b, email="secret@beta.test", name="Secret Person",
                                   calendar_state="activated")
    PersonHistory.objects.create(person=person, message="Activated")
    token, _ = device_token_create(organization=org_b, source=person_calendar_source(person=person, active=False), name="Beta room")
    return {
        "org": org_b,
        "person": person,
        "domain": Domain.objects.create(organization=org_b, name="beta.test"),
        "job": BulkJob.objects.create(organization=org_b, kind=BulkJob.Kind.CSV_IMPORT, payload={"rows": []}),
        "test": ConnectionTest.objects.create(organization=org_b, test_email="admin@beta.test"),
        "token": token,
        "room": Room.objects.create(organization=org_b, email="secret-room@resource.calendar.google.com",
                                    name="Secret room", state=Room.State.ACTIVE),
    }


@pytest.mark.parametrize("route", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("method", ["get", "post"])
def test_object_of_another_org_is_not_found(admin_client, other_org, route, method):
    kind, extra = OBJECT_ROUTES[route]
    url = reverse(route, kwargs={"pk": other_org[kind].pk, **extra})
    response = getattr(admin_client, method)(url)
    assert response.status_code in (404, 405), (route, method, response.status_code)
    if method == "get" or response.status_code == 405:
        assert response.status_code == 404 or b"secret@beta.test" not in response.content
    other_org["person"].refresh_from_db()
    assert other_org["person"].calendar_state == "activated"
    assert Domain.objects.filter(pk=other_org["domain"].pk).exists()
    assert DeviceToken.objects.get(pk=other_org["token"].pk).revoked_at is None
    assert Room.objects.get(pk=other_org["room"].pk).state == Room.State.ACTIVE
    assert not RoomDisplay.objects.filter(room=other_org["room"]).exists()


@pytest.mark.parametrize("route", ["dashboard", "people", "people_export", "domains", "device_tokens",
                                   "sync_health", "onboarding"])
def test_lists_and_reports_never_show_another_org(admin_client, other_org, route):
    response = admin_client.get(reverse(route) + ("?q=beta" if route == "people" else ""))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for secret in (b"secret@beta.test", b"Secret Person", b"beta.test", b"Beta room"):
        assert secret not in body, (route, secret)
