"""The dashboard's sync health card: counts, failing calendars with their error, admins only."""

import datetime as dt

import pytest
from django.utils import timezone

from controlhub.people.calendar import person_calendar_start
from controlhub.people.models import Person
from tests.calendar_sync.conftest import event_at, soon
from tests.calendar_sync.test_meetings_support import linked_source
from tests.conftest import PASSWORD


def make_subs(org):
    now = timezone.now()
    for i, (state, synced, error) in enumerate([
        ("active", now, ""), ("active", now, ""), ("active", now - dt.timedelta(hours=3), ""),
        ("failing", now - dt.timedelta(hours=1), "delegation_not_authorized: Client is unauthorized"),
    ]):
        person = Person.objects.create(organization=org, email=f"u{i}@acme.test", calendar_state="activated")
        linked_source(person, organization=org, calendar_id=person.email, state=state,
                                            last_synced_at=synced, last_error=error, last_error_at=now,
                                            attempts=6 if error else 0, next_sync_at=now + dt.timedelta(minutes=9))


@pytest.mark.django_db
def test_counts_and_failing_list(admin_client, org, make_org):
    make_subs(org)
    other, _ = make_org("Other")
    p = Person.objects.create(organization=other, email="x@other.test", calendar_state="activated")
    linked_source(p, organization=other, calendar_id=p.email, state="failing",
                                        last_error="hidden from acme")
    html = admin_client.get("/sync/health/").content.decode()
    assert 'id="sync-healthy">2<' in html and 'id="sync-behind">1<' in html and 'id="sync-failing">1<' in html
    assert "u3@acme.test" in html and "Client is unauthorized" in html
    assert "hidden from acme" not in html


@pytest.mark.django_db
def test_only_admins(client, plain_user, readonly_admin):
    client.force_login(plain_user)
    assert client.get("/sync/health/").status_code == 403
    client.force_login(readonly_admin)
    assert client.get("/sync/health/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_dashboard_card_screenshot(page, live_server, org, admin_user, google, activated, settings):
    settings.WEBHOOK_BASE_URL = live_server.url
    ana = activated("ana@acme.test")
    google.create_event(ana.email, event_at("Planning", soon()))
    person_calendar_start(person_id=ana.pk)
    make_subs(org)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", admin_user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + "/")
    page.wait_for_selector("#sync-health-card")
    assert page.inner_text("#sync-healthy") == "3"
    page.screenshot(path="screenshots/sync_health.png", full_page=True)


@pytest.mark.django_db
def test_calendars_retrying_after_temporary_errors_are_counted_apart_from_healthy(admin_client, org):
    make_subs(org)
    now = timezone.now()
    for i in range(2):
        person = Person.objects.create(organization=org, email=f"r{i}@acme.test", calendar_state="activated")
        linked_source(person, organization=org, calendar_id=person.email, state="active", last_synced_at=now,
                      retrying_since=now - dt.timedelta(minutes=7 + i), attempts=2, last_error="503 backendError",
                      next_sync_at=now + dt.timedelta(seconds=30))
    html = admin_client.get("/sync/health/").content.decode()
    assert 'id="sync-healthy">2<' in html and 'id="sync-failing">1<' in html
    assert 'id="sync-retrying"' in html
    assert "2 calendars had a temporary error" in html and "retrying for 8" in html
