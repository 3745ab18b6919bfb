"""Rooms against the emulated Google: import from the Directory, the ACL granted on add and revoked on removal,
every validation error with its code, and a room never impersonated."""

import pytest

from calendar_sync.google.gateway import SCOPE_ROOMS_READONLY
from calendar_sync.sync.models import CalendarSource, Meeting
from calendar_sync.workspaces import services
from calendar_sync.workspaces.errors import room_error_info
from calendar_sync.workspaces.models import Room, RoomHistory
from controlhub.tenancy.boundary import subject_refusal
from tests.calendar_sync.conftest import event_at, soon
from tests.calendar_sync.workspaces.conftest import ADMIN, ROOM_A, ROOM_B, SCHED, SCOPES_CORE
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def acl_of(google, calendar):
    return {rule["id"]: rule["role"] for rule in google.call("GET", f"/_emulator/calendars/{calendar}/acl")["items"]}


def subjects(google):
    return {r.get("subject") for r in google.requests()["requests"] if r.get("subject")}


def test_import_lists_the_directory_imports_the_selection_and_flags_rooms_gone(workspaces_on, rooms_google):
    listed = services.directory_rooms_list(organization=workspaces_on)
    by_email = {r.email: r for r in listed}
    assert set(by_email) == {ROOM_A, ROOM_B}
    a = by_email[ROOM_A]
    assert (a.name, a.building, a.floor, a.capacity, a.features) == ("Room A", "HQ", "2", 6, ["Screen", "Whiteboard"])

    outcome = services.rooms_import(organization=workspaces_on, directory=listed, selected=[ROOM_A])
    assert [r.email for r in outcome.added] == [ROOM_A]
    room = Room.objects.get(email=ROOM_A)
    assert room.state == Room.State.ACTIVE and room.origin == Room.Origin.DIRECTORY
    assert (room.building, room.floor, room.capacity) == ("HQ", "2", 6)
    assert not Room.objects.filter(email=ROOM_B).exists()

    # Re-import: Room A's new capacity is taken; when Google deletes it, it is flagged, never removed.
    rooms_google.patch_resource(ROOM_A, capacity=8)
    services.rooms_import(organization=workspaces_on, directory=services.directory_rooms_list(
        organization=workspaces_on), selected=[])
    room.refresh_from_db()
    assert room.capacity == 8 and room.deleted_in_google_at is None
    rooms_google.delete_resource(ROOM_A)
    outcome = services.rooms_import(organization=workspaces_on, directory=services.directory_rooms_list(
        organization=workspaces_on), selected=[])
    room.refresh_from_db()
    assert [r.email for r in outcome.flagged] == [ROOM_A] and room.deleted_in_google_at is not None
    assert room.history.filter(code="room_not_found").exists()


def test_add_grants_writer_to_the_scheduling_account_syncs_and_removal_revokes(active_room, rooms_google):
    # The scheduling account had no access: the admin account shared the room calendar with it (writer).
    assert acl_of(rooms_google, ROOM_A).get(f"user:{SCHED}") == "writer"
    assert active_room.acl_rule_id == f"user:{SCHED}" and active_room.acl_granted_to == SCHED
    assert active_room.history.filter(message=services.MSG_ACL_GRANTED).exists()
    # The same engine syncs it, as the scheduling account; the room itself is never a subject.
    source = active_room.source
    assert (source.kind, source.calendar_id, source.subject) == (CalendarSource.Kind.ROOM, ROOM_A, SCHED)
    rooms_google.create_event(ROOM_A, event_at("Design review", soon(1)))
    wait_until(lambda: Meeting.objects.filter(source=source).count() == 1, message="the room's meeting")
    assert ROOM_A not in subjects(rooms_google) and SCHED in subjects(rooms_google)
    assert subject_refusal(active_room.organization, ROOM_A) is not None

    services.room_remove(room=active_room)
    assert not Room.objects.filter(pk=active_room.pk).exists()
    assert f"user:{SCHED}" not in acl_of(rooms_google, ROOM_A)
    assert not CalendarSource.objects.filter(pk=source.pk).exists()
    assert not Meeting.objects.filter(source_id=source.pk).exists()
    assert not [c for c in rooms_google.channels()["channels"] if c.get("email") == ROOM_A]


