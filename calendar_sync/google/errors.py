"""Our own typed errors for everything that can go wrong talking to Google.

Nothing outside ``calendar_sync.google`` sees a googleapiclient or google-auth exception: the gateway turns each
into one of these, with the original Google payload attached (``.payload``), so callers can decide (retry,
error state, resync) and pages can explain. ``error_code`` keys into ``controlhub.tenancy.errors.CATALOGUE``.

References: https://developers.google.com/identity/protocols/oauth2/service-account#error-codes and
https://developers.google.com/workspace/calendar/api/guides/errors
"""


class GoogleError(Exception):
    error_code = "google_error"
    retryable = False

    def __init__(self, message="", *, payload=None, status=None, reason=""):
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.payload = payload
        self.status = status
        self.reason = reason

    def __repr__(self):
        return f"{self.__class__.__name__}({self.message!r}, status={self.status}, reason={self.reason!r})"


class InvalidKeyFile(GoogleError):
    """The service-account JSON itself is malformed (not a Google error: caught before any call). ``defect`` names
    what is wrong and ``params`` its values, for a caller that says it in the reader's language."""

    error_code = "key_invalid"

    def __init__(self, message="", *, defect="", params=None, **kwargs):
        super().__init__(message, **kwargs)
        self.defect = defect
        self.params = params or {}


class DelegationNotAuthorized(GoogleError):
    """``unauthorized_client``: the client ID has no domain-wide delegation grant for the requested scopes."""

    error_code = "delegation_not_authorized"


class ScopeNotAuthorized(GoogleError):
    """Delegation exists but does not cover ``scope`` (found by asking for each scope separately), or a token
    lacks it (403 insufficientPermissions)."""

    error_code = "scope_missing"

    def __init__(self, message="", *, scope=None, **kwargs):
        super().__init__(message, **kwargs)
        self.scope = scope


class UserNotFound(GoogleError):
    """``invalid_grant: Invalid email or User ID`` — the subject is not a user of the Workspace tenant."""

    error_code = "user_not_in_google"


class UserDeleted(GoogleError):
    """``invalid_grant: The account has been deleted``."""

    error_code = "user_deleted"


class InvalidKey(GoogleError):
    """``invalid_grant: Invalid JWT Signature.`` — the key was deleted/disabled, or the service account is gone."""

    error_code = "key_invalid"


class ClockSkew(GoogleError):
    """``invalid_grant: Invalid JWT: Token must be a short-lived token…`` — this server's clock is off."""

    error_code = "clock_skew"


class ApiDisabled(GoogleError):
    """403 ``accessNotConfigured``: the API is disabled in the service account's Cloud project."""

    error_code = "api_disabled"

    def __init__(self, message="", *, api="", project="", **kwargs):
        super().__init__(message, **kwargs)
        self.api = api
        self.project = project


class NotACalendarUser(GoogleError):
    """403 ``notACalendarUser``: suspended, or Calendar is not enabled for the user."""

    error_code = "not_a_calendar_user"


class MailServiceNotEnabled(GoogleError):
    """400 ``failedPrecondition: Mail service not enabled`` from Gmail."""

    error_code = "mail_not_enabled"


class NotAuthorized(GoogleError):
    """403 ``forbidden`` — e.g. the Directory API when the subject is not an admin."""

    error_code = "not_authorized"


class RateLimited(GoogleError):
    """403 ``userRateLimitExceeded`` / ``rateLimitExceeded`` or 429. Honour ``retry_after`` (seconds)."""

    error_code = "rate_limited"
    retryable = True

    def __init__(self, message="", *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SyncTokenInvalid(GoogleError):
    """410 ``fullSyncRequired``: wipe this calendar's mirror and sync fully."""

    error_code = "sync_token_invalid"


class NotFound(GoogleError):
    error_code = "not_found"


class Gone(NotFound):
    """410 ``deleted``: the resource was already deleted."""

    error_code = "gone"


class PreconditionFailed(GoogleError):
    """412 ``conditionNotMet``: the ``If-Match`` etag no longer matches (someone else changed the event)."""

    error_code = "precondition_failed"


class BadRequest(GoogleError):
    error_code = "bad_request"


class GoogleUnavailable(GoogleError):
    """5xx, timeouts, connection refused: try again later."""

    error_code = "google_unavailable"
    retryable = True


class SubjectOutsideTenant(GoogleError):
    """Refused before any call to Google: the subject is not inside the calling organization's own Google
    Workspace tenant (see ``controlhub.tenancy.boundary``). Never retried."""

    error_code = "subject_outside_tenant"


class SubjectInOtherOrganization(SubjectOutsideTenant):
    """Refused before any call to Google: the subject's domain is verified by another organization."""

    error_code = "subject_other_org"
