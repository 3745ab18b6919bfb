"""Typed failures of a meeting service, each with the catalogue entry people see (title, explanation, fix).

Every backend maps what its service says to one of these; the keyword flow records ``code`` on the meeting
row, the Test button on the Meeting service page shows the entry. ``transient`` failures are retried later
(``retry_after`` seconds when the service said so); the others wait for the admin's fix.
"""

from django.utils.translation import gettext_lazy as _

from controlhub.tenancy.errors import ErrorInfo


class MeetingServiceError(Exception):
    code = "meeting_service_error"
    transient = False

    def __init__(self, message="", *, status=None, tracking_id="", retry_after=None):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.status = status
        self.tracking_id = tracking_id
        self.retry_after = retry_after

    @property
    def info(self):
        return error_info(self.code)


class NotConfigured(MeetingServiceError):
    code = "meeting_service_not_configured"


class KeywordsOff(NotConfigured):
    code = "meeting_service_none"


class TokenRevoked(MeetingServiceError):
    code = "webex_token_revoked"


class ClientRejected(MeetingServiceError):
    code = "webex_client_rejected"


class ScopeMissing(MeetingServiceError):
    code = "webex_scope_missing"


class HostNotOnSite(MeetingServiceError):
    code = "webex_host_unknown"


class MeetingNotFound(MeetingServiceError):
    code = "meeting_not_found"


class InvalidRequest(MeetingServiceError):
    code = "meeting_service_refused"


class RateLimited(MeetingServiceError):
    code = "meeting_service_rate_limited"
    transient = True


class ServiceUnavailable(MeetingServiceError):
    code = "meeting_service_unavailable"
    transient = True


class ChecksumRejected(MeetingServiceError):
    code = "bbb_checksum_error"


class IdNotUnique(MeetingServiceError):
    code = "bbb_id_not_unique"


_PAGE = "meeting_service"
_ENTRIES = [
    ErrorInfo(
        "meeting_service_none",
        _("Keyword scheduling is off"),
        _("Your organization has no meeting service, so @webex and @meet create nothing. Join buttons still work "
          "for links people paste."),
        _("Choose Webex, Jitsi Meet or BigBlueButton on the Meeting service page."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "meeting_service_not_configured",
        _("Meeting service not fully set up"),
        _("A setting the meeting service needs is missing (a site, a host name, a secret or a token)."),
        _("Fill in every field of the chosen service on the Meeting service page and run Test."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "webex_token_revoked",
        _("Webex refresh token expired or revoked"),
        _("Webex refused the service app's refresh token (\"invalid_grant\"): it was revoked, replaced, belongs "
          "to another app, or was not used for 90 days."),
        _("In the Webex Developer Portal, open the service app, copy a new refresh token from its authorization "
          "and paste it on the Meeting service page."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "webex_client_rejected",
        _("Webex client ID or secret refused"),
        _("Webex does not know the service app's client ID, or its client secret is wrong (\"invalid_client\")."),
        _("Copy the client ID and secret of the service app from the Webex Developer Portal to the Meeting "
          "service page (regenerating the secret invalidates the old one)."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "webex_scope_missing",
        _("Webex scope missing"),
        _("Webex refused the call because the service app lacks a scope: it needs meeting:admin_schedule_write, "
          "meeting:admin_schedule_read and meeting:admin_preferences_read."),
        _("Add the scopes to the service app in the Webex Developer Portal, have a Webex admin authorize it "
          "again in Control Hub, and paste the new refresh token here."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "webex_host_unknown",
        _("Not a host on the Webex site"),
        _("Webex says this person is not a host on the site (no account, an attendee-only account, another "
          "site, or a site the service app was not authorized for)."),
        _("Give the person a host license on the site in Control Hub, or set their own site in the Google "
          "directory field named on the Meeting service page, and authorize the service app for that site."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "meeting_not_found",
        _("Meeting not found"),
        _("The meeting service no longer knows this meeting: it was deleted there."),
        _("Nothing to do: a new meeting is made the next time the event needs one."),
        transient=True,
    ),
    ErrorInfo(
        "meeting_service_refused",
        _("Meeting service refused the request"),
        _("The meeting service did not accept the meeting (for instance a time in the past or a title it "
          "refuses)."),
        _("Check the event's time and title; if it persists, send the error details to your operator."),
    ),
    ErrorInfo(
        "meeting_service_rate_limited",
        _("Meeting service rate limit"),
        _("The meeting service asked us to slow down (HTTP 429)."),
        _("Nothing to do: the request is retried after the delay the service asked for."),
        transient=True,
    ),
    ErrorInfo(
        "meeting_service_unavailable",
        _("Meeting service unavailable"),
        _("The meeting service could not be reached or answered with a server error."),
        _("Nothing to do if it is brief: the request is retried. If it lasts, check the service's status and "
          "that this server can reach its address."),
        transient=True,
    ),
    ErrorInfo(
        "bbb_checksum_error",
        _("BigBlueButton refused the checksum"),
        _("BigBlueButton answered checksumError: the shared secret (or the checksum algorithm) does not match "
          "the server's."),
        _("Copy the secret shown by `bbb-conf --secret` on the server to the Meeting service page, with the "
          "algorithm the server accepts."),
        fix_url_name=_PAGE,
    ),
    ErrorInfo(
        "bbb_id_not_unique",
        _("BigBlueButton meeting ID in use"),
        _("BigBlueButton already has a meeting with this ID and other settings (idNotUnique)."),
        _("Nothing to do: the existing meeting is used."),
        transient=True,
    ),
    ErrorInfo(
        "meeting_service_error",
        _("Unexpected meeting service error"),
        _("The meeting service returned an error we did not expect."),
        _("Retry; if it persists, send the error details to your operator."),
    ),
]
CATALOGUE = {entry.code: entry for entry in _ENTRIES}


def error_info(code):
    return CATALOGUE.get(code) or CATALOGUE["meeting_service_error"]
