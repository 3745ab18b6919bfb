"""Connecting an organization to Google Workspace: which key it uses, which scopes it must delegate, and the
Test connection that names the exact fault.

Test connection asks Google for a delegated token *per scope*, so "client not authorized at all" (no scope works)
is told apart from "scope X missing" (the others work), then makes the calls the service will make. It runs in
the background (``connection_test_run_task``); the page polls the ``ConnectionTest`` row, which is saved after
every check so progress is visible.

References: https://developers.google.com/identity/protocols/oauth2/service-account#delegatingauthority and
https://support.google.com/a/answer/162106 (domain-wide delegation; changes can take up to 24 hours).
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from calendar_sync.google import errors as google_errors
from calendar_sync.google.gateway import (
    CORE_SCOPES,
    SCOPE_CALENDAR,
    SCOPE_DIRECTORY_READONLY,
    SCOPE_GMAIL_SETTINGS,
    SCOPE_ROOMS_READONLY,
    forget_gateways,
)
from calendar_sync.google.keys import load_service_account_file, parse_service_account_key
from controlhub.onboarding import tenant
from controlhub.onboarding.models import ConnectionTest
from controlhub.tenancy import boundary as tenant_boundary
from controlhub.tenancy import live
from controlhub.tenancy.errors import (
    API_DISABLED,
    API_DISABLED_IN,
    MISSING_SCOPE,
    api_title,
    describe_google_error,
    error_info,
)
from controlhub.tenancy.google_connection import _own_key_aad, org_gateway, other_universes_allowed
from controlhub.tenancy.keys import org_cipher
from controlhub.tenancy.models import Organization
from controlhub.tenancy.orgs import audit_record
from controlhub.tenancy.queue import enqueue_after_commit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScopeUse:
    scope: str
    permission: str
    data: str
    purpose: str


SCOPE_USES = {
    SCOPE_CALENDAR: ScopeUse(
        SCOPE_CALENDAR,
        _("See, edit, share and delete the calendars of activated users"),
        _("Events of activated users (title, time, location, description, organizer, invitees, conference "
          "details); calendar settings (locale, time zone); push notification channels."),
        _("Show each user's meetings with a Join button, add join details to events whose location holds a "
          "scheduling keyword, and keep the list current through push notifications and incremental sync."),
    ),
    SCOPE_GMAIL_SETTINGS: ScopeUse(
        SCOPE_GMAIL_SETTINGS,
        _("Read basic mail settings"),
        _("The vacation responder settings only: on or off, start and end time. Never messages."),
        _("Show users as out of office during their vacation responder's period."),
    ),
    SCOPE_DIRECTORY_READONLY: ScopeUse(
        SCOPE_DIRECTORY_READONLY,
        _("See the users of your domain (read-only)"),
        _("Directory user records: primary email, name, suspended state."),
        _("Import users from your Google directory instead of adding them one by one or from CSV. Only "
          "requested when directory import is on."),
    ),
    SCOPE_ROOMS_READONLY: ScopeUse(
        SCOPE_ROOMS_READONLY,
        _("See the rooms and resources of your domain (read-only)"),
        _("Directory records of room and resource calendars: name, address, building, floor, capacity, "
          "features."),
        _("Import your meeting rooms and check that each one exists before its display is paired. Only "
          "requested when workspaces are on."),
    ),
}

CHECK_LABELS = {
    "key": _("Service-account key"),
    "subject": _("Test account is in your organization's Google Workspace"),
    "token:" + SCOPE_CALENDAR: _("Delegated token for the Calendar scope"),
    "token:" + SCOPE_GMAIL_SETTINGS: _("Delegated token for the Gmail settings scope"),
    "token:" + SCOPE_DIRECTORY_READONLY: _("Delegated token for the Directory scope"),
    "calendar_settings": _("Read calendar settings (locale and time zone)"),
    "events_list": _("List events of the primary calendar"),
    "gmail_vacation": _("Read Gmail out-of-office settings"),
    "directory_user": _("Look up the test account in the Google directory"),
    "token:" + SCOPE_ROOMS_READONLY: _("Delegated token for the Directory rooms scope"),
    "directory_rooms": _("List the rooms of the Google directory"),
}

# Errors that do not depend on the scope asked for: once one appears, asking for other scopes tells us nothing.
_ACCOUNT_WIDE = (
    google_errors.UserNotFound,
    google_errors.UserDeleted,
    google_errors.InvalidKey,
    google_errors.ClockSkew,
    google_errors.GoogleUnavailable,
    google_errors.InvalidKeyFile,
)


# Scopes that a feature of another package needs once an org turns it on: (scope, needed(organization)).
# Workspaces register theirs at start-up (onboarding never imports them).
_FEATURE_SCOPES = []


def register_feature_scope(scope, needed):
    if (scope, needed) not in _FEATURE_SCOPES:
        _FEATURE_SCOPES.append((scope, needed))


def org_scopes(organization):
    """The scopes this org must delegate, in the order Google Admin shows them."""
    scopes = list(CORE_SCOPES)
    if organization.directory_import_enabled:
        scopes.append(SCOPE_DIRECTORY_READONLY)
    for scope, needed in _FEATURE_SCOPES:
        if scope not in scopes and needed(organization):
            scopes.append(scope)
    return scopes


def org_scopes_line(organization):
    """One comma-separated line, exactly what Google Admin's "OAuth scopes" box wants."""
    return ",".join(org_scopes(organization))


