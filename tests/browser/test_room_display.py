"""The room display in a real Chromium: layouts at 1920x1080 and tablet sizes, Join timing, Book now, the
race of two displays, End early, check-in and release, live updates, and a display cut off from the state URL.
(The server really stopped and started again: test_room_display_offline.py.)"""
# ruff: noqa: F811 - the workspaces fixtures are imported by name, then used as test parameters

import datetime as dt
import json
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calendar_sync.sync.sources import source_run
from calendar_sync.workspaces import booking, displays, views
from calendar_sync.workspaces.models import Room
from tests.browser.helpers import zone_where_it_is_morning
from tests.calendar_sync.conftest import event_at, iso
from tests.calendar_sync.workspaces.conftest import (  # noqa: F401 - fixtures
    ROOM_A,
    active_room,
    rooms_google,
    workspaces_on,
)
from tests.conftest import wait_until

try:  # the suite's axe-core helper (checks each layout for serious accessibility violations)
    from tests.browser.axe import axe_violations, describe, install_axe
except ImportError:  # pragma: no cover - a checkout without the vendored axe-core
    axe_violations = describe = install_axe = None

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WEBEX = "https://acme.webex.com/meet/design"
JITSI = "https://meet.jit.si/AcmeRetroRoomA42"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"  # var/ is not in git


@pytest.fixture(autouse=True)
def quick_poll(monkeypatch):
    monkeypatch.setattr(views, "POLL_SECONDS", 1)


@pytest.fixture
def display_url(active_room, live_server):
    Room.objects.filter(pk=active_room.pk).update(time_zone=zone_where_it_is_morning())
    active_room.refresh_from_db()
    _, raw = displays.display_create(room=active_room, name="Door")
    return live_server.url + f"/rooms/{raw}/"


@pytest.fixture
def kiosk(browser):
    """A context that refuses every address outside the test server (the Join target opens in a new tab)."""
    contexts = []

    def make(width=1280, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        context.route("https://**/*", lambda route: route.abort())
        if install_axe is not None:
            install_axe(context)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        context.close()


def invite(google, organizer, title, start, minutes=60, **extra):
    body = event_at(title, start, minutes, attendees=[{"email": organizer}, {"email": ROOM_A, "resource": True}],
                    **extra)
    return google.create_event(organizer, body)


def minute(delta_minutes=0):
    return timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=delta_minutes)


def sync(room):
    """A sync run of ours (a push-triggered one may hold the lease meanwhile), then free/busy."""
    wait_until(lambda: source_run(source_id=room.source_id) is not None, timeout=20, message="a room sync run")
    booking.room_freebusy_refresh(room_id=room.pk)



def assert_fits_one_screen(page, name):
    """The display shows everything without scrolling, and no button is cut off by its panel."""
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1"), name
    cut = page.evaluate("""() => [...document.querySelectorAll('.rd button')].filter((b) => b.offsetParent)
        .filter((b) => { const p = b.closest('section, footer').getBoundingClientRect(),
                               r = b.getBoundingClientRect();
                         return r.bottom > p.bottom + 1 || r.right > p.right + 1; })
        .map((b) => b.textContent)""")
    assert not cut, f"{name}: buttons outside their panel: {cut}"


def assert_no_serious_violations(page, name):
    if axe_violations is not None:
        violations = axe_violations(page)
        assert not violations, "\n".join(describe(name, violations))

