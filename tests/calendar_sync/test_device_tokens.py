"""The device-token admin page: full admins create (shown once) and revoke; read-only admins only look."""

import pytest
from django.urls import reverse

from calendar_sync.meetings.device_tokens import device_token_authenticate, token_hash
from calendar_sync.meetings.models import DeviceToken
from calendar_sync.sync.models import CalendarSource
from controlhub.people.calendar import person_calendar_source
from controlhub.tenancy.models import AuditEvent
from tests.calendar_sync.test_meetings_support import make_person

pytestmark = pytest.mark.django_db


def test_create_shows_once_and_stores_only_a_hash(admin_client, org):
    person = make_person(org, "room4@acme.test")
    response = admin_client.post(reverse("device_tokens"), {"name": "Room 4 display", "person": person.pk})
    assert response.status_code == 302
    page = admin_client.get(reverse("device_tokens")).content.decode()
    token = DeviceToken.objects.get()
    start = page.index('id="new-token-value">') + len('id="new-token-value">')
    raw = page[start: page.index("</code>", start)]
    assert raw.startswith("chd_") and token.token_hash == token_hash(raw) and raw not in token.prefix
    assert raw not in admin_client.get(reverse("device_tokens")).content.decode()  # only once
    assert device_token_authenticate(raw).source.person == person
    assert AuditEvent.objects.filter(action="device_token.create").exists()
    assert raw not in str(AuditEvent.objects.get(action="device_token.create").detail)


def test_revoke(admin_client, org):
    person = make_person(org, "room4@acme.test")
    admin_client.post(reverse("device_tokens"), {"name": "Room 4", "person": person.pk})
    token = DeviceToken.objects.get()
    assert admin_client.post(reverse("device_token_revoke", args=[token.pk])).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in admin_client.get(reverse("device_tokens")).content.decode()


def test_readonly_admin_cannot_create_or_revoke(client, org, readonly_admin, admin_client):
    person = make_person(org, "room4@acme.test")
    admin_client.post(reverse("device_tokens"), {"name": "Room 4", "person": person.pk})
    token = DeviceToken.objects.get()
    client.force_login(readonly_admin)
    page = client.get(reverse("device_tokens"))
    assert page.status_code == 200 and "Room 4" in page.content.decode() and 'id="token-form"' not in page.content.decode()
    assert client.post(reverse("device_tokens"), {"name": "x", "person": person.pk}).status_code == 403
    assert client.post(reverse("device_token_revoke", args=[token.pk])).status_code == 403
    assert DeviceToken.objects.count() == 1


def test_plain_users_are_kept_out(client, plain_user):
    client.force_login(plain_user)
    assert client.get(reverse("device_tokens")).status_code == 403


def test_people_of_other_orgs_cannot_be_chosen(make_org, admin_client):
    other, _ = make_org("Globex")
    stranger = make_person(other, "x@globex.test")
    response = admin_client.post(reverse("device_tokens"), {"name": "steal", "person": stranger.pk})
    assert response.status_code == 400 and not DeviceToken.objects.exists()


def _fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_authenticate_loads_what_the_orm_loads_in_one_query(org, django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from calendar_sync.meetings.device_tokens import device_token_create
    from tests.calendar_sync.test_meetings_support import make_source

    with_sub = make_source(make_person(org, "room4@acme.test", time_zone="Asia/Seoul",
                                       ooo_start=timezone.now() - timedelta(hours=1)))
    room = CalendarSource.objects.create(organization=org, kind=CalendarSource.Kind.ROOM,
                                         calendar_id="room5@resource.calendar.google.com",
                                         subject="admin@acme.test", name="Room 5")
    for source in (with_sub, room):
        raw = device_token_create(organization=org, source=source, name=source.name)[1]
        device_token_authenticate(raw)  # last_used_at written
        with django_assert_num_queries(1):
            token = device_token_authenticate(raw)
        expected = DeviceToken.objects.select_related(
            "source", "source__organization", "source__person").get(token_hash=token_hash(raw))
        assert _fields(token) == _fields(expected) and token.last_used_at.tzinfo is not None
        assert _fields(token.source) == _fields(expected.source)
        assert _fields(token.source.organization) == _fields(expected.source.organization)
        if source == room:
            assert not hasattr(token.source, "person")
        else:
            assert _fields(token.source.person) == _fields(expected.source.person)


def test_revocation_is_immediate_and_last_used_is_written_once_a_minute(org, django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from calendar_sync.meetings.device_tokens import device_token_create, device_token_revoke

    token, raw = device_token_create(organization=org, source=person_calendar_source(person=make_person(org, "room4@acme.test"), active=False), name="Room 4")
    now = timezone.now()
    with django_assert_num_queries(2):  # the token, then last_used_at
        assert device_token_authenticate(raw, now=now).last_used_at == now
    with django_assert_num_queries(1):
        assert device_token_authenticate(raw, now=now + timedelta(seconds=50)).last_used_at == now
    with django_assert_num_queries(2):
        later = now + timedelta(seconds=61)
        assert device_token_authenticate(raw, now=later).last_used_at == later
    assert device_token_authenticate("chd_unknown") is None and device_token_authenticate("nope") is None
    device_token_revoke(token=token)
    assert device_token_authenticate(raw) is None