@dataclass(frozen=True)
class KeyStatus:
    source: str  # "own" | "deployment" | "none"
    client_id: str = ""
    client_email: str = ""
    key_id: str = ""
    problem: str = ""

    @property
    def configured(self):
        return self.source != "none"


def org_key_status(organization):
    """Which key the org uses, described without any private material."""
    if organization.own_key_ciphertext:
        return KeyStatus(
            "own",
            client_id=organization.own_key_client_id,
            client_email=organization.own_key_client_email,
            key_id=organization.own_key_id,
        )
    path = settings.GOOGLE_SERVICE_ACCOUNT_FILE
    if not path:
        return KeyStatus("none")
    try:
        key = load_service_account_file(path, allow_other_universe=other_universes_allowed())
    except google_errors.InvalidKeyFile as exc:
        return KeyStatus("none", problem=key_defect_message(exc))
    return KeyStatus("deployment", client_id=key.client_id, client_email=key.client_email, key_id=key.private_key_id)


# --- writes ------------------------------------------------------------------------------------------------
def _reset_setup(organization):
    organization.setup_state = Organization.SetupState.NOT_SET_UP
    organization.setup_checked_at = None
    live.publish(f"org:{organization.pk}:setup")


@transaction.atomic
def own_key_upload(*, organization, data, actor=None):
    """Validate and store the org's own service-account key, encrypted. Raises ``InvalidKeyFile`` with a precise
    message; the private key is never logged, echoed or audited."""
    key = parse_service_account_key(data, allow_other_universe=other_universes_allowed())
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    replaced = bool(organization.own_key_ciphertext)
    organization.own_key_ciphertext = org_cipher(organization).encrypt(
        key.to_json(), aad=_own_key_aad(organization)
    )
    organization.own_key_client_id = key.client_id
    organization.own_key_client_email = key.client_email
    organization.own_key_id = key.private_key_id
    organization.own_key_uploaded_at = timezone.now()
    _reset_setup(organization)
    organization.save()
    audit_record(
        organization=organization, actor=actor, action="google.own_key.replaced" if replaced else "google.own_key.uploaded",
        target=organization, detail={"client_id": key.client_id, "client_email": key.client_email, "key_id": key.private_key_id},
    )
    transaction.on_commit(forget_gateways)
    return organization


