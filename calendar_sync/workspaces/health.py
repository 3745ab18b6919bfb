"""What a room's page and its display say about the room's calendar sync, from what the sync engine reports
(``calendar_sync.sync.sources.source_health``), as for a person:

- a failure only an admin can fix (the scheduling account suspended or deleted, the room calendar no longer
  shared, delegation revoked, API disabled...): an Active room goes to *Error* with the code, the description and
  a history entry; its source keeps being retried by the engine (every 15 minutes at most);
- a transient failure: the room stays *Active* and shows what is being retried;
- recovery: an Error that sync put there is lifted by itself (Active again, with history).
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calendar_sync.sync.sources import FAILING, RECOVERED, RETRYING
from calendar_sync.workspaces.models import Room, RoomHistory

logger = logging.getLogger(__name__)

MSG_SYNC_FAILING = "Room calendar sync failing"
MSG_SYNC_RECOVERED = "Room calendar sync recovered"


def _failed_by_sync(room):
    last = RoomHistory.objects.filter(room=room).order_by("-at", "-id").values_list("message", flat=True).first()
    return (last or "").startswith(MSG_SYNC_FAILING)


def room_on_source_health(sender=None, *, source_id, health, error_code="", detail="", **kwargs):
    """Receiver of ``source_health``: does nothing for a source no room owns (a person's)."""
    room_id = Room.objects.filter(source_id=source_id).values_list("pk", flat=True).first()
    if room_id is None:
        return None
    now = timezone.now()
    code, detail = (error_code or "")[:40], (detail or "")[:1000]
    with transaction.atomic():
        room = Room.objects.select_for_update().filter(pk=room_id).first()
        if room is None or room.state in (Room.State.PENDING, Room.State.REMOVING):
            return None
        changed = Room.objects.filter(pk=room.pk)
        if health == FAILING and room.state == Room.State.ACTIVE:
            changed.update(state=Room.State.ERROR, state_changed_at=now, error_code=code, error_detail=detail,
                           display_version=F("display_version") + 1)
            RoomHistory.objects.create(room=room, at=now, message=f"{MSG_SYNC_FAILING}: {code}"[:300], code=code)
            logger.info("room %s: calendar sync failing (%s)", room.pk, code)
        elif health == RETRYING and room.state == Room.State.ACTIVE:
            changed.exclude(error_code=code, error_detail=detail).update(error_code=code, error_detail=detail)
        elif health == RECOVERED and room.state == Room.State.ERROR and _failed_by_sync(room):
            changed.update(state=Room.State.ACTIVE, state_changed_at=now, error_code="", error_detail="",
                           display_version=F("display_version") + 1)
            RoomHistory.objects.create(room=room, at=now, message=MSG_SYNC_RECOVERED)
            logger.info("room %s: calendar sync recovered", room.pk)
        elif health == RECOVERED and room.state == Room.State.ACTIVE and (room.error_code or room.error_detail):
            changed.update(error_code="", error_detail="")
    return Room.objects.filter(pk=room_id).values_list("state", flat=True).first()
