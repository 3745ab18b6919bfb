"""A form that comes back with errors puts them where the user is looking: the focus goes to the field in error, or
to a summary at the top of the form (an alert) that links to each field in error."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_several_errors_get_a_focused_summary_that_links_to_each_field(page, live_server, org, admin_user):
    page.set_viewport_size({"width": 1280, "height": 600})  # the add form is below the fold
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.goto(live_server.url + "/people/")
    form = page.locator("#add-person")
    form.locator("#id_email").fill("not an address")
    form.locator("#id_time_zone").fill("Mars/Olympus_Mons")
    form.get_by_role("button", name="Add").click()

    summary = page.locator("#add-person .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text("Check these fields:")
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.first).to_contain_text("Email:")
    expect(links.nth(1)).to_contain_text("Time zone:")

    email = page.locator("#add-person #id_email")
    expect(email).to_have_attribute("aria-invalid", "true")
    described = email.get_attribute("aria-describedby").split()
    assert any(page.locator(f"[id='{ref}']").inner_text().strip() for ref in described if "error" in ref)
    links.nth(1).click()
    time_zone = page.locator("#add-person #id_time_zone")
    expect(time_zone).to_be_focused()
    expect(time_zone).to_be_in_viewport()


def test_one_error_puts_the_focus_in_its_field(page, live_server, org, admin_user):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.goto(live_server.url + "/domains/")
    page.get_by_label("Domain").fill("http://not a domain/")
    page.get_by_role("button", name="Add domain").click()
    field = page.get_by_label("Domain")
    expect(field).to_be_focused()
    expect(field).to_be_in_viewport()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".error-summary")).to_have_count(0)


def test_the_summary_speaks_the_users_language(page, live_server, org, admin_user):
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto(live_server.url + "/people/")
    form = page.locator("#add-person")
    form.locator("#id_email").fill("pas une adresse")
    form.locator("#id_time_zone").fill("Mars/Olympus_Mons")
    form.get_by_role("button", name="Ajouter").click()
    summary = page.locator("#add-person .error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Vérifiez ces champs :")