@transaction.atomic
def own_key_remove(*, organization, actor=None):
    """Forget the org's own key; the deployment's key is used again."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if not organization.own_key_ciphertext:
        return organization
    detail = {"client_id": organization.own_key_client_id, "key_id": organization.own_key_id}
    organization.own_key_ciphertext = None
    organization.own_key_client_id = ""
    organization.own_key_client_email = ""
    organization.own_key_id = ""
    organization.own_key_uploaded_at = None
    _reset_setup(organization)
    organization.save()
    audit_record(organization=organization, actor=actor, action="google.own_key.removed", target=organization,
                 detail=detail)
    transaction.on_commit(forget_gateways)
    return organization


@transaction.atomic
def onboarding_settings_update(*, organization, directory_import_enabled, delegation_changed_at, actor=None):
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    changes = {}
    if organization.directory_import_enabled != directory_import_enabled:
        changes["directory_import_enabled"] = directory_import_enabled
        organization.directory_import_enabled = directory_import_enabled
        _reset_setup(organization)  # the scopes line changed: the last test no longer proves anything
    if organization.delegation_changed_at != delegation_changed_at:
        changes["delegation_changed_at"] = delegation_changed_at.isoformat() if delegation_changed_at else None
        organization.delegation_changed_at = delegation_changed_at
    if changes:
        organization.save()
        audit_record(organization=organization, actor=actor, action="google.settings.updated", target=organization,
                     detail=changes)
    return organization


@transaction.atomic
def connection_test_start(*, organization, test_email, actor=None):
    """Queue a Test connection; the page polls the returned row. Never talks to Google itself."""
    test = ConnectionTest.objects.create(
        organization=organization, started_by=actor if actor and actor.is_authenticated else None,
        test_email=test_email.strip().lower(), results=_planned_checks(organization),
    )
    Organization.objects.filter(pk=organization.pk).update(setup_state=Organization.SetupState.TESTING)
    organization.setup_state = Organization.SetupState.TESTING
    live.publish(f"org:{organization.pk}:setup", f"test:{test.pk}")
    audit_record(organization=organization, actor=actor, action="google.connection_test.started", target=test,
                 detail={"test_email": test.test_email})
    enqueue_after_commit(connection_test_run_task, test.pk)
    return test


def _planned_checks(organization):
    checks = ["key", "subject"] + ["token:" + scope for scope in org_scopes(organization)]
    checks += ["calendar_settings", "events_list", "gmail_vacation"]
    if organization.directory_import_enabled:
        checks.append("directory_user")
    if "token:" + SCOPE_ROOMS_READONLY in checks:
        checks.append("directory_rooms")
    return [{"check": c, "label": str(CHECK_LABELS[c]), "status": "pending", "code": "", "detail": ""} for c in checks]


def connection_test_progress(test):
    """(finished checks, total checks) for the progress bar."""
    total = len(test.results) or 1
    return sum(1 for r in test.results if r.get("status") != "pending"), total


# What is wrong with an uploaded key, by the parser's ``defect`` (its messages are English, for logs).
KEY_DEFECTS = {
    "too_large": _("The key file is too large (%(size)s KB): a service-account key is a few KB, at most %(max)s KB. "
                   "Upload the .json key exactly as downloaded from Google Cloud."),
    "not_text": _("The file is not text: upload the .json key file Google Cloud gave you."),
    "empty": _("The key file is empty."),
    "not_json": _("The key file is not valid JSON (line %(line)s, column %(column)s). Upload the .json key exactly "
                  "as downloaded from Google Cloud (IAM & Admin → Service accounts → Keys)."),
    "too_deep": _("The key file is not a service-account key: its JSON is nested too deeply. Upload the .json key "
                  "exactly as downloaded from Google Cloud."),
    "not_object": _("The key file must be a JSON object, as downloaded from Google Cloud."),
    "not_service_account": _("This is not a service-account key (\"type\" is %(found)s, expected "
                             "'service_account'). An OAuth client secret or an API key will not work."),
    "missing": _("The key file is missing: %(fields)s."),
    "universe_missing": _("\"universe_domain\" must be %(expected)s, the universe of Google's public APIs."),
    "other_universe": _("This key belongs to the Google Cloud universe %(universe)s (\"universe_domain\"), not "
                        "%(expected)s: Calendar Hub talks to Google's public APIs only. Create the key in a Google "
                        "Cloud project of the public universe."),
    "client_id": _("\"client_id\" must be the numeric client ID of the service account, not %(found)s."),
    "client_email": _("\"client_email\" %(found)s is not a service account address (…@….iam.gserviceaccount.com)."),
    "private_key": _("\"private_key\" cannot be read as a PEM private key: the file was probably edited or "
                     "truncated."),
    "key_size": _("\"private_key\" must be an RSA key of at least 2048 bits."),
}


def key_defect_message(exc):
    """The key parser's refusal (``InvalidKeyFile``) in the reader's language."""
    return _defect_text(exc.defect, exc.params) or str(exc)


def _defect_text(defect, params):
    template = KEY_DEFECTS.get(defect)
    return str(template) % params if template is not None else ""


# --- the run ----------------------------------------------------------------------------------------------------
# What a check found, said in the reader's language when the page renders: a row keeps the note's name and its
# values ("note", "params"); "detail" keeps the English text (logs, audit) or, for a row without a note, Google's
# own words, which stay as Google wrote them.
NOTES = {
    "key": _("%(client_email)s · key %(key_id)s"),
    "not_tried": _("Not tried: fix the problem above first."),
    "scope_not_tried": _("Not tried: the scope it needs is not authorized."),
    "client_not_authorized": _("Client ID %(client_id)s is not authorized for %(scope)s. Google said: %(google)s"),
    "scope_not_authorized": _("Scope %(scope)s is not authorized for client ID %(client_id)s; the other scopes "
                              "work."),
    "calendar_settings": _("locale %(locale)s, time zone %(time_zone)s"),
    "vacation_on": _("vacation responder on"),
    "vacation_off": _("vacation responder off"),
    "directory_user": _("%(email)s found"),
    "rooms_found": _("room directory readable (rooms found)"),
    "rooms_none": _("room directory readable (no rooms yet)"),
    "api_disabled": _(API_DISABLED),  # the sentences a stored detail uses too (tenancy.errors)
    "api_disabled_in": _(API_DISABLED_IN),
    "missing_scope": _(MISSING_SCOPE),
}


def note_text(note, params=None):
    """The text of a check's note in the active language."""
    params = params or {}
    if note == "events_list":
        return ngettext("%(count)d event on the first page", "%(count)d events on the first page",
                        params["count"]) % params
    if note == "explanation":
        return str(error_info(params["code"]).explanation)
    if note == "key_defect":
        return _defect_text(params["defect"], params.get("values", {}))
    return str(NOTES[note]) % params


