"""What the sync engine stores: calendar sources, their push channels, the mirrored meetings and the outbox of
after-commit work a sync revealed.

The database, not the queue, is the source of truth for pending work: each source row carries ``next_sync_at``,
``lease_until`` and ``attempts``; a scheduler claims due rows; ``OutboxEntry`` rows (written in the transaction of
the page that revealed them) say which events a plug-in still has to act on. Meeting content is encrypted at rest
(``*_enc`` columns, AES-256-GCM with the org's data key; see ``calendar_sync.sync.meeting_fields``); the outbox
holds ids only.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.encryption.aad import register_encrypted
from controlhub.tenancy.models import Organization


class CalendarSource(models.Model):
    """A Google calendar we mirror, read as some Google subject: a person's primary calendar (subject = the
    person) or a room's resource calendar (calendar id = the resource email, subject = a scheduling account of
    the org that can read it). Sync, channels, meeting rows, the scheduler, the webhook and device tokens hang
    off the source; what owns it (a person, a room) starts and stops it and never the other way round."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ROOM = "room", _("Room")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        FAILING = "failing", _("Failing")
        STOPPED = "stopped", _("Stopped")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    calendar_id = models.CharField(max_length=320)
    subject = models.CharField(max_length=320, help_text=_("The Google account the calendar is read as."))
    name = models.CharField(max_length=200, blank=True)
    # The language of what the service writes into this calendar (keyword join details).
    language = models.CharField(max_length=10, default="en")
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE, db_index=True)
    sync_token = models.TextField(blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)

    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    dirty = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # The first failure of the current run of failures (cleared by the next success): "retrying since ...".
    retrying_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["state", "next_sync_at"])]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "calendar_id"], name="source_unique_calendar"),
        ]

    def __str__(self):
        return f"{self.kind} source {self.calendar_id}"


class Channel(models.Model):
    """A push notification channel (events.watch). Channels are never renewed in place: a new one overlaps."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        STOPPED = "stopped", _("Stopped")

    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="channels")
    channel_id = models.CharField(max_length=64, unique=True)
    resource_id = models.CharField(max_length=200)
    token = models.CharField(max_length=128)
    expiration = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Highest X-Goog-Message-Number taken: the webhook drops any push numbered at or below it (replays and late
    # duplicates) with one conditional UPDATE that also sets last_message_at.
    last_message_number = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)


class Meeting(models.Model):
    """One event instance inside the sync window. Columns ending in ``_enc`` are ciphertext."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="meetings")
    # Not indexed alone: the unique (source, google_event_id) and the (source, start) indexes lead with it.
    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="meetings", db_index=False)
    google_event_id = models.CharField(max_length=1024)
    ical_uid = models.CharField(max_length=1024, blank=True)
    recurring_event_id = models.CharField(max_length=1024, blank=True)
    original_start = models.DateTimeField(null=True, blank=True)
    start = models.DateTimeField()  # read by (source, start), the index below
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, default="confirmed")
    event_type = models.CharField(max_length=30, default="default")
    transparency = models.CharField(max_length=20, default="opaque")
    etag = models.CharField(max_length=100, blank=True)
    google_updated = models.DateTimeField(null=True, blank=True)
    is_organizer = models.BooleanField(default=False)
    attendee_count = models.PositiveIntegerField(default=0)
    join_provider = models.CharField(max_length=20, blank=True)
    key_version = models.PositiveIntegerField(default=1)

    title_enc = models.BinaryField(null=True)
    description_enc = models.BinaryField(null=True)
    location_enc = models.BinaryField(null=True)
    attendees_enc = models.BinaryField(null=True)
    organizer_email_enc = models.BinaryField(null=True)
    organizer_name_enc = models.BinaryField(null=True)
    join_url_enc = models.BinaryField(null=True)
    organizer_email_index = models.CharField(max_length=64, blank=True)

    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "google_event_id"], name="meeting_unique_event"),
        ]
        indexes = [models.Index(fields=["source", "start"])]


# Encrypted columns, by their AAD column name (``<name>_enc`` holds the ciphertext).
register_encrypted(Meeting, "title", "description", "location", "attendees", "organizer_email", "organizer_name",
                   "join_url")


class OutboxEntry(models.Model):
    """One event a page effect (a plug-in registered with ``engine.on_page_outbox``) still has to act on.

    Written in the same transaction as the page that revealed the event, so a sync that commits a page also
    commits the work it implies; acted on right after the commit, and again (the event re-read from Google) until
    it is done or has failed ``OUTBOX_MAX_ATTEMPTS`` times. Done entries are deleted. ``token`` changes whenever a
    later page reveals the event again: an entry is deleted only with the token it was acted on, so a change that
    arrives meanwhile is acted on too. Ids only: the event's content stays in Google and in the encrypted columns.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        FAILED = "failed", _("Failed")

    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="outbox")
    effect = models.CharField(max_length=40)
    google_event_id = models.CharField(max_length=1024)
    time_zone = models.CharField(max_length=64, blank=True)  # the calendar's zone (all-day events)
    token = models.BigIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    error_code = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "effect", "google_event_id"], name="outbox_unique_event"),
        ]
        indexes = [models.Index(fields=["source", "state", "next_attempt_at"], name="outbox_source_due")]
