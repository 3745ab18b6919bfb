"""Shared steps of the browser tests."""

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def sign_in(page, live_server, email, *, lands_on=None, next_path=None):
    """Sign in through the real form; when ``lands_on`` is given, wait until the browser is there."""
    query = f"?next={next_path}" if next_path else ""
    page.goto(live_server.url + "/accounts/login/" + query)
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if lands_on:
        expect(page).to_have_url(live_server.url + lands_on)