def test_layouts_at_1920x1080_and_tablets(kiosk, display_url, active_room, rooms_google):
    invite(rooms_google, "ana@acme.test", "Design review with a rather long title for the whole team", minute(-10),
           location=WEBEX)
    invite(rooms_google, "bo@acme.test", "Board prep", minute(80), 30, visibility="private")
    invite(rooms_google, "ana@acme.test", "Retro", minute(150), 45, location=JITSI)
    invite(rooms_google, "bo@acme.test", "Quarterly numbers with finance", minute(210), 30)
    invite(rooms_google, "ana@acme.test", "Interview", minute(250), 60)
    sync(active_room)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in {"1920x1080": (1920, 1080), "1024x768": (1024, 768),
                                  "820x1180": (820, 1180)}.items():
        page = kiosk(width, height)
        page.goto(display_url)
        expect(page.locator("#rd-status")).to_have_class("rd-status busy")
        expect(page.locator("#rd-current .rd-title")).to_have_text(
            "Design review with a rather long title for the whole team")
        expect(page.locator("#rd-upcoming .rd-title")).to_have_text("Private")  # private: never its title
        expect(page.locator("#rd-agenda li")).to_have_count(5)
        shown = page.locator("#rd-agenda li:not([hidden])").count()
        if shown < 5:  # a row that does not fit is left out whole, and counted
            expect(page.locator("#rd-more")).to_have_text(f"+{5 - shown} more")
        else:
            expect(page.locator("#rd-more")).to_be_hidden()
        join = page.locator("#rd-current .rd-join")
        expect(join).to_be_enabled()
        # Each service by the name and icon the meetings list gives it.
        expect(join.locator(".rd-provider-name")).to_have_text("Webex")
        expect(join.locator(".rd-provider-icon")).to_have_attribute("src", "/static/img/provider-webex.svg")
        expect(join).to_have_accessible_name("Join Webex")
        retro = page.locator("#rd-agenda li", has_text="Retro")
        expect(retro.locator(".rd-provider-name")).to_have_text("Jitsi Meet")
        expect(retro.locator(".rd-provider-icon")).to_have_attribute("src", "/static/img/provider-jitsi.svg")
        expect(page.locator("#rd-agenda li", has_text="Interview").locator(".rd-provider")).to_have_count(0)
        page.wait_for_function("() => [...document.images].every((i) => i.complete && i.naturalWidth)")  # icons
        page.screenshot(path=str(SCREENSHOTS / f"room_display_{name}.png"))
        fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{name}: wider than the screen"
        # Tablets and screens show everything without scrolling, no button cut off by its panel.
        assert_fits_one_screen(page, name)
        clipped = page.evaluate("""() => [...document.querySelectorAll('.rd p, .rd button, .rd li span')]
            .filter((e) => e.offsetParent && (e.scrollWidth > e.clientWidth + 1)).map((e) => e.textContent)""")
        assert not clipped, f"{name}: text cut off: {clipped}"
        assert page.locator("a").count() == 0  # kiosk: no links out
        assert page.evaluate("() => getComputedStyle(document.body).userSelect") == "none"
        assert_no_serious_violations(page, name)


def test_layouts_of_a_free_room_with_book_now(kiosk, display_url, active_room, rooms_google):
    invite(rooms_google, "ana@acme.test", "Weekly sync of the platform and the mobile teams", minute(75),
           location=JITSI)
    sync(active_room)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in {"1920x1080": (1920, 1080), "1024x768": (1024, 768),
                                  "820x1180": (820, 1180)}.items():
        page = kiosk(width, height)
        page.goto(display_url)
        expect(page.locator("#rd-status-word")).to_have_text("Free")
        expect(page.locator("#rd-book .rd-book-length")).to_have_count(3)  # 15, 30, 60 min before the next one
        expect(page.locator("#rd-upcoming .rd-join .rd-provider-name")).to_have_text("Jitsi Meet")
        page.wait_for_function("() => [...document.images].every((i) => i.complete && i.naturalWidth)")  # icons
        page.screenshot(path=str(SCREENSHOTS / f"room_display_free_{name}.png"))
        assert_fits_one_screen(page, name)
        assert_no_serious_violations(page, name)


def test_join_lights_five_minutes_before_the_start_until_the_end(kiosk, display_url, active_room, rooms_google):
    start = minute(20)
    invite(rooms_google, "ana@acme.test", "Customer call", start, 30, location=WEBEX)
    sync(active_room)
    page = kiosk()
    page.clock.install(time=start - dt.timedelta(minutes=10))
    page.goto(display_url)
    join = page.locator("#rd-upcoming .rd-join")
    expect(join).to_be_disabled()
    expect(page.locator("#rd-status")).to_have_class("rd-status free")
    page.clock.fast_forward("04:50")  # T-5:10
    expect(join).to_be_disabled()
    page.clock.fast_forward("00:15")  # T-4:55
    expect(join).to_be_enabled()
    join.click()
    assert page.evaluate("() => window.roomDisplay.lastJoin") == WEBEX
    page.clock.fast_forward("05:00")  # started: now the current meeting, busy until its end
    expect(page.locator("#rd-current .rd-join")).to_be_enabled()
    expect(page.locator("#rd-status-word")).to_have_text("Busy")
    end = (start + dt.timedelta(minutes=30)).astimezone(ZoneInfo(active_room.time_zone))  # in the room's zone
    expect(page.locator("#rd-status-until")).to_have_text(f"until {end:%H:%M}")
    page.clock.fast_forward("30:00")  # ended
    expect(page.locator("#rd-current .rd-join")).to_have_count(0)
    expect(page.locator("#rd-status-word")).to_have_text("Free")


