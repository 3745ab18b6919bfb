"""People pages in a real browser: errors explained, CSV dry run, bulk job progress, the user's own page."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from controlhub.people.models import Person, PersonHistory
from controlhub.tenancy.models import Domain
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(org):
    org.setup_state = "ready"
    org.save()
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.VERIFIED)
    return org


def test_people_list_person_error_and_bulk(page, live_server, ready, admin_user, google_tenant, tmp_path):
    now = timezone.now()
    Person.objects.bulk_create(
        Person(organization=ready, email=f"user{i:03d}@acme.test", name=f"User {i}", state_changed_at=now)
        for i in range(60)
    )
    bad = Person.objects.create(organization=ready, email="zed@acme.test", name="Zed", calendar_state="error",
                                error_code="scope_missing",
                                error_detail="Missing scope: https://www.googleapis.com/auth/gmail.settings.basic")
    PersonHistory.objects.create(person=bad, message="Service enabled", actor=admin_user)
    PersonHistory.objects.create(person=bad, message="Validation started", actor=admin_user)
    PersonHistory.objects.create(person=bad, message="Error: scope_missing", code="scope_missing")
    Person.objects.create(organization=ready, email="ana@acme.test", name="Ana Lima", calendar_state="activated",
                          google_locale="fr", google_time_zone="Europe/Paris")
    sign_in(page, live_server, "admin@acme.test")
    page.goto(live_server.url + "/people/")
    expect(page.locator("#activation-errors-banner")).to_contain_text("There is 1 user with activation errors.")
    expect(page.locator("#people-table tbody tr")).to_have_count(50)
    page.screenshot(path="screenshots/people.png", full_page=True)

    page.locator("#activation-errors-banner a").click()
    expect(page.locator("#people-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="zed@acme.test").click()
    expect(page.locator("#person-error")).to_contain_text("A required scope is not authorized")
    expect(page.locator("#person-error")).to_contain_text("gmail.settings.basic")
    page.screenshot(path="screenshots/person_error.png", full_page=True)

    # CSV dry run in the browser.
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("email,name\nnew1@acme.test,New One\nbroken,Bad\nx@other.test,=cmd\n")
    page.goto(live_server.url + "/people/")
    page.locator("#csv-upload input[type=file]").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check file (dry run)").click()
    expect(page.locator("#dry-run")).to_be_visible()
    expect(page.locator("#csv-issues")).to_contain_text("Not a valid email address.")
    expect(page.locator("#csv-issues")).to_contain_text("formula")
    page.screenshot(path="screenshots/people_csv_dry_run.png", full_page=True)
    assert not Person.objects.filter(email="new1@acme.test").exists()


def test_user_sees_why_not_activated(page, live_server, ready, plain_user):
    Person.objects.create(organization=ready, email="user@acme.test", user=plain_user, calendar_state="error",
                          error_code="not_a_calendar_user")
    sign_in(page, live_server, "user@acme.test")
    page.goto(live_server.url + "/me/")
    expect(page.locator("#me-why")).to_contain_text("No Google Calendar for this user")
    expect(page.locator("#me-why")).to_contain_text("What your admin must do")
    page.screenshot(path="screenshots/me_error.png", full_page=True)


def test_signin_link_page(page, live_server, db):
    page.goto(live_server.url + "/accounts/login/")
    page.locator("#signin-link").click()
    expect(page.get_by_role("heading", name="Email me a sign-in link")).to_be_visible()
    page.get_by_label("Your work email").fill("nobody@acme.test")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#link-sent")).to_contain_text("Check your email")
    page.screenshot(path="screenshots/signin_link_sent.png", full_page=True)