def result_text(result):
    """What a checklist row says under its label, in the active language."""
    if result.get("note"):
        return note_text(result["note"], result.get("params"))
    return result.get("detail", "")


class _Note:
    def __init__(self, note, **params):
        self.note, self.params = note, params


def _failure_note(exc):
    """What a failed check says: our words (as a note) when we know what is wrong, else Google's own."""
    if isinstance(exc, google_errors.InvalidKeyFile) and exc.defect in KEY_DEFECTS:
        return _Note("key_defect", defect=exc.defect, values=exc.params)
    if isinstance(exc, google_errors.ApiDisabled):
        api = api_title(exc.api) if exc.api else "Google API"
        return _Note("api_disabled_in", api=api, project=exc.project) if exc.project else _Note("api_disabled", api=api)
    if isinstance(exc, google_errors.ScopeNotAuthorized) and getattr(exc, "scope", None):
        return _Note("missing_scope", scope=exc.scope)
    return describe_google_error(exc)


class _Run:
    def __init__(self, test):
        self.test = test
        self.results = {r["check"]: r for r in test.results}

    def set(self, check, status, *, code="", detail=""):
        row = self.results[check]
        row.pop("note", None)
        row.pop("params", None)
        if isinstance(detail, _Note):
            row.update(note=detail.note, params=detail.params)
            with translation.override("en"):
                detail = note_text(detail.note, detail.params)
        row.update(status=status, code=code, detail=str(detail)[:1000])
        self.test.results = list(self.results.values())
        self.test.save(update_fields=["results"])
        live.publish(f"test:{self.test.pk}")  # the checklist fills in as it runs

    def fail(self, check, exc, *, code=None, detail=None):
        self.set(check, "fail", code=code or getattr(exc, "error_code", "google_error"),
                 detail=detail if detail is not None else _failure_note(exc))

    def skip_pending(self, detail):
        for check, row in self.results.items():
            if row["status"] == "pending":
                self.set(check, "skip", detail=detail)


def connection_test_run(*, test_id):
    """Run every check of one Test connection and record the org's setup state. Idempotent per test row."""
    test = ConnectionTest.objects.select_related("organization").get(pk=test_id)
    if test.state == ConnectionTest.State.DONE:
        return test
    org = test.organization
    test.state = ConnectionTest.State.RUNNING
    test.save(update_fields=["state"])
    live.publish(f"test:{test.pk}")
    run = _Run(test)
    try:
        _run_checks(run, org, test.test_email)
    except Exception as exc:  # noqa: BLE001 - an unexpected crash must still finish the row
        logger.exception("connection test %s crashed", test.pk)
        pending = [c for c, r in run.results.items() if r["status"] == "pending"]
        if pending:
            run.fail(pending[0], exc, code="google_error", detail=exc.__class__.__name__)
        run.skip_pending(_Note("not_tried"))
    return _finish(test, org)


@transaction.atomic
def _finish(test, org):
    ok = bool(test.results) and all(r["status"] == "pass" for r in test.results)
    now = timezone.now()
    test.state = ConnectionTest.State.DONE
    test.ok = ok
    test.finished_at = now
    test.save(update_fields=["state", "ok", "finished_at", "results"])
    state = Organization.SetupState.READY if ok else Organization.SetupState.FAILING
    Organization.objects.filter(pk=org.pk).update(setup_state=state, setup_checked_at=now)
    live.publish(f"org:{org.pk}:setup", f"test:{test.pk}")  # the Connect Google badge leaves Testing
    failed = [r["code"] for r in test.results if r["status"] == "fail"]
    audit_record(organization=org, actor=test.started_by, action="google.connection_test.finished", target=test,
                 detail={"ok": ok, "failed": failed, "test_email": test.test_email})
    return test