def test_access_already_there_is_not_granted_nor_revoked(workspaces_on, rooms_google):
    rooms_google.share(ROOM_B, "writer", value=SCHED)
    room = services.room_add(organization=workspaces_on, email=ROOM_B)
    room.refresh_from_db()
    assert room.state == Room.State.ACTIVE and room.acl_rule_id == ""
    assert not any(r.get("api_method") == "calendar.acl.insert" for r in rooms_google.requests()["requests"])
    services.room_remove(room=room)
    assert acl_of(rooms_google, ROOM_B).get(f"user:{SCHED}") == "writer"


def _error(org, email=ROOM_A):
    room = services.room_add(organization=org, email=email)
    room.refresh_from_db()
    assert room.state == Room.State.ERROR, room.state
    assert RoomHistory.objects.filter(room=room, code=room.error_code).exists()
    info = room_error_info(room.error_code)
    assert info.code == room.error_code and info.explanation and info.fix
    return room


def test_error_resource_unknown(workspaces_on):
    room = _error(workspaces_on, "nowhere@resource.calendar.google.com")
    assert room.error_code == "room_not_found"


def test_error_scheduling_account_missing(workspaces_on):
    services.workspaces_configure(organization=workspaces_on, enabled=True, scheduling_account="ghost@acme.test",
                                  admin_account=ADMIN)
    assert _error(workspaces_on).error_code == "scheduling_account_missing"


def test_error_scheduling_account_suspended(workspaces_on, rooms_google):
    rooms_google.patch_user(SCHED, suspended=True)
    assert _error(workspaces_on).error_code == "scheduling_account_suspended"


def test_error_acl_refused(workspaces_on, rooms_google):
    rooms_google.fault(method="POST", path_regex=r"/calendars/[^/]+/acl$", status=403, count=-1)
    room = _error(workspaces_on)
    assert room.error_code == "acl_refused"


def test_error_scope_not_delegated_names_the_scope(workspaces_on, rooms_google):
    rooms_google.delegate("acme.test", rooms_google.client_id, SCOPES_CORE)
    room = _error(workspaces_on)
    assert room.error_code == "scope_missing" and SCOPE_ROOMS_READONLY in room.error_detail


def test_error_api_disabled(workspaces_on, rooms_google):
    rooms_google.set_api(rooms_google.project_id, "admin.googleapis.com", False)
    room = _error(workspaces_on)
    assert room.error_code == "api_disabled" and "admin.googleapis.com" in room.error_detail


def test_error_then_reactivate_after_the_fix(workspaces_on, rooms_google):
    rooms_google.patch_user(SCHED, suspended=True)
    room = _error(workspaces_on)
    rooms_google.patch_user(SCHED, suspended=False)
    services.room_reactivate(room=room)
    room.refresh_from_db()
    assert room.state == Room.State.ACTIVE
    messages = [h.message for h in room.history.order_by("at", "id")]
    assert messages[-1] == services.MSG_ACTIVE and services.MSG_REACTIVATE in messages


def test_a_room_address_cannot_be_the_scheduling_account(workspaces_on):
    with pytest.raises(services.RoomInputError):
        services.workspaces_configure(organization=workspaces_on, enabled=True, scheduling_account=ROOM_A)


def test_sync_failing_puts_the_room_in_error_and_recovery_lifts_it(active_room, rooms_google):
    from calendar_sync.sync.sources import source_run
    from calendar_sync.workspaces.health import MSG_SYNC_FAILING, MSG_SYNC_RECOVERED

    def runs_until(state):
        def step():  # a push-triggered run may hold the lease: ours then only marks the source dirty
            source_run(source_id=active_room.source_id)
            return Room.objects.get(pk=active_room.pk).state == state
        wait_until(step, timeout=20, message=f"the room {state}")
        return Room.objects.get(pk=active_room.pk)

    rooms_google.patch_user(SCHED, suspended=True)  # only an admin can fix this
    room = runs_until(Room.State.ERROR)
    assert room.error_code == "not_a_calendar_user"
    assert room.history.filter(message__startswith=MSG_SYNC_FAILING).exists()
    rooms_google.patch_user(SCHED, suspended=False)
    room = runs_until(Room.State.ACTIVE)
    assert room.error_code == ""
    assert room.history.filter(message=MSG_SYNC_RECOVERED).exists()
