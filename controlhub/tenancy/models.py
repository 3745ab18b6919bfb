"""Tenancy: organizations, their members and roles, audit records, data keys and verified domains."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.encryption.aad import register_encrypted


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


class LiveTopic(models.Model):
    """A live topic's change counter (``controlhub.tenancy.live``): how many times it changed and when, in
    milliseconds since the epoch by the database's own clock. Written only when no Redis is configured; open pages
    learn of changes by the web processes polling the recently changed rows."""

    topic = models.CharField(max_length=80, unique=True)
    version = models.BigIntegerField(default=0)
    changed_ms = models.BigIntegerField(db_index=True)

    def __str__(self):
        return f"{self.topic} v{self.version}"


register_encrypted(Organization, "own_key")
