"""Cost guarantees of the meetings page and API (query counts, never timings), the fast paths' correctness (ETag
agreement, truncation, escaping, decryption checks) and the reminder service worker."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_sync.encryption.crypto import DataCipher, DecryptionError
from calendar_sync.meetings import presenters
from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.sync.meeting_fields import TABLE, cipher_for_writes, row_key
from controlhub.people.calendar import person_calendar_source, person_calendar_start
from tests.calendar_sync.test_meetings_support import make_meeting, make_person, make_source

pytestmark = pytest.mark.django_db
API = "/api/v1/meetings"
_real_clock_bucket = sel.etag_clock_bucket


@pytest.fixture(autouse=True)
def one_minute(monkeypatch):
    """The ETag carries the current minute; pinned so a 304 check cannot straddle a minute boundary."""
    monkeypatch.setattr(sel, "etag_clock_bucket", lambda now: 0)


@pytest.fixture
def me(org, plain_user):
    person = make_person(org, plain_user.email, user=plain_user, name="Uma User", google_time_zone="Europe/Paris",
                         ooo_checked_at=timezone.now())
    return make_source(person)


@pytest.fixture
def user_client(client, plain_user):
    client.force_login(plain_user)
    return client


@pytest.fixture
def bearer(org, me):
    raw = device_token_create(organization=org, source=person_calendar_source(person=me.person, active=False), name="Display")[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def seed(sub, count):
    for i in range(count):
        make_meeting(sub, title=f"M{i}", start=timezone.now() + timedelta(hours=i + 1))


@pytest.mark.parametrize("count", [3, 40])
def test_page_and_partial_queries(user_client, me, count, django_assert_max_num_queries):
    seed(me, count)
    # session, user, person (+ organization, source, membership), meetings
    with django_assert_max_num_queries(4):
        page = user_client.get(reverse("meetings"))
    assert page.content.decode().count('<li class="mtg') == count
    with django_assert_max_num_queries(4):
        partial = user_client.get(reverse("meetings_partial"))
    assert partial.status_code == 200
    with django_assert_max_num_queries(3):  # session, user, person: no meetings query
        assert user_client.get(reverse("meetings_partial"), HTTP_IF_NONE_MATCH=partial["ETag"]).status_code == 304
    with django_assert_max_num_queries(4):
        assert user_client.get(API).status_code == 200


@pytest.mark.parametrize("count", [3, 40])
def test_token_api_queries(client, me, bearer, count, django_assert_max_num_queries):
    seed(me, count)
    client.get(API, **bearer)  # last_used_at written (at most once a minute)
    with django_assert_max_num_queries(2):  # token (+ person, organization, source), meetings
        response = client.get(API, **bearer)
    assert len(response.json()["meetings"]) == count
    with django_assert_max_num_queries(1):  # the token query alone
        assert client.get(API, HTTP_IF_NONE_MATCH=response["ETag"], **bearer).status_code == 304
    with django_assert_max_num_queries(2):  # a stale ETag: token, then the rows
        assert client.get(API, HTTP_IF_NONE_MATCH='"stale"', **bearer).status_code == 200


def test_etag_from_rows_equals_etag_from_aggregate_even_when_truncated(user_client, client, me, bearer):
    seed(me, 5)
    for query in ("", "?limit=2", "?limit=5", "?limit=9"):
        first = client.get(API + query, **bearer)
        assert client.get(API + query, HTTP_IF_NONE_MATCH=first["ETag"], **bearer).status_code == 304
    page = user_client.get(reverse("meetings") + "?limit=2").content.decode()
    etag = page.split('data-etag="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    partial = reverse("meetings_partial") + "?limit=2"
    assert user_client.get(partial, HTTP_IF_NONE_MATCH=etag).status_code == 304
    make_meeting(me, title="Late addition", start=timezone.now() + timedelta(days=3))
    assert user_client.get(partial, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_limit_truncates_and_offers_more(user_client, client, me, bearer):
    seed(me, 3)
    data = client.get(API + "?limit=2", **bearer).json()
    assert [m["title"] for m in data["meetings"]] == ["M0", "M1"] and data["truncated"] is True
    assert client.get(API + "?limit=3", **bearer).json()["truncated"] is False
    html = user_client.get(reverse("meetings") + "?limit=2").content.decode()
    assert html.count('<li class="mtg') == 2 and 'id="show-more"' in html and "limit=4" in html
    assert 'id="show-more"' not in user_client.get(reverse("meetings") + "?limit=3").content.decode()


def test_calendar_text_is_escaped(user_client, me):
    make_meeting(me, title='<script>alert("x")</script> & \'co\'', join_url='https://x.test/?a=1&b="2"',
                 join_provider="other",
                 attendees=[{"email": "a@x.test", "name": "<b>Bo</b>", "organizer": True, "resource": False}])
    html = user_client.get(reverse("meetings")).content.decode()
    assert "<script>alert" not in html and "<b>Bo</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;co&#x27;" in html
    assert 'data-join-url="https://x.test/?a=1&amp;b=&quot;2&quot;"' in html and "&lt;b&gt;Bo&lt;/b&gt;" in html


def test_all_day_over_several_days_and_ooo(user_client, client, me, bearer):
    today = timezone.now().astimezone(sel.zone_of("Europe/Paris")).date()
    first = today + timedelta(days=2)
    make_meeting(me, title="Trip", all_day=True, start_date=first, end_date=first + timedelta(days=3),
                 event_type="outOfOffice", attendees=[])
    html = user_client.get(reverse("meetings")).content.decode()
    for i in range(3):
        section = html[html.index(f'data-day="{(first + timedelta(days=i)).isoformat()}"'):]
        assert "Trip" in section[: section.index("</section>")] and "mtg allday ooo" in section
    [trip] = client.get(API, **bearer).json()["meetings"]
    assert (trip["start"], trip["end"], trip["all_day"]) == (first.isoformat(),
                                                              (first + timedelta(days=3)).isoformat(), True)


def test_decryptor_keeps_every_check(org, me):
    cipher = cipher_for_writes(org)
    key = row_key(me.pk, "ev1")
    blob = cipher.encrypt("Réunion", aad=f"{TABLE}/title/{key}")
    decrypt = cipher.decryptor(f"{TABLE}/title/{row_key(me.pk, '')}")
    assert decrypt(blob, b"ev1") == "Réunion" and decrypt(None, b"ev1") is None
    assert decrypt(memoryview(blob), b"ev1") == "Réunion"
    with pytest.raises(DecryptionError):
        decrypt(blob, b"ev2")  # moved to another row
    with pytest.raises(DecryptionError):
        decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), b"ev1")  # tampered
    with pytest.raises(DecryptionError):
        decrypt(blob[:20], b"ev1")  # truncated
    other = DataCipher(b"k" * 32, cipher.key_version + 1).encrypt("x", aad=f"{TABLE}/title/{key}")
    with pytest.raises(DecryptionError, match="version"):
        decrypt(other, b"ev1")


def test_notify_service_worker_is_served_from_the_root(client):
    response = client.get("/notify-sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "showNotification" in body and "notificationclick" in body and "openWindow" in body
    assert client.post("/notify-sw.js").status_code == 405


def test_a_sync_changes_the_etag_and_nothing_else_does(client, org, google, activated):
    from calendar_sync.sync.models import CalendarSource
    from calendar_sync.sync.sources import source_run
    from tests.calendar_sync.conftest import event_at, soon

    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at("Budget review", soon()))
    person_calendar_start(person_id=ana.pk)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {device_token_create(organization=org, source=person_calendar_source(person=ana, active=False), name='d')[1]}"}
    first = client.get(API, **headers)
    assert [m["title"] for m in first.json()["meetings"]] == ["Budget review"]
    etag = first["ETag"]
    assert client.get(API, HTTP_IF_NONE_MATCH=etag, **headers).status_code == 304  # no change: 304
    google.create_event(ana.email, event_at("Added in Google", soon(5)))
    assert client.get(API, HTTP_IF_NONE_MATCH=etag, **headers).status_code == 304  # not synced yet
    source_run(source_id=CalendarSource.objects.get(person=ana).pk)
    changed = client.get(API, HTTP_IF_NONE_MATCH=etag, **headers)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert [m["title"] for m in changed.json()["meetings"]] == ["Budget review", "Added in Google"]
    assert client.get(API, HTTP_IF_NONE_MATCH=changed["ETag"], **headers).status_code == 304


def test_rows_committed_before_the_sync_ends_are_served_at_the_latest_when_it_ends(client, me, bearer):
    make_meeting(me, title="First")
    etag = client.get(API, **bearer)["ETag"]
    # A sync run commits its pages, then stamps the source when it ends: polls in between may keep the
    # old ETag (and the old rows), the first poll after the stamp gets the new list.
    make_meeting(me, title="Second", synced=False)
    assert client.get(API, HTTP_IF_NONE_MATCH=etag, **bearer).status_code == 304
    me.__class__.objects.filter(pk=me.pk).update(last_synced_at=timezone.now())
    after = client.get(API, HTTP_IF_NONE_MATCH=etag, **bearer)
    assert after.status_code == 200 and [m["title"] for m in after.json()["meetings"]] == ["First", "Second"]


def test_etag_inputs(org, me, monkeypatch):
    monkeypatch.setattr(sel, "etag_clock_bucket", _real_clock_bucket)
    person = me.person
    now = timezone.now().replace(second=30)

    def etag(**changes):
        for obj, name, value in changes.get("set", ()):
            setattr(obj, name, value)
        window = sel.window_for(time_zone=person.effective_time_zone, now=changes.get("now", now),
                                show_past=changes.get("past", False))
        return sel.meetings_etag(person=person, source=me, window=window, now=changes.get("now", now),
                                 variant=changes.get("variant", "api:100"))

    base = etag()
    assert etag() == base
    assert etag(now=now + timedelta(seconds=20)) == base  # same minute
    assert etag(now=now + timedelta(minutes=1)) != base  # calendar out-of-office, purge: at most a minute old
    assert etag(variant="api:1000") != base and etag(past=True) != base
    for obj, name, value in [
        (me, "last_synced_at", now + timedelta(seconds=1)),  # every sync run ends with this
        (me, "next_sync_at", now),  # a failed or cut-short run
        (me, "last_error_at", now),
        (me, "state", "failing"),
        (person, "calendar_state", "deactivated"),
        (person, "time_zone", "Asia/Seoul"),
        (person, "ooo_start", now - timedelta(hours=1)),
        (person, "ooo_checked_at", now),
    ]:
        before = etag()
        assert etag(set=[(obj, name, value)]) != before, name
    assert sel.meetings_etag(person=person, source=None, window=sel.window_for(time_zone="UTC", now=now),
                             now=now).startswith('"')


def test_fast_json_is_the_reference_document(client, me, bearer):
    import json

    today = timezone.now().astimezone(sel.zone_of("Europe/Paris")).date()
    weird = 'Quote " backslash \\ tab \t newline \n nul \x00 é 회의 😀 </script> \u2028'
    make_meeting(me, title=weird, join_url=f"https://x.test/?q={weird}", join_provider="other",
                 attendees=[{"email": "a@x.test", "name": weird, "organizer": True, "resource": False},
                            {"email": "room@x.test", "name": "Room", "organizer": False, "resource": True},
                            {"email": "b@x.test", "organizer": False, "resource": False}])
    make_meeting(me, title="No link, no attendees", attendees=[], organizer_email="lea@x.test",
                 organizer_name="Léa", start=timezone.now() + timedelta(hours=3))
    make_meeting(me, title="Trip", all_day=True, start_date=today + timedelta(days=1),
                 end_date=today + timedelta(days=3), event_type="outOfOffice", attendees=[])
    for i in range(3):  # a recurring meeting: the same attendee list
        make_meeting(me, title=f"Weekly {i}", start=timezone.now() + timedelta(days=7 * i, hours=5),
                     join_url="https://acme.webex.com/meet/w", join_provider="webex")
    person = me.person
    now = timezone.now()
    window = sel.window_for(time_zone=person.effective_time_zone, now=now)
    read = sel.meetings_read(person=person, source=me, window=window, limit=100)
    presence = sel.presence_for(person, read, now)
    extra = {"calendar_state": "activated", "stale": False, "truncated": False}
    expected = json.dumps(presenters.meetings_payload(person=person, window=window, read=read, presence=presence, now=now)
                          | extra, ensure_ascii=False, separators=(",", ":"))
    assert presenters.meetings_json(person=person, window=window, read=read, presence=presence, now=now,
                             extra=extra) == expected
    data = client.get(API, **bearer).json()
    assert len(data["meetings"]) == 6 and data["meetings"][0]["title"] == weird
    assert data["meetings"][0]["attendees"] == {"count": 2, "names": [weird, "b@x.test"]}
    assert list(data) == ["person", "meetings", "generated_at", "calendar_state", "stale", "truncated"]


def test_person_of_user_loads_what_the_orm_loads_in_one_query(org, me, plain_user, admin_user,
                                                              django_assert_num_queries):
    from controlhub.people.models import Person

    def fields(instance):
        return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}

    with django_assert_num_queries(1):
        person = sel.person_of_user(user=plain_user)
    expected = Person.objects.select_related("organization", "source", "user__membership").get(user=plain_user)
    assert fields(person) == fields(expected) and fields(person.organization) == fields(expected.organization)
    assert fields(person.source) == fields(me) and fields(person.user) == fields(plain_user)
    assert fields(person.user.membership) == fields(expected.user.membership)
    assert person.user.membership.organization is person.organization
    assert sel.person_of_user(user=admin_user) is None  # no person linked


def test_compiled_rows_are_the_rows_the_orm_reads(org, me):
    """The window query is compiled once with placeholder values (``compiled.compiled_rows``); each call binds the
    source, the window's bounds and the limit as the ORM would."""
    seed(me, 4)
    make_meeting(me, title="Last week", start=timezone.now() - timedelta(days=5))
    make_meeting(me, title="Called off", status="cancelled")
    other = make_source(make_person(org, "other@acme.test", ooo_checked_at=timezone.now()))
    make_meeting(other, title="Not mine")
    for show_past in (False, True):
        window = sel.window_for(time_zone="Europe/Paris", show_past=show_past)
        after, before = window.start - timedelta(days=1), window.end + timedelta(days=1)
        for limit in (None, 2, 3, 50):
            compiled = sel._run(sel._read_queryset, me, window, limit)
            orm = list(sel._read_queryset("default", me.pk, after, before, limit))
            assert [r[0] for r in compiled] == [r[0] for r in orm]
            assert [bytes(r[11]) for r in compiled] == [bytes(r[11]) for r in orm]  # the encrypted titles
        assert len(compiled) == (5 if show_past else 4)
