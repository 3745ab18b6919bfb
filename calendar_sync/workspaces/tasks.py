"""Background work of rooms (django-q2 tasks: ids only, never meeting data)."""

from calendar_sync.sync import sources
from calendar_sync.workspaces import booking, services


def room_validate(room_id):
    return services.room_validate(room_id=room_id)


def room_source_start(source_id):
    """The first full sync and push channel of a room's calendar source."""
    outcome = sources.source_start(source_id=source_id)
    return None if outcome is None else {"full": outcome.full, "calls": outcome.calls}


def room_remove_run(room_id):
    return services.room_remove_run(room_id=room_id)


def room_freebusy_refresh(room_id):
    return booking.room_freebusy_refresh(room_id=room_id)


def rooms_periodic():
    """Every minute: release no-shows, retry due validations, refresh free/busy not refreshed for a while."""
    released = booking.rooms_release_due()
    retried = services.rooms_retry_due()
    refreshed = booking.rooms_freebusy_refresh_stale()
    return {"released": released, "retried": retried, "refreshed": refreshed}