def test_book_now_then_end_early(kiosk, display_url, active_room, rooms_google):
    booking.room_freebusy_refresh(room_id=active_room.pk)
    page = kiosk()
    page.goto(display_url)
    expect(page.locator("#rd-status-word")).to_have_text("Free")
    page.get_by_role("button", name="30 min").click()
    expect(page.locator("#rd-status-word")).to_have_text("Busy")
    expect(page.locator("#rd-current .rd-organizer")).to_have_text("Booked at this display", timeout=15_000)
    live = [e for e in rooms_google.events(ROOM_A)["items"] if e.get("status") != "cancelled"]
    assert len(live) == 1 and live[0]["attendees"][0]["responseStatus"] == "accepted"
    page.screenshot(path="/tmp/room_display_booked.png")
    page.get_by_role("button", name="End now").click()
    expect(page.locator("#rd-status-word")).to_have_text("Free", timeout=15_000)
    live = [e for e in rooms_google.events(ROOM_A)["items"] if e.get("status") != "cancelled"]
    assert live == []


def test_two_displays_booking_the_same_slot(kiosk, live_server, active_room, rooms_google):
    booking.room_freebusy_refresh(room_id=active_room.pk)
    pages = []
    for name in ("North door", "South door"):
        _, raw = displays.display_create(room=active_room, name=name)
        page = kiosk()
        page.goto(live_server.url + f"/rooms/{raw}/")
        expect(page.get_by_role("button", name="30 min")).to_be_visible()
        pages.append(page)
    # Both pressed before either answer comes back.
    for page in pages:
        page.evaluate("() => document.querySelector('.rd-book-length[data-minutes=\"30\"]').click()")
    messages = []
    for page in pages:
        expect(page.locator("#rd-status-word")).to_have_text("Busy", timeout=15_000)
        expect(page.locator("#rd-message")).not_to_have_text("One moment…", timeout=15_000)
        messages.append(page.locator("#rd-message").inner_text())
    assert sum("Booked until" in m for m in messages) == 1, messages
    assert sum(("already booked" in m) or ("Another display" in m) for m in messages) == 1, messages
    now = timezone.now()
    live = rooms_google.expanded(ROOM_A, iso(now - dt.timedelta(minutes=5)), iso(now + dt.timedelta(hours=1)))
    assert len(live["items"]) == 1


def test_check_in_and_release_of_a_no_show(kiosk, display_url, active_room, rooms_google):
    Room.objects.filter(pk=active_room.pk).update(checkin_required=True, release_minutes=10)
    ghost = invite(rooms_google, "ana@acme.test", "Nobody came", minute(-11), 40)
    sync(active_room)
    page = kiosk()
    page.goto(display_url)
    expect(page.locator("#rd-status-word")).to_have_text("Busy")
    assert booking.rooms_release_due() == 1  # the periodic task
    expect(page.locator("#rd-status-word")).to_have_text("Free", timeout=10_000)
    expect(page.locator(f'#rd-agenda li[data-event="{ghost["id"]}"]')).to_contain_text("Released")
    event = rooms_google.call("GET", f"/_emulator/users/ana@acme.test/events/{ghost['id']}")
    assert next(a for a in event["attendees"] if a["email"] == ROOM_A)["responseStatus"] == "declined"

    invite(rooms_google, "bo@acme.test", "Stand-up", minute(-2), 15)
    sync(Room.objects.get(pk=active_room.pk))
    check_in = page.get_by_role("button", name="Check in")
    expect(check_in).to_be_visible(timeout=10_000)
    expect(page.locator("#rd-current .rd-hint")).to_contain_text("or the room is released")
    check_in.click()
    expect(page.locator("#rd-current .rd-hint")).to_have_text("Checked in", timeout=10_000)
    assert booking.rooms_release_due(now=timezone.now() + dt.timedelta(minutes=9)) == 0


def test_live_update_and_ten_minutes_without_the_server(kiosk, display_url, active_room, rooms_google):
    invite(rooms_google, "ana@acme.test", "Planning", minute(30), 30)
    sync(active_room)
    page = kiosk()
    page.goto(display_url)
    expect(page.locator("#rd-agenda li")).to_have_count(1)
    # A change in Google reaches the display by itself (push -> sync -> poll), within seconds.
    invite(rooms_google, "bo@acme.test", "Added in Google", minute(90), 30)
    expect(page.locator("#rd-agenda li")).to_have_count(2, timeout=10_000)

    page.clock.install()
    state_url = page.locator("#room-display").get_attribute("data-state-url")
    page.route(f"**{state_url}", lambda route: route.abort())
    page.clock.fast_forward("10:00")
    expect(page.locator("#rd-stale")).to_be_visible()
    expect(page.locator("#rd-stale")).to_contain_text("Offline: showing what was known at")
    expect(page.locator("#rd-agenda li")).to_have_count(2)  # the last data stays
    expect(page.locator("#rd-name")).to_have_text("Room A")
    page.screenshot(path="/tmp/room_display_offline.png")
    page.unroute(f"**{state_url}")
    page.clock.fast_forward("00:05")
    expect(page.locator("#rd-stale")).to_be_hidden()
    data = json.loads(page.evaluate("() => JSON.stringify(window.roomDisplay.data())"))
    assert data["room"]["name"] == "Room A"


