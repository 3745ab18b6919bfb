"""Fixtures of the workspaces tests: an org whose Google connection is ready, its emulated tenant with rooms in
the directory, a scheduling account (a plain user) and an admin account."""

import pytest

from calendar_sync.google.gateway import SCOPE_ROOMS_READONLY
from calendar_sync.workspaces import services
from calendar_sync.workspaces.models import Room
from tests.conftest import SCOPES_CORE

SCHED = "scheduler@acme.test"
ADMIN = "admin@acme.test"
ROOM_A = "room-a@resource.calendar.google.com"
ROOM_B = "room-b@resource.calendar.google.com"
ROOM_SCOPES = [*SCOPES_CORE, SCOPE_ROOMS_READONLY]


@pytest.fixture
def rooms_google(google_tenant, ready_org, settings, live_server):
    """The tenant with two rooms and the rooms scope delegated; pushes reach the live server."""
    settings.WEBHOOK_BASE_URL = live_server.url
    google_tenant.user(SCHED, given_name="Room", family_name="Scheduler")
    google_tenant.delegate("acme.test", google_tenant.client_id, ROOM_SCOPES)
    google_tenant.resource("acme.test", "Room A", email=ROOM_A, capacity=6, building_id="HQ", floor_name="2",
                           features=["Screen", "Whiteboard"])
    google_tenant.resource("acme.test", "Room B", email=ROOM_B, capacity=12, building_id="HQ", floor_name="3")
    return google_tenant


@pytest.fixture
def workspaces_on(ready_org, rooms_google):
    services.workspaces_configure(organization=ready_org, enabled=True, scheduling_account=SCHED,
                                  admin_account=ADMIN)
    # Turning workspaces on changed the scopes line: the admin ran Test connection again (Ready).
    type(ready_org).objects.filter(pk=ready_org.pk).update(setup_state="ready")
    ready_org.refresh_from_db()
    return ready_org


@pytest.fixture
def active_room(workspaces_on):
    """Room A added and validated (tasks run inline in the suite)."""
    room = services.room_add(organization=workspaces_on, email=ROOM_A, name="Room A")
    room.refresh_from_db()
    assert room.state == Room.State.ACTIVE, (room.error_code, room.error_detail)
    return room
