"""Onboarding: the runs of "Test connection"."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controlhub.tenancy.models import Organization


class ConnectionTest(models.Model):
    """One run of "Test connection": a checklist of results, each with reason and fix."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="connection_tests")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    test_email = models.EmailField(max_length=320)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    ok = models.BooleanField(null=True)
    results = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
