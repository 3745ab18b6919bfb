"""The one catalogue of errors users and admins see: code, title, plain-language explanation and the fix.

Pages, the CSV status report, the JSON API and the Test connection checklist all read from here, so they agree.
``calendar_sync.google.errors`` classes carry an ``error_code`` that keys into this catalogue.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from calendar_sync.google import errors as google_errors


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    title: str
    explanation: str
    fix: str
    transient: bool = False
    fix_url_name: str = ""  # a URL name of the page where the fix happens


_ENTRIES = [
    ErrorInfo(
        "domain_not_verified",
        _("Email domain not verified"),
        _("The user's email domain has not been verified by your organization, and the user has not verified "
          "their own email by signing in."),
        _("Verify the domain on the Domains page (add the DNS TXT record, then Verify), or ask the user to sign "
          "in once with the link we email them. Then reactivate."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "email_not_verified",
        _("Email not verified"),
        _("The user has not signed in yet, so we cannot be sure the email address is theirs."),
        _("Resend the invitation; the user's first sign-in verifies the address. Or verify the whole domain."),
    ),
    ErrorInfo(
        "org_not_connected",
        _("Google Workspace not connected"),
        _("Your organization has not completed the Google Workspace connection, or its last Test connection "
          "failed."),
        _("Open Connect Google, authorize the client ID with the listed scopes in Google Admin, and run Test "
          "connection until it shows Ready."),
        fix_url_name="onboarding",
    ),
    ErrorInfo(
        "user_not_in_google",
        _("Not a user of your Google Workspace"),
        _("Google does not know this email address in your Workspace tenant (\"Invalid email or User ID\"). It "
          "may be misspelled, an alias that is not the primary address, or in another tenant."),
        _("Check the address against Google Admin → Directory → Users; use the user's primary email, then "
          "reactivate."),
    ),
    ErrorInfo(
        "user_deleted",
        _("Google account deleted"),
        _("This user's Google account has been deleted (\"The account has been deleted\")."),
        _("Deactivate the user, or restore the account in Google Admin within 20 days and reactivate."),
    ),
    ErrorInfo(
        "not_a_calendar_user",
        _("No Google Calendar for this user"),
        _("Google says the user is not signed up for Google Calendar: the account is suspended, or the Calendar "
          "service is turned off for their organizational unit."),
        _("In Google Admin, unsuspend the user or turn Calendar on for their organizational unit, then "
          "reactivate."),
    ),
    ErrorInfo(
        "delegation_not_authorized",
        _("Client not authorized in Google Admin"),
        _("Google refused to issue a token for this service account (\"unauthorized_client\"): domain-wide "
          "delegation is not set up for its client ID, or not for the scopes we need."),
        _("In Google Admin → Security → Access and data control → API controls → Manage domain-wide delegation, "
          "add the client ID shown on Connect Google with the exact scopes line. Changes can take up to 24 hours "
          "to apply."),
        fix_url_name="onboarding",
    ),
    ErrorInfo(
        "scope_missing",
        _("A required scope is not authorized"),
        _("Domain-wide delegation exists for our client ID, but one of the scopes we need is not in it."),
        _("Edit the client ID in Google Admin's domain-wide delegation and paste the full scopes line from "
          "Connect Google (it replaces the old list). Changes can take up to 24 hours to apply."),
        fix_url_name="onboarding",
    ),
    ErrorInfo(
        "api_disabled",
        _("Google API disabled in the Cloud project"),
        _("An API we call is disabled in the Google Cloud project that owns the service account."),
        _("In Google Cloud console → APIs & Services → Library, enable the named API for the project, wait a few "
          "minutes, then retry."),
    ),
    ErrorInfo(
        "key_invalid",
        _("Service-account key invalid or deleted"),
        _("Google rejected the service account's signature (\"Invalid JWT Signature.\"): the key was deleted or "
          "disabled in Google Cloud, or the file is not the right one."),
        _("Create a new JSON key for the service account in Google Cloud and upload it on Connect Google (or "
          "update GOOGLE_SERVICE_ACCOUNT_FILE), then retry."),
        fix_url_name="onboarding",
    ),
    ErrorInfo(
        "clock_skew",
        _("Server clock is wrong"),
        _("Google refused our token request because this server's clock differs too much from Google's."),
        _("Ask your operator to synchronize the server's clock (NTP), then retry."),
    ),
    ErrorInfo(
        "google_unavailable",
        _("Google unreachable"),
        _("Google did not answer or answered with a temporary error."),
        _("Nothing to do: we retry automatically with backoff. If it persists, check the server's network access "
          "to Google."),
        transient=True,
    ),
    ErrorInfo(
        "rate_limited",
        _("Google rate limit reached"),
        _("Google asked us to slow down (per-user or per-project quota)."),
        _("Nothing to do: we retry automatically after the time Google asks."),
        transient=True,
    ),
    ErrorInfo(
        "mail_not_enabled",
        _("Gmail not enabled"),
        _("Gmail is not enabled for this user, so the out-of-office responder cannot be read."),
        _("Turn Gmail on for the user's organizational unit in Google Admin, or ignore: meetings still sync."),
    ),
    ErrorInfo(
        "not_authorized",
        _("Not authorized by Google"),
        _("Google refused the request for this account (for the Directory, the account must be a Workspace "
          "admin)."),
        _("Use a Workspace admin account for directory import, or check the account's privileges."),
    ),
    ErrorInfo(
        "key_not_configured",
        _("No service-account key"),
        _("This deployment has no service-account key configured (GOOGLE_SERVICE_ACCOUNT_FILE) and your "
          "organization has not uploaded its own key, so we cannot ask Google for anything."),
        _("Upload your own service-account JSON key on Connect Google, or ask your operator to configure the "
          "deployment's key."),
        fix_url_name="onboarding",
    ),
    ErrorInfo(
        "dns_nxdomain",
        _("Domain not found in DNS"),
        _("DNS says this domain does not exist (NXDOMAIN), so its TXT record cannot be read."),
        _("Check the spelling of the domain, or wait until the domain is registered and its DNS is published."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "dns_record_missing",
        _("Verification record not found"),
        _("The domain exists, but it has no TXT record with our verification value."),
        _("Add the TXT record shown on the Domains page at your DNS provider (host: the domain itself, often "
          "written @), wait for it to propagate, then click Verify."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "dns_wrong_value",
        _("Verification record has the wrong value"),
        _("A calendarhub-verification TXT record exists on the domain, but its value is not the one we issued."),
        _("Replace the TXT record's value with the exact value shown on the Domains page (copy it), then click "
          "Verify."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "dns_timeout",
        _("DNS did not answer"),
        _("The DNS servers did not answer in time, so the record could not be checked."),
        _("Try again in a few minutes; we also re-check automatically every hour."),
        transient=True,
        fix_url_name="domains",
    ),
    ErrorInfo(
        "domain_taken",
        _("Domain verified by another organization"),
        _("Another organization on this service proved this domain first. A domain belongs to one organization "
          "only."),
        _("If the domain is yours, ask your operator or support to look into it; remove it from your list "
          "otherwise."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "subject_outside_tenant",
        _("Not in your Google Workspace"),
        _("This address is not in a domain your organization has verified, so Calendar Hub may not act as it "
          "with this deployment's shared key: only your own Google Workspace is yours to read."),
        _("Verify the address's domain on the Domains page. If it is a secondary or alias domain of your Google "
          "Workspace, enable the Directory scope on Connect Google so Calendar Hub can confirm it. Or upload "
          "your organization's own service-account key. Then reactivate."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "subject_other_org",
        _("Belongs to another organization"),
        _("This address is in a domain that another organization on this service has verified. Calendar Hub "
          "never acts as it for anyone else."),
        _("Remove the person, or use an address in one of your own verified domains."),
        fix_url_name="domains",
    ),
    ErrorInfo(
        "not_found",
        _("Calendar not found"),
        _("Google says this calendar does not exist, or the account it is read as cannot see it."),
        _("Check in Google Admin that the user (or the room's resource calendar) still exists and that the "
          "calendar is shared with the account Calendar Hub reads it as. Calendar Hub checks again by itself."),
    ),
    ErrorInfo(
        "internal_error",
        _("Calendar Hub could not finish"),
        _("Something went wrong on our side while reading this calendar."),
        _("Nothing to do: we retry automatically with backoff. If it persists, send the error details to your "
          "operator."),
        transient=True,
    ),
    ErrorInfo(
        "google_error",
        _("Unexpected Google error"),
        _("Google returned an error we did not expect."),
        _("Retry; if it persists, send the error details to your operator."),
    ),
]

CATALOGUE = {entry.code: entry for entry in _ENTRIES}

# The Cloud APIs the product calls, by service name, as Google Cloud Console titles them.
API_TITLES = {
    "calendar-json.googleapis.com": "Google Calendar API",
    "gmail.googleapis.com": "Gmail API",
    "admin.googleapis.com": "Admin SDK API",
}


def api_title(service):
    title = API_TITLES.get(service)
    return f"{title} ({service})" if title else service


# Our own sentences in a stored detail (a person's, a room's, a calendar's last error) are stored in English, in
# these forms, and translated when shown (``detail_for_display``), so a detail never depends on who caused it and
# every viewer reads it in their language; any other detail is Google's own words, shown as such.
API_DISABLED_IN = gettext_noop("%(api)s is disabled in the Cloud project (project %(project)s).")
API_DISABLED = gettext_noop("%(api)s is disabled in the Cloud project.")
SOME_API_DISABLED = gettext_noop("A Google API is disabled in the Cloud project.")
MISSING_SCOPE = gettext_noop("Missing scope: %(scope)s")
# Why the tenant boundary refused a subject before any call to Google (``tenancy.boundary``).
NOT_AN_EMAIL = gettext_noop("not an email address")
ROOM_NOT_A_USER = gettext_noop("a room or resource calendar is not a user and is never impersonated")
VERIFIED_ELSEWHERE = gettext_noop("%(domain)s is verified by another organization")
NOT_VERIFIED_NOR_EMAIL = gettext_noop("%(domain)s is not verified and %(subject)s has not verified their email")
NOT_A_TENANT_DOMAIN = gettext_noop("%(domain)s is not a verified domain of this organization's Google Workspace")
# A room whose address Google's directory does not list (``workspaces``).
ROOM_NOT_IN_DIRECTORY = gettext_noop("No resource calendar %(email)s in the directory")


def _detail_pattern(msgid):
    pattern = re.escape(msgid)
    return re.compile(re.sub(r"%\\\(([a-z_]+)\\\)s", r"(?P<\1>.+?)", pattern) + r"\Z", re.DOTALL)


_DETAIL_FORMS = tuple((msgid, _detail_pattern(msgid))
                      for msgid in (SOME_API_DISABLED, API_DISABLED_IN, API_DISABLED, MISSING_SCOPE, NOT_AN_EMAIL,
                                    ROOM_NOT_A_USER, VERIFIED_ELSEWHERE, NOT_VERIFIED_NOR_EMAIL,
                                    NOT_A_TENANT_DOMAIN, ROOM_NOT_IN_DIRECTORY))  # exact first


def missing_scope_detail(scope):
    return MISSING_SCOPE % {"scope": scope}


def describe_google_error(exc, *, limit=1000):
    """The one stored description of a Google failure (a person's page, a room's, the sync health card): what is
    missing or disabled when we know it (one of our forms above), else Google's own message."""
    if isinstance(exc, google_errors.ApiDisabled):
        if not exc.api:
            return SOME_API_DISABLED
        if exc.project:
            return (API_DISABLED_IN % {"api": api_title(exc.api), "project": exc.project})[:limit]
        return (API_DISABLED % {"api": api_title(exc.api)})[:limit]
    if isinstance(exc, google_errors.ScopeNotAuthorized) and getattr(exc, "scope", None):
        return missing_scope_detail(exc.scope)[:limit]
    if getattr(exc, "refusal", None):  # refused by the tenant boundary: Google was never asked
        return exc.refusal[:limit]
    return (getattr(exc, "message", "") or str(exc) or exc.__class__.__name__)[:limit]


@dataclass(frozen=True)
class DetailDisplay:
    text: str
    ours: bool  # our own words (translated), not Google's


def detail_for_display(detail):
    """A stored detail in the viewer's language: one of our forms translated, anything else as it is."""
    detail = detail or ""
    for msgid, pattern in _DETAIL_FORMS:
        match = pattern.match(detail)
        if match:
            return DetailDisplay(gettext(msgid) % match.groupdict(), ours=True)
    return DetailDisplay(detail, ours=False)


def error_info(code):
    """The catalogue entry for ``code`` (an unknown code gets the generic entry, never a crash)."""
    return CATALOGUE.get(code) or CATALOGUE["google_error"]
