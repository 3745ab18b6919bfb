"""Shared steps of the browser tests."""

import datetime as dt

from django.utils import timezone
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


def zone_where_it_is_morning():
    """A fixed-offset zone where it is now 08:xx: the hours the tests place (up to about five ahead) then fall in
    the room's today, whatever time of day the suite runs."""
    offset = (8 - timezone.now().astimezone(dt.UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"  # (the Etc/GMT signs are POSIX's: GMT-9 is UTC+9)
