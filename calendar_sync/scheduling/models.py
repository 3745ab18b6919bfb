"""What keyword scheduling stores: the org's meeting service and the meeting created on it for an event."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_sync.encryption.aad import register_encrypted
from calendar_sync.sync.models import CalendarSource
from controlhub.tenancy.models import Organization


class MeetingService(models.Model):
    """The meeting service an organization's keywords create meetings on, and how to reach it.

    Secrets (the Webex service app's client secret and refresh token, its access token, the Jitsi app secret,
    the BigBlueButton shared secret) are encrypted with the org's data key, like an uploaded Google key. The
    settings of every backend are kept when the admin switches: meetings made earlier are still moved and
    released on the service that made them.
    """

    class Kind(models.TextChoices):
        NONE = "none", _("None")
        WEBEX = "webex", _("Webex")
        JITSI = "jitsi", _("Jitsi Meet")
        BIGBLUEBUTTON = "bigbluebutton", _("BigBlueButton")

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="meeting_service")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NONE)

    # Webex: a service app (client id, secret, refresh token) scheduling on behalf of hosts of its sites.
    webex_site_url = models.CharField(max_length=255, blank=True)
    webex_client_id = models.CharField(max_length=255, blank=True)
    webex_secrets_enc = models.BinaryField(null=True, blank=True)  # {"client_secret", "refresh_token"}
    webex_token_enc = models.BinaryField(null=True, blank=True)  # the current access token
    webex_token_expires_at = models.DateTimeField(null=True, blank=True)
    webex_refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # A person's own Webex site: "Schema.field" of a custom schema of their Google directory record.
    webex_site_field = models.CharField(max_length=130, blank=True)
    directory_admin_email = models.EmailField(max_length=320, blank=True)

    # Jitsi Meet: rooms on this host; with an app id and secret, HS256 tokens for invited people.
    jitsi_host = models.CharField(max_length=255, blank=True)
    jitsi_app_id = models.CharField(max_length=255, blank=True)
    jitsi_secret_enc = models.BinaryField(null=True, blank=True)

    # BigBlueButton: the API URL (…/bigbluebutton/api/) and its shared secret.
    bbb_api_url = models.CharField(max_length=500, blank=True)
    bbb_secret_enc = models.BinaryField(null=True, blank=True)
    bbb_algorithm = models.CharField(max_length=10, default="sha256")

    updated_at = models.DateTimeField(default=timezone.now)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_ok = models.BooleanField(null=True)

    def __str__(self):
        return f"{self.organization_id}:{self.kind}"


class HostSite(models.Model):
    """The Webex site a person's meetings are made on, as last read from their Google directory record
    (empty ``site_url``: the record names none, the org's default site applies)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webex_host_sites")
    email = models.CharField(max_length=320)
    site_url = models.CharField(max_length=255, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)
    error_code = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "email"], name="host_site_unique_email")]


class KeywordMeeting(models.Model):
    """A meeting created on the org's meeting service because an event's Location held a keyword.

    ``meeting_id`` is the service's id of the meeting (what moves and deletes it); it stays empty while the
    meeting is being created. ``create_sent_at`` is written and committed *before* the create call, so a
    worker that dies between "meeting created" and "row updated" leaves the evidence its successor needs to
    look the meeting up (by the integration tag carrying the event's identity) instead of creating another.
    """

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASING = "releasing", _("Release pending")
        RELEASED = "released", _("Released")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="keyword_meetings")
    source = models.ForeignKey(CalendarSource, on_delete=models.CASCADE, related_name="keyword_meetings")
    google_event_id = models.CharField(max_length=1024)
    keyword = models.CharField(max_length=32)
    meeting_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    service = models.CharField(max_length=20, blank=True)  # the MeetingService.Kind (or "local") that made it
    site_url = models.CharField(max_length=255, blank=True)  # Webex: the host's site
    join_url_enc = models.BinaryField(null=True)
    details_enc = models.BinaryField(null=True)  # JSON: number, sip_uri, host_url (what the join block shows)
    key_version = models.PositiveIntegerField(default=1)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    title_index = models.CharField(max_length=64, blank=True)  # blind index of the title the meeting carries
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    patched_etag = models.CharField(max_length=100, blank=True)
    create_sent_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    service_calls = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "google_event_id"], name="keyword_meeting_unique_event"),
        ]


register_encrypted(KeywordMeeting, "join_url", "details")
register_encrypted(MeetingService, "webex_secrets", "webex_token", "jitsi_secret", "bbb_secret")
