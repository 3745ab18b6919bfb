"""What the read side stores: device tokens that read one calendar source's meetings."""

from django.db import models
from django.utils import timezone

from calendar_sync.sync.models import CalendarSource
from controlhub.tenancy.models import Organization


class DeviceToken(models.Model):
    """A token a room device or integration uses to read one calendar source's meetings as JSON (a person's,
    or a room's). Hashed at rest."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="device_tokens")
    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="device_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
