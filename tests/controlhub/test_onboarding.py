"""Connect Google and Test connection, against the emulator: every failure is produced for real and its page text
asserted."""

import json
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from calendar_sync.google.gateway import SCOPE_CALENDAR, SCOPE_DIRECTORY_READONLY, SCOPE_GMAIL_SETTINGS
from controlhub.onboarding.models import ConnectionTest
from controlhub.tenancy.google_connection import org_service_account_key
from controlhub.tenancy.models import AuditEvent, Organization
from tests.conftest import SCOPES_CORE

pytestmark = pytest.mark.django_db

SCOPES_LINE = "https://www.googleapis.com/auth/calendar,https://www.googleapis.com/auth/gmail.settings.basic"


@pytest.fixture(autouse=True)
def fresh_ciphers():
    """Own keys are stored encrypted: start each test without cached data keys."""
    from controlhub.tenancy.keys import forget_ciphers

    forget_ciphers()
    yield
    forget_ciphers()


@pytest.fixture(autouse=True)
def verified_acme(request):
    """Test connection acts as a test account only inside the org's own tenant: acme.test is verified."""
    if "org" in request.fixturenames:
        from controlhub.tenancy.models import Domain

        org = request.getfixturevalue("org")
        Domain.objects.get_or_create(organization=org, name="acme.test", defaults={"state": Domain.State.VERIFIED})


def run_test(client, capture, email="ana@acme.test"):
    with capture(execute=True):
        response = client.post(reverse("onboarding_test_start"), {"test_email": email})
    assert response.status_code == 302
    page = client.get(reverse("onboarding"))
    assert page.status_code == 200
    return page.content.decode()


def latest(org):
    return ConnectionTest.objects.filter(organization=org).first()


def statuses(test):
    return {r["check"]: (r["status"], r["code"]) for r in test.results}


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- the page ---------------------------------------------------------------------------------------------------
def test_page_shows_client_id_scopes_steps_and_scope_table(admin_client, google):
    html = admin_client.get(reverse("onboarding")).content.decode()
    assert f'<code id="client-id">{google.client_id}</code>' in html
    assert f'<code id="scopes-line">{SCOPES_LINE}</code>' in html
    assert 'data-copy-target="#client-id"' in html and 'data-copy-target="#scopes-line"' in html
    assert "Security → Access and data control → API controls" in html
    assert "Manage domain-wide delegation" in html and "Authorize" in html
    assert "Data accessed" in html and "What we use it for" in html
    assert "admin.directory.user.readonly" not in html
    assert google.key["private_key_id"] in html and google.key["client_email"] in html
    assert "PRIVATE KEY" not in html