def _run_checks(run, org, email):
    not_tried = _Note("not_tried")
    try:
        gateway = org_gateway(org)
    except google_errors.InvalidKeyFile as exc:
        code = "key_invalid" if org.own_key_ciphertext or settings.GOOGLE_SERVICE_ACCOUNT_FILE else "key_not_configured"
        run.fail("key", exc, code=code)
        run.skip_pending(not_tried)
        return
    key = gateway.key
    run.set("key", "pass", detail=_Note("key", client_email=key.client_email, key_id=key.private_key_id[:12]))

    # The tenant boundary: the test account must be inside the org's own tenant before we act as it.
    if "subject" in run.results:
        if tenant_boundary.subject_refusal(org, email) is not None:
            tenant.tenant_domain_learn(organization=org, subject=email, gateway=gateway)
        refusal = tenant_boundary.subject_refusal(org, email)
        if refusal is not None:
            run.set("subject", "fail", code=refusal.code, detail=_Note("explanation", code=refusal.code))
            run.skip_pending(not_tried)
            return
        run.set("subject", "pass", detail=email)
        gateway = org_gateway(org)  # a fresh boundary: what was just learned counts

    scopes = org_scopes(org)
    granted, refused = [], {}
    for scope in scopes:
        try:
            gateway.fetch_token(email, [scope], fresh=True)
        except _ACCOUNT_WIDE as exc:
            run.fail("token:" + scope, exc)
            run.skip_pending(not_tried)
            return
        except (google_errors.DelegationNotAuthorized, google_errors.ScopeNotAuthorized) as exc:
            refused[scope] = exc
        except google_errors.GoogleError as exc:
            run.fail("token:" + scope, exc)
            run.skip_pending(not_tried)
            return
        else:
            granted.append(scope)
            run.set("token:" + scope, "pass")
    for scope, exc in refused.items():
        if not granted:
            run.fail("token:" + scope, exc, code="delegation_not_authorized",
                     detail=_Note("client_not_authorized", client_id=key.client_id, scope=scope,
                                    google=describe_google_error(exc)))
        else:
            run.fail("token:" + scope, exc, code="scope_missing",
                     detail=_Note("scope_not_authorized", scope=scope, client_id=key.client_id))

    needs = {
        "calendar_settings": SCOPE_CALENDAR,
        "events_list": SCOPE_CALENDAR,
        "gmail_vacation": SCOPE_GMAIL_SETTINGS,
        "directory_user": SCOPE_DIRECTORY_READONLY,
        "directory_rooms": SCOPE_ROOMS_READONLY,
    }
    calls = {
        "calendar_settings": lambda: _calendar_settings(gateway, email),
        "events_list": lambda: _events_list(gateway, email),
        "gmail_vacation": lambda: _vacation(gateway, email),
        "directory_user": lambda: _directory_user(gateway, email, org),
        "directory_rooms": lambda: _directory_rooms(gateway, email),
    }
    for check, call in calls.items():
        if check not in run.results:
            continue
        if needs[check] not in granted:
            run.set(check, "skip", detail=_Note("scope_not_tried"))
            continue
        try:
            detail = call()
        except google_errors.GoogleError as exc:
            run.fail(check, exc)
            if isinstance(exc, _ACCOUNT_WIDE):
                run.skip_pending(not_tried)
                return
        else:
            run.set(check, "pass", detail=detail)


def _calendar_settings(gateway, email):
    locale = gateway.calendar_setting(email, "locale")
    tz = gateway.calendar_setting(email, "timezone")
    return _Note("calendar_settings", locale=locale or "en", time_zone=tz or "UTC")


def _events_list(gateway, email):
    page = gateway.events_list(email, "primary", maxResults=5)
    return _Note("events_list", count=len(page.get("items", [])))


def _vacation(gateway, email):
    vacation = gateway.vacation_get(email)
    return _Note("vacation_on" if vacation.get("enableAutoReply") else "vacation_off")


def _directory_user(gateway, email, org=None):
    user = gateway.directory_user(email, email)
    domain = email.rsplit("@", 1)[-1].lower()
    if org is not None and user.get("customerId") and domain in tenant_boundary.TenantBoundary(org).verified_domains:
        # A test account of a DNS-verified domain: its customerId is the tenant's.
        tenant.tenant_customer_record(organization=org, customer_id=user["customerId"])
    return _Note("directory_user", email=user.get("primaryEmail", email))


def _directory_rooms(gateway, email):
    page = gateway.resources_calendars_page(email, max_results=1)
    return _Note("rooms_found" if page.get("items") else "rooms_none")


def connection_test_run_task(test_id):
    """Background entry point (django-q2: positional ids only)."""
    return connection_test_run(test_id=test_id).pk
