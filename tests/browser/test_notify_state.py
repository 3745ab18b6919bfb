""""Notify me before meetings" in a real browser: the button hides once the browser has answered, and the state
beside it says on, blocked or off."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.calendar_sync.test_meetings_support import make_person, make_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DENIED = "Object.defineProperty(Notification, 'permission', { get: () => 'denied' });"


@pytest.fixture
def me(org, plain_user):
    person = make_person(org, plain_user.email, user=plain_user, name="Uma Park", google_time_zone="Europe/Paris",
                         ooo_checked_at=timezone.now())
    return make_source(person)


@pytest.mark.parametrize("permission, button_visible, state, text", [
    ("default", True, "off", "Reminders off"),
    ("granted", False, "on", "Reminders on: 1 minute before each meeting"),
    ("denied", False, "blocked", "Reminders blocked: allow notifications for this site in the browser settings"),
])
def test_notify_button_and_its_state(page, live_server, me, plain_user, permission, button_visible, state, text):
    if permission == "granted":
        page.context.grant_permissions(["notifications"], origin=live_server.url)
    elif permission == "denied":
        page.add_init_script(DENIED)
    sign_in(page, live_server, plain_user.email, next_path="/meetings/", lands_on="/meetings/")
    status = page.locator("#notify-state")
    expect(status).to_have_text(text)
    expect(status).to_have_attribute("data-state", state)
    button = page.locator("#notify-btn")
    if button_visible:
        expect(button).to_be_visible()
    else:
        expect(button).to_be_hidden()
        assert page.evaluate("getComputedStyle(document.getElementById('notify-btn')).display") == "none"