def test_directory_toggle_adds_the_directory_scope(admin_client, org, google):
    response = admin_client.post(reverse("onboarding_settings"), {"directory_import_enabled": "on",
                                                                   "delegation_changed_at": "2026-11-20T09:30"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.directory_import_enabled and org.delegation_changed_at.isoformat().startswith("2026-11-20T09:30")
    html = admin_client.get(reverse("onboarding")).content.decode()
    assert f"{SCOPES_LINE},{SCOPE_DIRECTORY_READONLY}</code>" in html
    assert "Google may take up to 24 hours to apply a change" in html
    assert AuditEvent.objects.filter(organization=org, action="google.settings.updated").exists()


def test_no_key_anywhere_is_said_clearly(admin_client, org, settings, django_capture_on_commit_callbacks):
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = ""
    html = admin_client.get(reverse("onboarding")).content.decode()
    assert "No service-account key is available." in html
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    assert "No service-account key" in html
    assert statuses(latest(org))["key"] == ("fail", "key_not_configured")
    org.refresh_from_db()
    assert org.setup_state == Organization.SetupState.FAILING


# --- Test connection: success and every named failure ---------------------------------------------------------------
def test_ready_when_everything_works(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    test = latest(org)
    assert test.state == ConnectionTest.State.DONE and test.ok is True
    assert all(status == "pass" for status, _ in statuses(test).values())
    assert "Google Workspace is connected" in html
    assert "locale fr, time zone Europe/Paris" in html
    org.refresh_from_db()
    assert org.setup_state == Organization.SetupState.READY and org.setup_checked_at
    dashboard = admin_client.get(reverse("dashboard")).content.decode()
    assert 'id="setup-state">Ready<' in dashboard
    assert AuditEvent.objects.filter(organization=org, action="google.connection_test.finished",
                                     detail__ok=True).exists()


def test_delegation_revoked_says_client_not_authorized(admin_client, org, google_tenant,
                                                       django_capture_on_commit_callbacks):
    run_test(admin_client, django_capture_on_commit_callbacks)  # tokens now cached by the gateway
    google_tenant.revoke("acme.test", google_tenant.client_id)
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    result = statuses(latest(org))
    assert result["token:" + SCOPE_CALENDAR] == ("fail", "delegation_not_authorized")
    assert result["token:" + SCOPE_GMAIL_SETTINGS] == ("fail", "delegation_not_authorized")
    assert result["calendar_settings"][0] == "skip"
    assert "Client not authorized in Google Admin" in html
    assert "Manage domain-wide delegation" in html
    assert "Google may take up to 24 hours to apply a delegation change." in html
    org.refresh_from_db()
    assert org.setup_state == Organization.SetupState.FAILING


def test_only_calendar_delegated_names_the_missing_gmail_scope(admin_client, org, google_tenant,
                                                               django_capture_on_commit_callbacks):
    google_tenant.delegate("acme.test", google_tenant.client_id, [SCOPE_CALENDAR])
    admin_client.post(reverse("onboarding_settings"), {"delegation_changed_at": "2026-11-21T08:00"})
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    result = statuses(latest(org))
    assert result["token:" + SCOPE_CALENDAR] == ("pass", "")
    assert result["token:" + SCOPE_GMAIL_SETTINGS] == ("fail", "scope_missing")
    assert result["calendar_settings"] == ("pass", "")
    assert result["gmail_vacation"][0] == "skip"
    assert "A required scope is not authorized" in html
    assert f"Scope {SCOPE_GMAIL_SETTINGS} is not authorized" in html
    assert "gmail.settings.basic" in html
    assert "You changed delegation" in html and "up to 24 hours" in html


def test_unknown_test_account(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    html = run_test(admin_client, django_capture_on_commit_callbacks, email="nobody@acme.test")
    assert statuses(latest(org))["token:" + SCOPE_CALENDAR] == ("fail", "user_not_in_google")
    assert "Not a user of your Google Workspace" in html
    assert "Invalid email or User ID" in html


def test_deleted_test_account(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    google_tenant.delete_user("bo@acme.test")
    html = run_test(admin_client, django_capture_on_commit_callbacks, email="bo@acme.test")
    assert statuses(latest(org))["token:" + SCOPE_CALENDAR] == ("fail", "user_deleted")
    assert "Google account deleted" in html


def test_deleted_key(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    google_tenant.delete_key(google_tenant.client_id, google_tenant.key["private_key_id"])
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    assert statuses(latest(org))["token:" + SCOPE_CALENDAR] == ("fail", "key_invalid")
    assert "Service-account key invalid or deleted" in html
    assert "Invalid JWT Signature." in html


def test_clock_skew(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    google_tenant.advance_clock(7200)
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    assert statuses(latest(org))["token:" + SCOPE_CALENDAR] == ("fail", "clock_skew")
    assert "Server clock is wrong" in html


def test_calendar_api_disabled_is_named(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    google_tenant.set_api(google_tenant.project_id, "calendar-json.googleapis.com", False)
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    result = statuses(latest(org))
    assert result["token:" + SCOPE_CALENDAR] == ("pass", "")
    assert result["calendar_settings"] == ("fail", "api_disabled")
    assert result["gmail_vacation"] == ("pass", "")
    assert "Google API disabled in the Cloud project" in html
    assert "Google Calendar API (calendar-json.googleapis.com)" in html


def test_google_unreachable(admin_client, org, google_tenant, settings, django_capture_on_commit_callbacks):
    closed = closed_port_url()
    settings.GOOGLE_API_ENDPOINT = closed
    google_tenant.key_file.write_text(json.dumps(dict(google_tenant.key, token_uri=closed + "/token")))
    html = run_test(admin_client, django_capture_on_commit_callbacks)
    result = statuses(latest(org))
    assert result["token:" + SCOPE_CALENDAR] == ("fail", "google_unavailable")
    assert result["events_list"][0] == "skip"
    assert "Google unreachable" in html


def test_directory_check_when_import_enabled(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    org.directory_import_enabled = True
    org.save()
    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    run_test(admin_client, django_capture_on_commit_callbacks, email="admin@acme.test")
    assert statuses(latest(org))["directory_user"] == ("pass", "")
    assert latest(org).ok
    html = run_test(admin_client, django_capture_on_commit_callbacks, email="ana@acme.test")
    assert statuses(latest(org))["directory_user"] == ("fail", "not_authorized")
    assert "Not authorized by Google" in html


# --- progress and polling ---------------------------------------------------------------------------------------
def test_panel_polls_while_queued_then_stops(admin_client, org, google_tenant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(reverse("onboarding_test_start"), {"test_email": "ana@acme.test"})
    test = latest(org)
    org.refresh_from_db()
    assert test.state == ConnectionTest.State.QUEUED and org.setup_state == Organization.SetupState.TESTING
    panel_url = reverse("onboarding_test_panel", args=[test.pk])
    queued = admin_client.get(panel_url).content.decode()
    assert 'hx-trigger="every 1s"' in queued and '<progress' in queued and "Queued" in queued
    for callback in callbacks:
        callback()
    done = admin_client.get(panel_url).content.decode()
    assert "hx-trigger" not in done and "Google Workspace is connected" in done


def test_other_orgs_test_panel_is_404(admin_client, make_org, google_tenant):
    other_org, _ = make_org("Globex")
    other = ConnectionTest.objects.create(organization=other_org, test_email="x@globex.test")
    assert admin_client.get(reverse("onboarding_test_panel", args=[other.pk])).status_code == 404


# --- own key ----------------------------------------------------------------------------------------------------
def _upload(client, content, name="key.json"):
    return client.post(reverse("onboarding_key_upload"), {"key_file": SimpleUploadedFile(name, content)})


@pytest.mark.parametrize("content, message", [
    (b"{not json", "is not valid JSON (line 1, column 2)"),
    (b'{"type": "authorized_user"}', "This is not a service-account key"),
    (b"", "The submitted file is empty."),
])
def test_upload_rejects_bad_files_precisely(admin_client, org, google, content, message):
    response = _upload(admin_client, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    org.refresh_from_db()
    assert not org.own_key_ciphertext


def test_upload_rejects_a_broken_private_key_without_echoing_it(admin_client, org, google):
    key = dict(google.key, private_key=google.key["private_key"][:200] + "\n-----END PRIVATE KEY-----\n")
    response = _upload(admin_client, json.dumps(key).encode())
    html = response.content.decode()
    assert response.status_code == 400
    assert "cannot be read as a PEM private key" in html
    assert google.key["private_key"][40:80] not in html and "BEGIN PRIVATE KEY" not in html
    missing = {k: v for k, v in google.key.items() if k != "client_email"}
    assert "The key file is missing: client_email." in _upload(admin_client, json.dumps(missing).encode()).content.decode()
    elsewhere = dict(google.key, token_uri="http://169.254.169.254/token")
    assert "must be Google&#x27;s token endpoint" in _upload(admin_client, json.dumps(elsewhere).encode()).content.decode()
    bad_id = dict(google.key, client_id="abc")
    assert "must be the numeric client ID" in _upload(admin_client, json.dumps(bad_id).encode()).content.decode()


def test_own_key_upload_use_replace_and_remove(admin_client, org, google, django_capture_on_commit_callbacks):
    google.tenant("acme.test")
    google.user("ana@acme.test")
    own = google.service_account(project_id="acme-own")
    google.delegate("acme.test", own["client_id"], SCOPES_CORE)

    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(admin_client, json.dumps(own).encode()).status_code == 302
    org.refresh_from_db()
    blob = bytes(org.own_key_ciphertext)
    assert b"PRIVATE KEY" not in blob and own["client_email"].encode() not in blob
    assert (org.own_key_client_id, org.own_key_client_email, org.own_key_id) == (
        own["client_id"], own["client_email"], own["private_key_id"])
    assert org_service_account_key(org).client_id == own["client_id"]
    html = admin_client.get(reverse("onboarding")).content.decode()
    assert "own key is in use" in html and f'<code id="client-id">{own["client_id"]}</code>' in html
    assert own["private_key_id"] in html and "PRIVATE KEY" not in html

    run_test(admin_client, django_capture_on_commit_callbacks)
    assert latest(org).ok  # the own key's client is delegated, the deployment's is not

    second = google.add_key(own["client_id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert _upload(admin_client, json.dumps(second).encode()).status_code == 302
    org.refresh_from_db()
    assert org.own_key_id == second["private_key_id"]
    assert org.setup_state == Organization.SetupState.NOT_SET_UP

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(reverse("onboarding_key_remove")).status_code == 302
    org.refresh_from_db()
    assert not org.own_key_ciphertext and not org.own_key_id
    assert org_service_account_key(org).client_id == google.client_id
    html = admin_client.get(reverse("onboarding")).content.decode()
    assert "The deployment's key is in use." in html
    actions = set(AuditEvent.objects.filter(organization=org).values_list("action", flat=True))
    assert {"google.own_key.uploaded", "google.own_key.replaced", "google.own_key.removed"} <= actions
    assert "PRIVATE KEY" not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))


# --- permissions ------------------------------------------------------------------------------------------------
def test_readonly_admin_sees_but_cannot_change(client, org, readonly_admin, google):
    client.force_login(readonly_admin)
    page = client.get(reverse("onboarding"))
    assert page.status_code == 200 and google.client_id in page.content.decode()
    assert "read-only admin" in page.content.decode()
    for name in ("onboarding_settings", "onboarding_key_upload", "onboarding_key_remove", "onboarding_test_start"):
        assert client.post(reverse(name), {"test_email": "ana@acme.test"}).status_code == 403
    assert not ConnectionTest.objects.exists()


def test_plain_user_cannot_open_the_page(client, plain_user, google):
    client.force_login(plain_user)
    assert client.get(reverse("onboarding")).status_code == 403
