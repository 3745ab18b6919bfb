"""The demo's workspaces: two rooms in the emulated Google directory (imported), one added by hand that Google
does not know (an explained error), a display for each, and a meeting in Atlas starting in a few minutes so its
Join button lights up."""

from datetime import timedelta

RESOURCE_DOMAIN = "resource.calendar.google.com"
ATLAS = f"demo-atlas@{RESOURCE_DOMAIN}"
BOREALIS = f"demo-borealis@{RESOURCE_DOMAIN}"
COSMOS = f"demo-cosmos@{RESOURCE_DOMAIN}"  # not in the directory: the room in error
SCOPE_ROOMS = "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly"
ZONE = "Europe/Paris"


def _at(moment, minutes):
    return ({"dateTime": moment.isoformat(), "timeZone": "UTC"},
            {"dateTime": (moment + timedelta(minutes=minutes)).isoformat(), "timeZone": "UTC"})


def seed_rooms_google(emu, *, domain, now):
    """The rooms in the emulated directory and a few meetings in them (organized by people, as in real life)."""
    emu.resource(domain, "Atlas", email=ATLAS, capacity=8, building_id="HQ", floor_name="1",
                 features=["Screen", "Webex Board"], time_zone=ZONE)
    emu.resource(domain, "Borealis", email=BOREALIS, capacity=4, building_id="HQ", floor_name="2",
                 features=["Whiteboard"], time_zone=ZONE)
    soon = now.replace(second=0, microsecond=0) + timedelta(minutes=4)
    meetings = [
        (f"ana@{domain}", "Roadmap review", soon, 45, ATLAS,
         {"location": "https://demo.webex.com/meet/ana.martin"}),
        (f"bo@{domain}", "Interview", soon + timedelta(hours=3), 60, ATLAS, {"visibility": "private"}),
        (f"bo@{domain}", "Weekly sync", now.replace(second=0, microsecond=0) - timedelta(minutes=10), 40, BOREALIS,
         {"location": "https://meet.google.com/abc-defg-hij"}),
    ]
    for organizer, title, start, minutes, room, extra in meetings:
        begin, end = _at(start, minutes)
        emu.create_event(organizer, {"summary": title, "start": begin, "end": end, "organizer": {"email": organizer},
                                     "attendees": [{"email": organizer, "responseStatus": "accepted"},
                                                   {"email": room, "resource": True}], **extra})


def configure_workspaces(org, *, scheduling_account, admin_account):
    """Workspaces on before Test connection, so the scopes line and the test include the rooms scope."""
    from calendar_sync.workspaces import services

    services.workspaces_configure(organization=org, enabled=True, scheduling_account=scheduling_account,
                                  admin_account=admin_account)


def seed_rooms(org):
    """Import the directory's rooms, add the one Google does not know, pair a display with each. Returns
    ``[(room, display URL)]``."""
    from calendar_sync.workspaces import displays, services
    from calendar_sync.workspaces.models import Room

    Room.objects.filter(organization=org).delete()  # the emulated Google starts empty on every run
    services.rooms_import(organization=org, directory=services.directory_rooms_list(organization=org))
    Room.objects.filter(organization=org).update(time_zone=ZONE)
    try:
        services.room_add(organization=org, email=COSMOS, name="Cosmos")
    except services.RoomInputError:
        pass
    out = []
    for room in Room.objects.filter(organization=org).order_by("name"):
        _, raw = displays.display_create(room=room, name=f"{room.name} door tablet")
        out.append((room, displays.display_url(raw)))
    return out


def describe(rooms):
    from calendar_sync.workspaces.errors import room_error_info

    lines = ["Rooms (open a display URL on a tablet, or in a browser window):"]
    for room, url in rooms:
        room.refresh_from_db()
        state = room.get_state_display()
        if room.error_code:
            info = room_error_info(room.error_code)
            state += f" — {info.title}: {info.explanation}"
        lines.append(f"  {room.name} ({room.email}): {state}\n    {url}")
    return "\n".join(lines)
