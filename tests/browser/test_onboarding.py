"""An admin connects Google Workspace in a real browser: copy the client ID and scopes, authorize them (the
emulator's delegation API stands in for Google Admin), run Test connection, reach Ready."""

import pytest
from playwright.sync_api import expect

from controlhub.tenancy.models import Domain
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def copy(page, target):
    button = page.locator(f'button[data-copy-target="{target}"]')
    button.click()
    expect(button).to_have_text("Copied")
    return page.evaluate("navigator.clipboard.readText()")


def test_admin_connects_google_workspace(page, live_server, admin_user, google):
    google.tenant("acme.test", "Acme")
    google.user("ana@acme.test", locale="fr", time_zone="Europe/Paris")
    # Test connection acts only inside the org's own tenant: the domain is verified first (the Domains step).
    Domain.objects.create(organization=admin_user.membership.organization, name="acme.test",
                          state=Domain.State.VERIFIED)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server, "admin@acme.test", lands_on="/dashboard/")

    page.get_by_role("navigation").get_by_role("link", name="Connect Google").click()
    expect(page.get_by_role("heading", name="Connect Google Workspace")).to_be_visible()
    client_id = copy(page, "#client-id")
    assert client_id == google.client_id
    scopes_line = copy(page, "#scopes-line")
    assert scopes_line == ("https://www.googleapis.com/auth/calendar,"
                           "https://www.googleapis.com/auth/gmail.settings.basic")

    # Before Google Admin is told anything, the test names the fault.
    page.get_by_label("Test account").fill("ana@acme.test")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-state")).to_have_text("Failing")
    expect(page.locator("#checklist")).to_contain_text("Client not authorized in Google Admin")
    expect(page.locator("#checklist")).to_contain_text("Test account is in your organization's Google Workspace")
    page.screenshot(path="screenshots/onboarding_failing.png", full_page=True)

    # The admin pastes what they copied into Google Admin → Manage domain-wide delegation → Add new.
    google.delegate("acme.test", client_id, scopes_line.split(","))
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-state")).to_have_text("Ready")
    expect(page.locator("#checklist li.pass")).to_have_count(7)  # key, tenant, 2 scopes, 3 reads
    expect(page.locator("#setup-state")).to_have_text("Ready")
    expect(page.get_by_text("Google Workspace is connected")).to_be_visible()
    page.screenshot(path="screenshots/onboarding_ready.png", full_page=True)

    page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#setup-state")).to_have_text("Ready")
