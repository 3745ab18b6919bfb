"""Tenancy, people and their calendar activation.

State changes go through ``controlhub.services``; nothing assigns ``calendar_state`` by hand.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    class SetupState(models.TextChoices):
        NOT_SET_UP = "not_set_up", _("Not set up")
        TESTING = "testing", _("Testing")
        FAILING = "failing", _("Failing")
        READY = "ready", _("Ready")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    default_time_zone = models.CharField(max_length=64, default="UTC")

    # Google Workspace connection. An org uses the deployment's service account unless it uploads its own key,
    # stored encrypted with the org's data key (never echoed back).
    own_key_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    own_key_client_id = models.CharField(max_length=64, blank=True)
    own_key_client_email = models.CharField(max_length=320, blank=True)
    own_key_id = models.CharField(max_length=64, blank=True)
    own_key_uploaded_at = models.DateTimeField(null=True, blank=True)
    directory_import_enabled = models.BooleanField(default=False)
    setup_state = models.CharField(max_length=20, choices=SetupState.choices, default=SetupState.NOT_SET_UP)
    setup_checked_at = models.DateTimeField(null=True, blank=True)
    delegation_changed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the admin last changed domain-wide delegation in Google Admin.")
    )
    # The org's own Google tenant, learned through the Directory API (see services/tenant_boundary.py): its
    # customerId and the secondary/alias domains found to belong to it.
    google_customer_id = models.CharField(max_length=32, blank=True)
    google_tenant_domains = models.JSONField(default=list, blank=True)

    # Meeting service (keyword scheduling).
    meeting_site_host = models.CharField(max_length=255, default="calendarhub.webex.com")
    keyword_webex = models.CharField(max_length=32, default="@webex")
    keyword_meet = models.CharField(max_length=32, default="@meet")
    keyword_replace = models.BooleanField(
        default=False, help_text=_("Replace the keyword in Location with the join link (else keep it).")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        FULL_ADMIN = "full_admin", _("Full admin")
        READONLY_ADMIN = "readonly_admin", _("Read-only admin")
        USER = "user", _("User")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.USER)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.role})"

    @property
    def is_admin(self):
        return self.role in (self.Role.FULL_ADMIN, self.Role.READONLY_ADMIN)

    @property
    def can_change(self):
        return self.role == self.Role.FULL_ADMIN


class AuditEvent(models.Model):
    """Who did what to what. Never holds the plaintext of an encrypted field."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=80, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class OrgDataKey(models.Model):
    """An organization's data key, wrapped by the master key. The highest active version encrypts."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="data_keys")
    version = models.PositiveIntegerField()
    wrapped = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        unique_together = [("organization", "version")]
        ordering = ["organization", "-version"]


def _verification_token():
    return secrets.token_urlsafe(24)


class Domain(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    # Several organizations may claim a name while it is pending; only one can hold it verified.
    name = models.CharField(max_length=253)
    token = models.CharField(max_length=64, default=_verification_token)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="domain_once_per_org"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(state="verified"),
                                    name="domain_verified_by_one_org"),
        ]

    def __str__(self):
        return self.name

    @property
    def txt_value(self):
        return f"calendarhub-verification={self.token}"


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
