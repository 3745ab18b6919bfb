"""The meetings list in a real browser: times per zone, Join at T-5 min, live updates, keyword once."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calendar_sync.sync.models import Meeting
from tests.browser.helpers import sign_in
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = ZoneInfo("Europe/Paris")
SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def me(org, plain_user):
    person = make_person(org, plain_user.email, user=plain_user, name="Uma Park", google_time_zone="Europe/Paris",
                         ooo_checked_at=timezone.now())
    return make_source(person)


def local(day, hour, minute, zone):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def seed_week(sub):
    today = timezone.now().astimezone(PARIS).date()
    people = [
        {"email": sub.person.email, "name": "Uma Park", "response_status": "accepted", "organizer": True,
         "resource": False, "self": True},
        *({"email": f"{n.lower()}@acme.test", "name": f"{n} Martin", "response_status": "accepted",
           "organizer": False, "resource": False, "self": False} for n in ("Lea", "Hugo", "Chloé", "Min-jun", "Sara")),
        {"email": "room4@resource.calendar.google.com", "name": "Room 4", "response_status": "accepted",
         "organizer": False, "resource": True, "self": False},
    ]
    d1, d2, d3 = today + timedelta(days=1), today + timedelta(days=2), today + timedelta(days=4)
    make_meeting(sub, title="Product sync", start=local(d1, 9, 0, PARIS), minutes=45, attendees=people,
                 join_url="https://acme.webex.com/meet/product", join_provider="webex")
    make_meeting(sub, title="Customer demo — Globex", start=local(d1, 14, 30, PARIS), minutes=60,
                 attendees=[{**people[0], "organizer": False}, {**people[1], "organizer": True}, people[2]],
                 organizer_email="lea@acme.test", organizer_name="Lea Martin",
                 join_url="https://meet.google.com/abc-defg-hij", join_provider="meet")
    make_meeting(sub, title="Team offsite", all_day=True, start_date=d2, end_date=d2 + timedelta(days=1),
                 attendees=people)
    make_meeting(sub, title="Seoul partners weekly", start=local(d2, 17, 0, SEOUL), minutes=30, attendees=people,
                 join_url="https://acme.zoom.us/j/123456789", join_provider="zoom")
    make_meeting(sub, title="Vacation", all_day=True, start_date=d3, end_date=d3 + timedelta(days=2),
                 event_type="outOfOffice", attendees=[])
    make_meeting(sub, title="1:1 Uma / Hugo", start=local(d3 + timedelta(days=2), 11, 0, PARIS), minutes=30,
                 attendees=people[:2], join_url="https://teams.microsoft.com/l/meetup-join/19%3ameeting",
                 join_provider="teams")
    return today, d1, d2, d3


def row(page, title):
    return page.locator("li.mtg", has_text=title)


def test_week_in_paris_then_seoul(page, live_server, me, plain_user):
    now = timezone.now()
    make_meeting(me, title="Architecture review", start=now + timedelta(minutes=3), minutes=50,
                 attendees=None, join_url="https://acme.webex.com/meet/arch", join_provider="webex")
    today, d1, d2, d3 = seed_week(me)
    sign_in(page, live_server, plain_user.email, next_path="/meetings/", lands_on="/meetings/")
    expect(row(page, "Product sync").locator(".range")).to_have_text("09:00 – 09:45")
    expect(row(page, "Customer demo")).to_contain_text("14:30 – 15:30")
    seoul_local = local(d2, 17, 0, SEOUL).astimezone(PARIS)
    expect(row(page, "Seoul partners weekly").locator(".range")).to_have_text(
        f"{seoul_local:%H:%M} – {seoul_local + timedelta(minutes=30):%H:%M}")
    expect(row(page, "Product sync")).to_contain_text("6 participants: Uma Park, Lea Martin, Hugo Martin, Chloé Martin +2")
    offsite_day = page.locator(f'section[data-day="{d2.isoformat()}"]')
    expect(offsite_day.locator("li.mtg").first).to_contain_text("Team offsite")  # all-day on top
    expect(page.locator("section.day").first).to_have_attribute("data-day", today.isoformat())
    expect(page.locator(f'section[data-day="{d3.isoformat()}"] li.mtg.ooo')).to_contain_text("Vacation")
    expect(page.locator(f'section[data-day="{(d3 + timedelta(days=1)).isoformat()}"] li.mtg.ooo')).to_have_count(1)
    expect(row(page, "Architecture review").locator("button.join")).to_be_enabled()
    page.screenshot(path="screenshots/meetings.png", full_page=True)

    page.select_option("#tz-select", "Asia/Seoul")
    expect(page.locator("#tz-label")).to_have_text("Asia/Seoul")
    product = local(d1, 9, 0, PARIS).astimezone(SEOUL)
    expect(row(page, "Product sync").locator(".range")).to_have_text(
        f"{product:%H:%M} – {product + timedelta(minutes=45):%H:%M}")
    expect(row(page, "Seoul partners weekly").locator(".range")).to_have_text("17:00 – 17:30")
    # The all-day offsite stays on its date in every zone.
    expect(page.locator(f'section[data-day="{d2.isoformat()}"] li.mtg.allday').first).to_contain_text("Team offsite")


def test_join_turns_on_at_t_minus_5_and_notifies_at_t_minus_1(page, live_server, me, plain_user):
    start = (timezone.now() + timedelta(minutes=12)).replace(microsecond=0)
    make_meeting(me, title="Board call", start=start, minutes=30, join_url="https://acme.webex.com/meet/board",
                 join_provider="webex")
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.clock.install(time=start - timedelta(minutes=10))
    sign_in(page, live_server, plain_user.email, next_path="/meetings/", lands_on="/meetings/")
    join = row(page, "Board call").locator("button.join")
    expect(join).to_be_disabled()
    page.clock.fast_forward("04:50")  # T-5:10
    expect(join).to_be_disabled()
    page.clock.fast_forward("00:15")  # T-4:55
    expect(join).to_be_enabled()
    expect(row(page, "Board call")).to_have_class("mtg soon")
    assert page.evaluate("window.calendarHubMeetings.lastNotification") is None
    page.clock.fast_forward("04:00")  # T-0:55
    page.wait_for_function("window.calendarHubMeetings.lastNotification !== undefined")
    assert page.evaluate("window.calendarHubMeetings.lastNotification.url") == "https://acme.webex.com/meet/board"
    # localhost is a secure context: the reminder comes from the service worker, which gives it a Join action.
    assert page.evaluate("window.calendarHubMeetings.lastNotification.via") == "service-worker"
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r && r.scope)") == (
        live_server.url + "/")
    shown = page.evaluate("""navigator.serviceWorker.getRegistration().then((r) => r.getNotifications())
        .then((list) => list.map((n) => ({actions: n.actions.map((a) => a.action), url: n.data.url})))""")
    assert shown == [{"actions": ["join"], "url": "https://acme.webex.com/meet/board"}]
    page.clock.fast_forward("01:00")  # started
    expect(row(page, "Board call")).to_have_class("mtg live")
    page.context.route("https://acme.webex.com/**", lambda route: route.fulfill(body="joined", content_type="text/plain"))
    with page.context.expect_page() as popup:
        join.click()
    popup.value.wait_for_load_state()
    assert popup.value.url == "https://acme.webex.com/meet/board"
    page.clock.fast_forward("30:00")  # ended
    expect(join).to_be_disabled()


def test_calendar_change_appears_without_reload(page, live_server, me, plain_user):
    make_meeting(me, title="Existing meeting")
    page.clock.install(time=timezone.now())
    sign_in(page, live_server, plain_user.email, next_path="/meetings/", lands_on="/meetings/")
    expect(row(page, "Existing meeting")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    make_meeting(me, title="Just added by the sync", start=timezone.now() + timedelta(hours=3))
    assert Meeting.objects.filter(source=me).count() == 2
    # The WSGI test server has no live stream (tests/browser/test_live.py covers pushed updates): the page falls
    # back to polling every 30 s.
    page.clock.fast_forward("00:31")
    expect(row(page, "Just added by the sync")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True


def test_keyword_in_the_list_with_exactly_one_patch(page, live_server, org, plain_user, google_tenant):
    """@webex in Location → sync (patches once) → more syncs → the list shows the Webex Join link."""
    sync = pytest.importorskip("calendar_sync.sync.engine")
    from controlhub.tenancy.google_connection import org_gateway

    google = google_tenant
    google.user("user@acme.test", locale="en", time_zone="Europe/Paris")
    person = make_person(org, plain_user.email, user=plain_user, ooo_checked_at=timezone.now())
    sub = make_source(person)
    start = (timezone.now() + timedelta(hours=2)).replace(microsecond=0, second=0)
    google.create_event("user@acme.test", {"summary": "Kickoff", "location": "@webex",
                                           "start": {"dateTime": start.isoformat()},
                                           "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()}})
    since = google.requests()["next"]
    gw = org_gateway(org)
    for _ in range(3):
        sub.refresh_from_db()
        sync.calendar_sync_once(source=sub, gateway=gw)
    assert len([r for r in google.requests(since)["requests"] if r["method"] == "PATCH"]) == 1
    sign_in(page, live_server, plain_user.email, next_path="/meetings/", lands_on="/meetings/")
    kickoff = row(page, "Kickoff")
    expect(kickoff).to_contain_text("Webex")
    expect(kickoff.locator("button.join")).to_have_attribute(
        "data-join-url", __import__("re").compile(r"^https://calendarhub\.webex\.com/meet/\d{10}$"))
