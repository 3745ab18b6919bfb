"""Repeated wrong passwords in the real sign-in form: the lockout message a person sees, and the right password
refused too until the cool-off has passed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCKED = "Too many failed sign-in attempts. Try again in 15 minutes."


def submit(page, email, password):
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_wrong_passwords_lock_the_account_until_the_cool_off(page, live_server, admin_user):
    page.goto(live_server.url + "/accounts/login/")

    for _ in range(4):
        submit(page, "Admin@Acme.test", "not-my-password")
        expect(page.get_by_role("alert")).to_contain_text("The email (or username) and password do not match.")
    submit(page, "admin@acme.test", "still-not-it")
    expect(page.locator("#signin-lockout")).to_have_text(LOCKED)
    # The form keeps the address; the full-width button still has its style from static/css/auth.css.
    expect(page.get_by_label("Email or username")).to_have_value("admin@acme.test")
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate("b => getComputedStyle(b).justifyContent") == "center"
    page.screenshot(path="screenshots/sign_in_locked.png", full_page=True)

    # The right password is refused as well while the lockout lasts.
    submit(page, "admin@acme.test", PASSWORD)
    expect(page.locator("#signin-lockout")).to_have_text(LOCKED)
    expect(page).to_have_url(live_server.url + "/accounts/login/")

    # Twelve minutes on, the page says three are left; after the cool-off the right password works.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=12))
    submit(page, "admin@acme.test", PASSWORD)
    expect(page.locator("#signin-lockout")).to_have_text("Too many failed sign-in attempts. Try again in 3 minutes.")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=5))
    submit(page, "admin@acme.test", PASSWORD)
    expect(page).to_have_url(live_server.url + "/dashboard/")


def test_sign_in_pages_render_under_the_policy(page, live_server, db):
    """Nothing on the sign-in pages is blocked by the Content-Security-Policy the server sends."""
    page.add_init_script("""window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));""")
    for path in ("/accounts/login/", "/accounts/link/", "/accounts/link/s/MQ/bad-token/"):
        response = page.goto(live_server.url + path)
        assert "style-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        # Violation events are queued tasks: let the queue run once more before reading them.
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)))")
        assert page.evaluate("window.__cspViolations") == [], path
    page.goto(live_server.url + "/accounts/link/")
    page.get_by_role("textbox").fill("nobody@acme.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#link-sent")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
