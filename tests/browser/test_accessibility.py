"""axe-core on every page (zero serious or critical violations), a skip link, the keyboard and the focus ring."""

import pytest
from playwright.sync_api import expect

from tests.browser.axe import axe_violations, describe, install_axe
from tests.browser.helpers import sign_in
from tests.browser.tour import ANONYMOUS_PAGES, pages, seed_everything, visit
from tests.calendar_sync.workspaces.conftest import (  # noqa: F401 - fixtures
    active_room,
    rooms_google,
    workspaces_on,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=[{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def axe_page(request, browser):
    context = browser.new_context(viewport=request.param, locale="en-US")
    install_axe(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_every_page_has_no_serious_accessibility_violations(axe_page, live_server, org, admin_user,
                                                           active_room):  # noqa: F811 - the fixture
    page = axe_page
    seeded = seed_everything(org, admin_user, room=active_room)
    found = []
    for name, path, ready in ANONYMOUS_PAGES:
        visit(page, live_server, path, ready)
        found += describe(name, axe_violations(page))
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    for name, path, ready in pages(seeded):
        visit(page, live_server, path, ready)
        found += describe(name, axe_violations(page))
    if page.viewport_size["width"] < 800:
        # The phone's navigation, opened.
        page.get_by_role("button", name="Menu").click()
        expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()
        found += describe("navigation menu", axe_violations(page, include=".sidebar"))
    assert not found, "accessibility violations:\n" + "\n".join(found)


def test_skip_link_is_the_first_stop_and_moves_focus_to_the_content(page, live_server, org, admin_user):
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.goto(live_server.url + "/people/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the content, not the navigation
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_keyboard_focus_is_always_visible(page, live_server, org, admin_user):
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.goto(live_server.url + "/people/")
    seen = set()
    for _ in range(25):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
          const el = document.activeElement, s = getComputedStyle(el);
          return {tag: el.tagName, text: (el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 40),
                  outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2};
        }""")
        assert focused["outline"], f"no visible focus ring on {focused}"
        seen.add(focused["tag"])
    assert {"A", "SELECT", "BUTTON"} <= seen


def test_french_and_korean_pages_are_labelled_in_their_language(page, live_server, org, admin_user):
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    for code, skip_label, menu_label in (("fr", "Aller au contenu", "Menu"), ("ko", "본문으로 건너뛰기", "메뉴")):
        page.get_by_label({"fr": "Language", "ko": "Langue"}[code], exact=True).select_option(code)
        expect(page.locator("html")).to_have_attribute("lang", code)
        expect(page.get_by_role("link", name=skip_label)).to_have_attribute("href", "#content")
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.get_by_role("button", name=menu_label)).to_be_visible()
        page.set_viewport_size({"width": 1280, "height": 860})
