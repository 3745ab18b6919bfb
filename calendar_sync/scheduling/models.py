"""What keyword scheduling stores: the meeting created on the org's meeting service for an event."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.encryption.aad import register_encrypted
from calendar_sync.sync.models import CalendarSource
from controlhub.tenancy.models import Organization


class KeywordMeeting(models.Model):
    """A meeting created on the org's meeting site because an event's Location held a keyword."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="keyword_meetings")
    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="keyword_meetings")
    google_event_id = models.CharField(max_length=1024)
    keyword = models.CharField(max_length=32)
    meeting_id = models.CharField(max_length=64, unique=True)
    join_url_enc = models.BinaryField(null=True)
    key_version = models.PositiveIntegerField(default=1)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    patched_etag = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "google_event_id"], name="keyword_meeting_unique_event"),
        ]


register_encrypted(KeywordMeeting, "join_url")
