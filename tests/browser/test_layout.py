"""Every page fits a phone and a tablet without horizontal scrolling, and renders under a strict CSP."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in
from tests.browser.tour import ANONYMOUS_PAGES, pages, seed_everything, visit
from tests.calendar_sync.workspaces.conftest import (  # noqa: F401 - fixtures
    active_room,
    rooms_google,
    workspaces_on,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}

STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'"

# The page's width, and what sticks out past the viewport (leaf elements, then text) to say what to fix.
MEASURE = """() => {
  const limit = window.innerWidth;
  const wide = [];
  const describe = (el) => {
    const id = el.id ? "#" + el.id : "";
    const cls = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return el.tagName.toLowerCase() + id + cls;
  };
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > limit + 1 && !el.querySelector("*:not(br)")) wide.push(`${describe(el)} → ${Math.round(r.right)}px`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode() && wide.length < 10) {
    range.selectNodeContents(walker.currentNode);
    const r = range.getBoundingClientRect();
    if (r.width && r.right > limit + 1) {
      wide.push(`text "${walker.currentNode.textContent.trim().slice(0, 30)}" in ${describe(walker.currentNode.parentElement)} → ${Math.round(r.right)}px`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: limit, wide: wide.slice(0, 6)};
}"""


# In the meetings list, each row's parts (time, title, provider, Join) must not touch or run into each other.
OVERLAPS = """() => {
  // What a part really paints: its text, cut where an ancestor clips (ellipsis), and its images and buttons.
  const box = (el) => {
    if (!el) return null;
    let left = Infinity, right = -Infinity, top = Infinity, bottom = -Infinity;
    const add = (r, node) => {
      for (let p = node; p && p !== el.parentElement; p = p.parentElement) {
        if (p.nodeType === 1 && getComputedStyle(p).overflowX !== "visible") {
          const c = p.getBoundingClientRect();
          r = {left: Math.max(r.left, c.left), right: Math.min(r.right, c.right), top: r.top, bottom: r.bottom};
        }
      }
      if (r.right <= r.left) return;
      left = Math.min(left, r.left); right = Math.max(right, r.right);
      top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
    };
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    while (walker.nextNode()) {
      if (!walker.currentNode.textContent.trim()) continue;
      range.selectNodeContents(walker.currentNode);
      add(range.getBoundingClientRect(), walker.currentNode.parentElement);
    }
    el.querySelectorAll("img, button").forEach((e) => add(e.getBoundingClientRect(), e));
    return right > left ? {left, right, top, bottom} : null;
  };
  const clash = [];
  for (const row of document.querySelectorAll("li.mtg")) {
    const parts = [".mtg-time", ".mtg-main", ".mtg-provider", ".mtg-action"].map((s) => [s, box(row.querySelector(s))]);
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
      const [na, a] = parts[i], [nb, b] = parts[j];
      const gap = 4;  // side by side, at least this far apart
      if (a && b && a.left < b.right + gap && b.left < a.right + gap && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
        clash.push(`${row.dataset.title.slice(0, 30)}: ${na} runs into ${nb}`);
      }
    }
  }
  return clash.slice(0, 5);
}"""


def with_strict_csp(context, live_server):
    """Serve the app with the Content-Security-Policy it will get in production, and record violations."""

    def add_header(route):
        # Only pages need the header. Streams (live updates) never end, so route.fetch must not wait for them;
        # uploads are not re-sent faithfully by route.fetch, and POSTs answer with a redirect to a page anyway.
        if route.request.resource_type != "document" or route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    context.route(live_server.url + "/**", add_header)
    context.add_init_script("""window.__cspViolations = [];
      document.addEventListener("securitypolicyviolation", (e) =>
        window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI || "inline"} ${e.sourceFile}:${e.lineNumber}`));""")


def measure(page):
    return page.evaluate(MEASURE)


@pytest.fixture(params=[PHONE, TABLET], ids=["phone-390", "tablet-768"])
def sized_page(request, browser, live_server):
    # Not is_mobile: Chromium's mobile emulation zooms out to fit wide content, which hides the overflow.
    context = browser.new_context(viewport=request.param, locale="en-US", has_touch=request.param is PHONE)
    with_strict_csp(context, live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.unroute_all(behavior="ignoreErrors")
    context.close()


def test_every_page_fits_the_screen_without_horizontal_scrolling(sized_page, live_server, org, admin_user,
                                                                  active_room):  # noqa: F811 - the fixture
    page = sized_page
    seeded = seed_everything(org, admin_user, room=active_room)
    overflowing, overlapping, violations = [], [], []

    def check(name):
        m = measure(page)
        if m["scroll"] > m["inner"]:
            overflowing.append(f"{name}: {m['scroll']}px > {m['inner']}px ({'; '.join(m['wide'])})")
        overlapping.extend(f"{name}: {clash}" for clash in page.evaluate(OVERLAPS))
        found = page.evaluate("window.__cspViolations")
        if found:
            violations.append(f"{name}: {found}")

    for name, path, ready in ANONYMOUS_PAGES:
        visit(page, live_server, path, ready)
        check(name)
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    for name, path, ready in pages(seeded):
        visit(page, live_server, path, ready)
        check(name)
    # A new device token is shown once, in full.
    visit(page, live_server, "/device-tokens/", "#token-form")
    page.get_by_label("Name").fill("Lobby screen")
    page.get_by_label("Calendar of").select_option(label=f"Uma Park-Lindqvist <{admin_user.email}>")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.wait_for_load_state()  # its stylesheet too, before measuring
    check("device token created")

    assert not overflowing, "pages wider than the screen:\n" + "\n".join(overflowing)
    assert not overlapping, "parts of a row drawn over each other:\n" + "\n".join(overlapping)
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def test_phone_menu_opens_and_reaches_every_section(page, browser, live_server, org, admin_user):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    nav = page.get_by_role("navigation", name="Main navigation")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="People")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name="People").click()
    expect(page).to_have_url(live_server.url + "/people/")
    expect(page.get_by_role("link", name="People")).to_be_hidden()  # closed again on the new page
    # Keyboard: the skip link comes first, then the brand, then the menu button.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()
    expect(menu).to_be_focused()
    assert measure(page)["scroll"] <= PHONE["width"]


def test_page_behaviour_works_under_a_strict_csp(browser, live_server, org, admin_user, google):
    """What used to be inline handlers (select all, confirm, submit on change) now lives in app.js."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    with_strict_csp(context, live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        seed_everything(org, admin_user)
        sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
        page.goto(live_server.url + "/people/")
        boxes = page.locator("#people-table tbody input[type=checkbox]")
        page.get_by_label("Select all on this page").check()
        assert boxes.count() > 10
        assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
        page.get_by_label("Select all on this page").uncheck()
        assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
        boxes.nth(0).check()
        expect(page.get_by_label("Select all on this page")).to_have_js_property("indeterminate", True)

        # Submitting the language form on change, and the confirmation of the dangerous key removal.
        page.get_by_label("Language", exact=True).select_option("fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.wait_for_load_state()  # app.js (deferred) listens for the change only once the page has loaded
        page.get_by_label("Langue", exact=True).select_option("en")
        expect(page.locator("html")).to_have_attribute("lang", "en")

        # Removing the organization's own key asks first; dismissing keeps it.
        page.goto(live_server.url + "/onboarding/")
        page.get_by_label("Service-account key (JSON)").set_input_files(str(google.key_file))
        page.get_by_role("button", name="Upload own key").click()
        expect(page.get_by_text("Your organization's own key is in use.")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.get_by_role("button", name="Remove own key").click()
        expect(page.get_by_text("Your organization's own key is in use.")).to_be_visible()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Remove own key").click()
        expect(page.get_by_text("The deployment's key is in use.")).to_be_visible()

        page.goto(live_server.url + "/meetings/")
        page.select_option("#tz-select", "Asia/Seoul")
        expect(page.locator("#tz-label")).to_have_text("Asia/Seoul")
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.unroute_all(behavior="ignoreErrors")
        context.close()
