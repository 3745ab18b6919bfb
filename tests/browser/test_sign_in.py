import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_signs_in_and_sees_dashboard(page, live_server, admin_user):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email or username").fill("admin@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/dashboard/")
    expect(page.get_by_role("heading", name="Acme")).to_be_visible()
    expect(page.locator("#setup-state")).to_have_text("Not set up")
    page.screenshot(path="screenshots/dashboard.png", full_page=True)
