"""What workspaces store: the org's room settings, rooms with their policy and validation state, their history,
the displays paired with them, and what the service knows of each room event beyond the mirror.

State changes go through ``calendar_sync.workspaces.services``; nothing assigns ``Room.state`` by hand.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.sync.models import CalendarSource
from controlhub.tenancy.models import Organization

DEFAULT_BOOKING_LENGTHS = [15, 30, 60]
DEFAULT_RELEASE_MINUTES = 10


def _default_lengths():
    return list(DEFAULT_BOOKING_LENGTHS)


class WorkspaceSettings(models.Model):
    """Whether the org uses workspaces, and the Google accounts that act for its rooms.

    ``scheduling_account`` reads and writes every room calendar (it gets an ACL ``writer`` rule when it lacks
    access); ``admin_account`` reads the Directory's rooms and manages their sharing (a Workspace admin; the
    scheduling account when blank)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="workspace_settings")
    enabled = models.BooleanField(default=False)
    scheduling_account = models.EmailField(max_length=320, blank=True)
    admin_account = models.EmailField(max_length=320, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    @property
    def directory_subject(self):
        return self.admin_account or self.scheduling_account


class Room(models.Model):
    """A Google resource calendar of the org, its Directory facts, its display policy and its validation."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending validation")
        ACTIVE = "active", _("Active")
        ERROR = "error", _("Error")
        REMOVING = "removing", _("Being removed")

    class Origin(models.TextChoices):
        DIRECTORY = "directory", _("Google directory")
        MANUAL = "manual", _("Added by hand")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rooms")
    email = models.EmailField(max_length=320, help_text=_("The room's resource calendar address."))
    name = models.CharField(max_length=200)
    resource_id = models.CharField(max_length=100, blank=True)
    building = models.CharField(max_length=200, blank=True)
    floor = models.CharField(max_length=100, blank=True)
    floor_section = models.CharField(max_length=100, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True)
    features = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=40, blank=True)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.MANUAL)
    deleted_in_google_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)

    # Policy of the display.
    show_titles = models.BooleanField(default=True)
    booking_lengths = models.JSONField(default=_default_lengths)
    checkin_required = models.BooleanField(default=False)
    release_minutes = models.PositiveIntegerField(default=DEFAULT_RELEASE_MINUTES)
    honour_acceptance = models.BooleanField(default=True)

    # Validation (like a person's activation).
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    error_code = models.CharField(max_length=40, blank=True)
    error_detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    # The ACL rule this service created for the scheduling account (revoked when the room is removed).
    acl_rule_id = models.CharField(max_length=400, blank=True)
    acl_granted_to = models.EmailField(max_length=320, blank=True)

    source = models.OneToOneField(CalendarSource, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="room")

    # Free/busy of the room calendar as Google last answered (freeBusy.query), for the display.
    freebusy_busy = models.JSONField(default=list, blank=True)
    freebusy_error = models.CharField(max_length=100, blank=True)
    freebusy_checked_at = models.DateTimeField(null=True, blank=True)
    freebusy_range_end = models.DateTimeField(null=True, blank=True)
    # Bumped by every write of this package the display shows (policy, booking, check-in, release, free/busy).
    display_version = models.PositiveBigIntegerField(default=0)
    # One booking at a time per room (book now, extend), across displays and workers: a conditional UPDATE.
    booking_lock_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "email"]
        constraints = [models.UniqueConstraint(fields=["organization", "email"], name="room_unique_email_per_org")]

    def __str__(self):
        return self.name or self.email

    @property
    def location(self):
        return " · ".join(p for p in (self.building, self.floor, self.floor_section) if p)


class RoomHistory(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.CharField(max_length=300)
    code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class RoomDisplay(models.Model):
    """A device paired with a room: it opens ``/rooms/<token>/`` without signing in. Only the token's SHA-256
    is stored; revoked tokens stop working at once, rotation revokes and issues a new one."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="room_displays")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="displays")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class RoomEvent(models.Model):
    """What the service knows of one event of a room beyond its mirrored Meeting row: its visibility (recorded
    by the page hook with the etag it came with), whether it was booked from a display, checked in, released."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="events")
    google_event_id = models.CharField(max_length=1024)
    etag = models.CharField(max_length=100, blank=True)
    private = models.BooleanField(default=False)
    booked_from_display = models.BooleanField(default=False)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "google_event_id"], name="room_event_unique")]
