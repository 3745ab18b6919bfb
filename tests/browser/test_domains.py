"""An admin adds a domain, publishes the TXT record (the emulator's DNS server on loopback), verifies it, then
opens the removal confirmation."""

import pytest
from playwright.sync_api import expect

from controlhub.people.models import Person
from controlhub.tenancy.models import Domain
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_verifies_a_domain(page, live_server, org, admin_user, google):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    Person.objects.create(organization=org, email="ana@acme.test", name="Ana",
                          calendar_state=Person.CalendarState.ACTIVATED)
    sign_in(page, live_server, "admin@acme.test", lands_on="/dashboard/")
    page.get_by_role("navigation").get_by_role("link", name="Domains").click()
    page.get_by_label("Domain").fill("192.168.0.1")
    page.get_by_role("button", name="Add domain").click()
    expect(page.locator("#domain-errors")).to_contain_text("An IP address is not a domain")

    page.get_by_label("Domain").fill("Acme.Test")
    page.get_by_role("button", name="Add domain").click()
    domain = Domain.objects.get(organization=org)
    card = page.locator(f"#domain-{domain.pk}")
    expect(card.locator(".badge")).to_have_text("Pending")
    card.locator("button[data-copy-target]").click()
    txt = page.evaluate("navigator.clipboard.readText()")
    assert txt == f"calendarhub-verification={domain.token}"

    card.get_by_role("button", name="Verify").click()
    expect(card.locator("[data-failure]")).to_contain_text("Domain not found in DNS")
    page.screenshot(path="screenshots/domains_failed.png", full_page=True)

    google.dns_txt("acme.test", [txt])
    card.get_by_role("button", name="Verify").click()
    expect(card.locator(".badge")).to_have_text("Verified")
    expect(page.get_by_text("acme.test is verified.")).to_be_visible()
    page.screenshot(path="screenshots/domains.png", full_page=True)

    card.get_by_role("link", name="Remove").click()
    expect(page.locator("#affected")).to_contain_text("ana@acme.test")
    page.screenshot(path="screenshots/domain_remove.png", full_page=True)
    page.get_by_role("button", name="Remove domain").click()
    expect(page.get_by_text("acme.test was removed.")).to_be_visible()
    assert not Domain.objects.exists()
