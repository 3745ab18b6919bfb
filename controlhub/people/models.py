"""People of an organization, their calendar activation state and history, and bulk jobs.

State changes go through ``controlhub.people`` services; nothing assigns ``calendar_state`` by hand.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controlhub.tenancy.models import Organization


class Person(models.Model):
    """A user of an organization and the state of their calendar activation."""

    class CalendarState(models.TextChoices):
        OFF = "off", _("Off")
        PENDING = "pending", _("Pending activation")
        ACTIVATED = "activated", _("Activated")
        ERROR = "error", _("Error")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="people")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    email = models.EmailField(max_length=320)
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text=_("Overrides the Google Calendar setting."))
    created_at = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)

    calendar_state = models.CharField(
        max_length=20, choices=CalendarState.choices, default=CalendarState.OFF, db_index=True
    )
    # The person's primary calendar as the sync engine knows it; created on first activation, kept (stopped)
    # after deactivation so device tokens and history survive a reactivation.
    source = models.OneToOneField("calendar_sync.CalendarSource", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="person")
    state_changed_at = models.DateTimeField(default=timezone.now)
    error_code = models.CharField(max_length=40, blank=True, db_index=True)
    error_detail = models.TextField(blank=True)
    activation_attempts = models.PositiveIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True)

    # Read from Google during validation.
    google_locale = models.CharField(max_length=20, blank=True)
    google_time_zone = models.CharField(max_length=64, blank=True)

    # Out of office (Gmail vacation responder or a Calendar outOfOffice event).
    ooo_start = models.DateTimeField(null=True, blank=True)
    ooo_end = models.DateTimeField(null=True, blank=True)
    ooo_source = models.CharField(max_length=20, blank=True)
    ooo_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["organization", "email"], name="person_unique_email_per_org")]
        indexes = [models.Index(fields=["organization", "calendar_state"])]

    def __str__(self):
        return self.email

    @property
    def domain(self):
        return self.email.rsplit("@", 1)[-1]

    @property
    def effective_time_zone(self):
        return self.time_zone or self.google_time_zone or self.organization.default_time_zone or "UTC"

    @property
    def effective_language(self):
        lang = (self.language or self.google_locale or "en").lower().replace("_", "-").split("-")[0]
        return lang if lang in ("en", "fr", "ko") else "en"

    def is_out_of_office(self, at=None):
        at = at or timezone.now()
        return bool(self.ooo_start and self.ooo_start <= at and (self.ooo_end is None or at < self.ooo_end))


class PersonHistory(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.CharField(max_length=300)
    code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-at", "-id"]


class BulkJob(models.Model):
    """Long work started by an admin, run in the background, with progress the page can poll."""

    class Kind(models.TextChoices):
        CSV_IMPORT = "csv_import", _("CSV import")
        DIRECTORY_IMPORT = "directory_import", _("Directory import")
        ACTIVATE = "activate", _("Activate")
        DEACTIVATE = "deactivate", _("Deactivate")
        REACTIVATE = "reactivate", _("Reactivate")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="bulk_jobs")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def percent(self):
        return 100 if not self.total else min(100, int(100 * self.done / self.total))
