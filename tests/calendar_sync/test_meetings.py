"""The meetings list page: who sees what, grouping by day in the user's time zone, empty states, queries."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_sync.meetings import selectors as sel
from calendar_sync.sync.joinlinks import find_join_target
from calendar_sync.sync.models import CalendarSource
from controlhub.people.models import Person
from controlhub.tenancy.models import AuditEvent
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """The ETag carries the current minute; pinned so a 304 check cannot straddle a minute boundary."""
    monkeypatch.setattr(sel, "etag_clock_bucket", lambda now: 0)


@pytest.fixture
def user_client(client, plain_user):
    client.force_login(plain_user)
    return client


@pytest.fixture
def me(org, plain_user):
    person = make_person(org, plain_user.email, user=plain_user, name="Uma User", google_time_zone="Europe/Paris",
                         ooo_checked_at=timezone.now())
    return make_source(person)


def test_lists_meetings_grouped_by_day_in_the_users_zone(user_client, me):
    paris = ZoneInfo("Europe/Paris")
    today = timezone.now().astimezone(paris).date()
    tomorrow = today + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 30, tzinfo=paris)
    make_meeting(me, title="Design review", start=start, minutes=45, join_url="https://acme.webex.com/meet/dr",
                 join_provider="webex")
    make_meeting(me, title="Offsite", all_day=True, start_date=tomorrow, end_date=tomorrow + timedelta(days=1))
    make_meeting(me, title="Old one", start=timezone.now() - timedelta(days=3))
    html = user_client.get(reverse("meetings")).content.decode()
    assert "Design review" in html and "09:30 – 10:15" in html
    assert html.index("Offsite") < html.index("Design review")  # all-day on top of its day
    assert "Old one" not in html
    assert 'alt="" width="20"' in html and "provider-webex.svg" in html
    assert "2 participants: Uma User, Guest Example" in html
    assert 'data-join-url="https://acme.webex.com/meet/dr"' in html
    past = user_client.get(reverse("meetings") + "?past=1").content.decode()
    assert "Old one" in past


def test_all_day_is_never_shifted(user_client, me):
    me.person.time_zone = "Pacific/Auckland"
    me.person.save()
    day = timezone.now().astimezone(ZoneInfo("Pacific/Auckland")).date() + timedelta(days=2)
    make_meeting(me, title="Holiday", all_day=True, start_date=day, end_date=day + timedelta(days=1))
    html = user_client.get(reverse("meetings")).content.decode()
    section = html[html.index(f'data-day="{day.isoformat()}"'):]
    assert "Holiday" in section[: section.find("</section>")]


def test_time_zone_selector_saves_the_override(user_client, me):
    response = user_client.post(reverse("meetings_time_zone"), {"time_zone": "Asia/Seoul"})
    assert response.status_code == 302
    me.person.refresh_from_db()
    assert me.person.time_zone == "Asia/Seoul" and me.person.effective_time_zone == "Asia/Seoul"
    [event] = AuditEvent.objects.filter(action="person.time_zone")
    assert event.detail == {"time_zone": "Asia/Seoul"} and event.target_id == str(me.person.pk)
    user_client.post(reverse("meetings_time_zone"), {"time_zone": "Mars/Olympus"})
    me.person.refresh_from_db()
    assert me.person.time_zone == "Asia/Seoul"
    html = user_client.get(reverse("meetings")).content.decode()
    assert '<option value="Asia/Seoul" selected>Asia/Seoul</option>' in html
    assert '<option value="America/Argentina/Buenos_Aires">America/Argentina/Buenos Aires</option>' in html
    select = html[html.index('<select id="tz-select"'):]
    assert select[:select.index("</select>")].count(" selected>") == 1


def test_person_matched_by_email_when_not_linked(org, user_client, plain_user):
    person = make_person(org, plain_user.email.upper(), ooo_checked_at=timezone.now())
    make_meeting(make_source(person), title="Found by email")
    assert "Found by email" in user_client.get(reverse("meetings")).content.decode()


def test_empty_state_not_activated_with_reason(org, user_client, plain_user):
    make_person(org, plain_user.email, user=plain_user, state=Person.CalendarState.ERROR,
                error_code="user_not_in_google")
    html = user_client.get(reverse("meetings")).content.decode()
    assert 'data-reason="not_activated"' in html
    assert "Not a user of your Google Workspace" in html and "primary email" in html


def test_empty_states_no_person_and_no_meetings(org, user_client, plain_user):
    assert 'data-reason="no_person"' in user_client.get(reverse("meetings")).content.decode()
    make_source(make_person(org, plain_user.email, user=plain_user, ooo_checked_at=timezone.now()))
    assert 'data-reason="no_meetings"' in user_client.get(reverse("meetings")).content.decode()


def test_stale_note(user_client, me):
    me.last_synced_at = timezone.now() - timedelta(hours=2)
    me.save()
    html = user_client.get(reverse("meetings")).content.decode()
    assert 'id="stale-note"' in html and "Stale since" in html
    me.last_synced_at = timezone.now()
    me.state = CalendarSource.State.FAILING
    me.save()
    assert "cannot reach your Google calendar" in user_client.get(reverse("meetings")).content.decode()


def test_cancelled_meetings_are_gone(user_client, me):
    make_meeting(me, title="Called off", status="cancelled")
    assert "Called off" not in user_client.get(reverse("meetings")).content.decode()


def test_other_orgs_meetings_never_show(make_org, user_client, me):
    other, _ = make_org("Globex")
    stranger = make_source(make_person(other, "x@globex.test"))
    make_meeting(stranger, title="Secret Globex plan")
    make_meeting(me, title="Mine")
    html = user_client.get(reverse("meetings")).content.decode()
    assert "Mine" in html and "Secret Globex plan" not in html


def test_partial_etag_304_and_change(user_client, me):
    make_meeting(me, title="First")
    url = reverse("meetings_partial")
    first = user_client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and "First" in first.content.decode()
    assert user_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    make_meeting(me, title="Second")
    changed = user_client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Second" in changed.content.decode()


@pytest.mark.parametrize("count", [3, 60])
def test_constant_queries(user_client, me, django_assert_max_num_queries, count):
    for i in range(count):
        make_meeting(me, title=f"M{i}", start=timezone.now() + timedelta(hours=i + 1))
    # session, user, person with organization + source + membership, meetings.
    with django_assert_max_num_queries(4):
        response = user_client.get(reverse("meetings"))
    assert response.content.decode().count('<li class="mtg') == count
    with django_assert_max_num_queries(4):
        partial = user_client.get(reverse("meetings_partial"))
    assert partial.status_code == 200
    with django_assert_max_num_queries(3):  # no meetings query: the ETag comes from the person query
        assert user_client.get(reverse("meetings_partial"), HTTP_IF_NONE_MATCH=partial["ETag"]).status_code == 304


def test_presence_shown_from_vacation_and_calendar_ooo(user_client, me):
    person = me.person
    person.ooo_start = timezone.now() - timedelta(hours=1)
    person.ooo_end = timezone.now() + timedelta(days=2)
    person.ooo_source = "gmail"
    person.save()
    assert 'data-presence="out_of_office"' in user_client.get(reverse("meetings")).content.decode()
    person.ooo_start = person.ooo_end = None
    person.save()
    assert 'data-presence="out_of_office"' not in user_client.get(reverse("meetings")).content.decode()
    make_meeting(me, title="Away", event_type="outOfOffice", start=timezone.now() - timedelta(hours=1), minutes=600)
    assert 'data-presence="out_of_office"' in user_client.get(reverse("meetings")).content.decode()


def test_requires_sign_in(client):
    response = client.get(reverse("meetings"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_helpers_window_edges():
    from calendar_sync.meetings.selectors import window_for

    now = datetime(2025, 3, 30, 22, 30, tzinfo=UTC)  # already Monday 31st in Seoul
    w = window_for(time_zone="Asia/Seoul", now=now)
    assert w.today == date(2025, 3, 31) and w.start == datetime(2025, 3, 31, tzinfo=ZoneInfo("Asia/Seoul"))
    assert w.last_day == date(2025, 5, 1)


def _row(html, title):
    """The ``<li>`` of the row whose text contains ``title``."""
    end = html.index(title)
    start = html.rindex('<li class="mtg', 0, end)
    return html[start:html.index("</li>", end) + len("</li>")]


def test_hostile_calendar_text_is_escaped_in_the_html(user_client, me):
    title = '<script>alert("t")</script> & \'co\' {0} %s'
    organizer = 'Bo "the" <b>boss</b> & co'
    guest = "<img src=x onerror=alert(1)>"
    url = 'https://x.test/j?a=1&b="2"\'><script>alert(3)</script>'
    make_meeting(me, title=title, join_url=url, join_provider="other", organizer_email="bo@x.test",
                 attendees=[{"email": "bo@x.test", "name": organizer, "organizer": True, "resource": False},
                            {"email": "g@x.test", "name": guest, "organizer": False, "resource": False}])
    html = user_client.get(reverse("meetings")).content.decode()
    row = _row(html, "&lt;script&gt;alert(&quot;t&quot;)")
    assert "<script>" not in row and "<b>" not in row and "<img src=x" not in row
    title_html = "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; &#x27;co&#x27; {0} %s"
    assert f'data-title="{title_html}"' in row and f'title="{title_html}">{title_html}</div>' in row
    organizer_html = "Bo &quot;the&quot; &lt;b&gt;boss&lt;/b&gt; &amp; co"
    guest_html = "&lt;img src=x onerror=alert(1)&gt;"
    assert f'<span class="organizer">{organizer_html}</span>' in row
    assert (f'<span class="people" title="{organizer_html}, {guest_html}">2 participants: {organizer_html}, '
            f'{guest_html}</span>') in row
    assert ('data-join-url="https://x.test/j?a=1&amp;b=&quot;2&quot;&#x27;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"'
            in row)
    assert user_client.get(reverse("meetings_partial")).content.decode().count(title_html) == 3


def test_row_markup_is_what_the_page_script_reads(user_client, me):
    """static/js/meetings.js and the browser tests read these classes and data attributes."""
    paris = ZoneInfo("Europe/Paris")
    day = timezone.now().astimezone(paris).date() + timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 9, 30, tzinfo=paris)
    timed = make_meeting(me, title="Design review", start=start, minutes=45, join_provider="webex",
                         join_url="https://acme.webex.com/meet/dr")
    away = make_meeting(me, title="Away", all_day=True, start_date=day, end_date=day + timedelta(days=1),
                        event_type="outOfOffice", attendees=[])
    html = user_client.get(reverse("meetings")).content.decode()
    ms = int(start.timestamp() * 1000)
    assert _row(html, "Design review") == (
        f'<li class="mtg" data-id="{timed.pk}" data-start="{ms}" data-end="{ms + 45 * 60_000}" '
        'data-title="Design review"><div class="mtg-time"><span class="range">09:30 – 10:15</span>'
        '<span class="state"></span></div><div class="mtg-main"><div class="mtg-title" title="Design review">'
        'Design review</div><div class="mtg-meta"><span class="organizer">You organize</span><span class="sep">·'
        '</span><span class="people" title="Uma User, Guest Example">2 participants: Uma User, Guest Example'
        '</span></div></div><div class="mtg-provider"><img src="/static/img/provider-webex.svg" alt="" width="20" '
        'height="20"><span>Webex</span></div><div class="mtg-action"><button type="button" class="btn join" '
        f'data-join-url="https://acme.webex.com/meet/dr" data-join-from="{ms - 5 * 60_000}" disabled>Join</button>'
        '</div></li>'
    )
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=paris).timestamp() * 1000)
    after = day + timedelta(days=1)
    assert _row(html, "Away</div>") == (
        f'<li class="mtg allday ooo" data-id="{away.pk}" data-start="{midnight}" '
        f'data-end="{int(datetime(after.year, after.month, after.day, tzinfo=paris).timestamp() * 1000)}" '
        'data-title="Away"><div class="mtg-time"><span class="range">All day</span><span class="state"></span></div>'
        '<div class="mtg-main"><div class="mtg-title" title="Away"><span class="chip ooo">Out of office</span> Away'
        '</div><div class="mtg-meta"></div></div><div class="mtg-provider"></div><div class="mtg-action"></div></li>'
    )
    section = html[html.index(f'<section class="day" data-day="{day.isoformat()}">'):]
    assert section.startswith(f'<section class="day" data-day="{day.isoformat()}"><div class="day-head"><h2>')
    assert section.index(f'data-id="{away.pk}"') < section.index(f'data-id="{timed.pk}"') < section.index(
        "</ul></section>")


def test_provider_detected_by_joinlinks_shows_its_own_name_and_icon(user_client, me):
    for title, location in [("Standup", "https://whereby.com/acme-standup"), ("Room call", "sip:room4@acme.example"),
                            ("Dial in", "tel:+33123456789")]:
        target = find_join_target({"location": location})
        make_meeting(me, title=title, join_url=target.url, join_provider=target.provider)
    make_meeting(me, title="From a newer release", join_url="https://x.test/j", join_provider="retired-service")
    html = user_client.get(reverse("meetings")).content.decode()
    assert ('<img src="/static/img/provider-whereby.svg" alt="" width="20" height="20"><span>Whereby</span>'
            in _row(html, "Standup"))
    assert "provider-sip.svg" in _row(html, "Room call") and "<span>Video system (SIP)</span>" in _row(html, "Room call")
    assert "provider-tel.svg" in _row(html, "Dial in") and "<span>Phone</span>" in _row(html, "Dial in")
    unknown = _row(html, "From a newer release")
    assert "provider-other.svg" in unknown and "<span>Online meeting</span>" in unknown
    french = user_client.get(reverse("meetings"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "<span>Whereby</span>" in _row(french, "Standup")  # a brand stays as it is
    assert "<span>Système vidéo (SIP)</span>" in _row(french, "Room call")
    assert "<span>Téléphone</span>" in _row(french, "Dial in")
    assert "<span>Réunion en ligne</span>" in _row(french, "From a newer release")
    assert "<span>전화</span>" in _row(user_client.get(reverse("meetings"), HTTP_ACCEPT_LANGUAGE="ko").content.decode(),
                                      "Dial in")
