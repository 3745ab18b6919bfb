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
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct")
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