def test_a_display_loads_a_new_release_by_itself(kiosk, display_url, active_room, rooms_google, monkeypatch):
    """A display never reloads for data; a deploy (the page's build changed) is the one reason, once."""
    from calendar_sync.workspaces import selectors

    page = kiosk()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.goto(display_url)
    expect(page.locator("#rd-name")).to_have_text("Room A")
    old = page.evaluate("() => window.roomDisplay.data().build")
    assert old == selectors.display_build()
    page.evaluate("() => { window.sameDocument = true; }")  # gone once the page reloads
    with page.expect_navigation(timeout=15_000):
        monkeypatch.setattr(selectors, "display_build", lambda: "release-2")
    expect(page.locator("#rd-name")).to_have_text("Room A")
    assert page.evaluate("() => window.roomDisplay.data().build") == "release-2"
    assert page.evaluate("() => window.sameDocument") is None
    for _ in range(2):  # polls answered under the new release: the page stays
        seen = page.evaluate("() => window.roomDisplay.lastUpdate()")
        wait_until(lambda seen=seen: page.evaluate("() => window.roomDisplay.lastUpdate()") > seen,
                   timeout=10, message="a poll answered")
    assert navigations == [display_url, display_url], navigations


def test_two_releases_behind_one_address_reload_a_display_once_not_in_a_loop(kiosk, display_url, active_room,
                                                                             rooms_google):
    """During a rolling deploy the state URL may keep answering from the other release: the display reloads once,
    then keeps showing what the polls bring instead of reloading on every answer."""
    page = kiosk()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    def other_release(route, request):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "if-none-match"}
        response = route.fetch(headers=headers)  # always a whole document: the other release's ETag differs
        doc = response.json()
        doc["build"] = "the-other-release"
        route.fulfill(response=response, json=doc)

    page.route("**/rooms/*/state", other_release)
    page.goto(display_url)
    deadline = time.monotonic() + 15
    while len(navigations) < 2:  # the reload (no evaluate meanwhile: the navigation would destroy its context)
        assert time.monotonic() < deadline, f"the display did not reload for the other release: {navigations}"
        page.wait_for_timeout(100)  # lets Playwright deliver the navigation event
    page.wait_for_load_state()
    page.wait_for_function("() => window.roomDisplay && window.roomDisplay.lastUpdate() > 0", timeout=10_000)
    expect(page.locator("#rd-name")).to_have_text("Room A")
    for _ in range(3):  # answered by the other release each time: the page stays and takes them
        seen = page.evaluate("() => window.roomDisplay.lastUpdate()")
        wait_until(lambda seen=seen: page.evaluate("() => window.roomDisplay.lastUpdate()") > seen,
                   timeout=10, message="a poll answered")
    assert page.evaluate("() => window.roomDisplay.data().build") == "the-other-release"
    assert navigations == [display_url, display_url], navigations


def test_admin_pages_fit_a_phone_and_pair_a_display(browser, live_server, workspaces_on, rooms_google, admin_user):
    from tests.browser.helpers import sign_in

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    if install_axe is not None:
        install_axe(context)
    page = context.new_page()
    try:
        sign_in(page, live_server, admin_user.email)
        page.goto(live_server.url + "/workspaces/import/")
        expect(page.locator("#directory-rooms tbody tr")).to_have_count(2)
        page.get_by_role("button", name="Import all").click()
        expect(page.locator("#rooms-table tbody tr")).to_have_count(2)
        pages = {"list": page.url}
        page.locator("#rooms-table a", has_text="Room A").click()
        expect(page.locator("#room-state")).to_have_text("Active")
        page.get_by_label("Display name").fill("Door tablet")
        page.get_by_role("button", name="Pair a display").click()
        expect(page.locator("#display-qr svg")).to_be_visible()
        page.screenshot(path="/tmp/workspaces_room_phone.png", full_page=True)
        pages["room"] = page.url
        pages["import"] = live_server.url + "/workspaces/import/"
        for name, url in pages.items():
            page.goto(url)
            fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
            assert fits, f"{name}: wider than a phone"
            if axe_violations is not None:
                violations = axe_violations(page)
                assert not violations, "\n".join(describe(name, violations))
    finally:
        context.close()
