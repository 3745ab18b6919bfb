"""The room display without its server, for real: the site served as in production (uvicorn), stopped under an open
display for ten minutes of the page's clock, then started again on the same address. The page stays (it never
reloads), shows the last meetings marked stale with the time of its last update, and recovers by itself with
what changed in Google meanwhile."""
# ruff: noqa: F811 - the workspaces fixtures are imported by name, then used as test parameters

import datetime as dt
import socket
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from calendar_sync.sync.sources import source_run
from calendar_sync.workspaces import booking, displays, views
from calendar_sync.workspaces.models import Room
from tests.asgi_server import AsgiServer
from tests.browser.helpers import zone_where_it_is_morning
from tests.calendar_sync.conftest import event_at
from tests.calendar_sync.workspaces.conftest import (  # noqa: F401 - fixtures
    ROOM_A,
    active_room,
    rooms_google,
    workspaces_on,
)
from tests.conftest import wait_until

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"  # var/ is not in git

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class SiteOnPort(AsgiServer):
    """The uvicorn test site on a port of our choosing, so that a stopped site can come back at the same URL."""

    def __init__(self, port=0):
        super().__init__()
        self.sock.close()
        self.sock = socket.socket()
        # The closed connections of a stopped run linger (TIME_WAIT); Linux lets a new socket take the port only
        # when it and theirs (inherited from the listening socket) all say SO_REUSEADDR.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"


@pytest.fixture
def site(transactional_db):
    """A site that the test stops and starts: ``site.stop()``, then ``site.start()`` serves the same URL again."""
    kept = {alias: connections.settings[alias].get("CONN_MAX_AGE") for alias in connections.settings}
    for alias in kept:
        connections.settings[alias]["CONN_MAX_AGE"] = 0

    class Handle:
        def __init__(self):
            self.server = SiteOnPort().start()
            self.url = self.server.url
            self.running = True

        def stop(self):
            self.server.stop()
            self.running = False

        def start(self):
            self.server = SiteOnPort(self.server.port).start()
            self.running = True

    handle = Handle()
    try:
        yield handle
    finally:
        if handle.running:
            handle.server.stop()
        for alias, value in kept.items():
            connections.settings[alias]["CONN_MAX_AGE"] = value


@pytest.fixture
def pushes_to_site(rooms_google, site, settings):
    """Google's pushes go to the site under test (asked for before the room, whose channel takes this address)."""
    settings.WEBHOOK_BASE_URL = site.url


@pytest.fixture(autouse=True)
def quick_poll(monkeypatch):
    monkeypatch.setattr(views, "POLL_SECONDS", 1)


def minute(delta_minutes=0):
    return timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=delta_minutes)


def invite(google, organizer, title, start, minutes=30):
    body = event_at(title, start, minutes, attendees=[{"email": organizer}, {"email": ROOM_A, "resource": True}])
    return google.create_event(organizer, body)


def sync(room):
    """A sync run (as the worker's periodic run of a due source does), then free/busy."""
    wait_until(lambda: source_run(source_id=room.source_id) is not None, timeout=20, message="a room sync run")
    booking.room_freebusy_refresh(room_id=room.pk)


def refused(url):
    try:
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1).close()
    except OSError:
        return True
    return False


def test_ten_minutes_without_the_server_then_it_recovers_by_itself(browser, site, pushes_to_site, active_room,
                                                                   rooms_google):
    # The meetings it places (up to an hour and a half ahead) stay in the room's today whatever time it is.
    Room.objects.filter(pk=active_room.pk).update(time_zone=zone_where_it_is_morning())
    active_room.refresh_from_db()
    invite(rooms_google, "ana@acme.test", "Planning", minute(30))
    sync(active_room)
    _, raw = displays.display_create(room=active_room, name="Door")

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        navigations = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
        page.clock.install()  # the page's timers and Date under the test's hand; time still flows by itself
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.goto(site.url + f"/rooms/{raw}/")
        expect(page.locator("#rd-agenda li")).to_have_count(1)
        expect(page.locator("#rd-agenda li")).to_contain_text("Planning")
        book = page.locator("#rd-book")
        expect(book).to_be_visible()
        page.evaluate("() => { window.sameDocument = true; }")  # gone if the page ever reloads
        first = page.evaluate("() => window.roomDisplay.lastUpdate()")
        wait_until(lambda: page.evaluate("() => window.roomDisplay.lastUpdate()") > first, message="a poll answered")

        site.stop()
        wait_until(lambda: refused(site.url), message="the site refusing connections")
        stopped_at = page.evaluate("() => Date.now()")
        last_update = page.evaluate("() => window.roomDisplay.lastUpdate()")
        assert last_update <= stopped_at
        # Meanwhile in Google: a new meeting (its push finds no server; Google retries it for a few seconds).
        invite(rooms_google, "bo@acme.test", "Added while offline", minute(90))

        page.clock.fast_forward("10:00")
        stale = page.locator("#rd-stale")
        expect(stale).to_be_visible()
        zone = ZoneInfo(page.evaluate("() => window.roomDisplay.data().time_zone"))
        known_at = dt.datetime.fromtimestamp(last_update / 1000, tz=zone)
        expect(stale).to_have_text(f"Offline: showing what was known at {known_at:%H:%M}")
        expect(page.locator("#room-display")).to_have_class("rd stale")
        expect(page.locator("#rd-name")).to_have_text("Room A")  # the last data stays
        expect(page.locator("#rd-agenda li")).to_have_count(1)
        expect(page.locator("#rd-agenda li")).to_contain_text("Planning")
        expect(page.locator("#rd-status-word")).to_have_text("Free")
        expect(book).to_be_hidden()  # booking needs the server: not offered while it is away
        assert page.evaluate("() => Date.now()") - stopped_at >= 10 * 60_000
        assert page.evaluate("() => window.roomDisplay.lastUpdate()") == last_update  # nothing came back
        page.screenshot(path=str(SCREENSHOTS / "room_display_offline.png"))

        site.start()
        sync(active_room)  # the room's periodic sync (or the push, if a retry got through) brings the change
        # No reload, no click: the page's own poll finds the server again.
        expect(stale).to_be_hidden(timeout=15_000)
        expect(page.locator("#room-display")).to_have_class("rd")
        expect(page.locator("#rd-agenda li")).to_have_count(2, timeout=15_000)
        expect(page.locator("#rd-agenda li").nth(1)).to_contain_text("Added while offline")
        expect(book).to_be_visible()
        assert page.evaluate("() => window.roomDisplay.lastUpdate()") > stopped_at
        assert page.evaluate("() => window.sameDocument") is True
        assert navigations == [site.url + f"/rooms/{raw}/"], navigations  # the first load only
    finally:
        context.close()
