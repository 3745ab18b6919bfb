"""A sync failure reaches the person: a cause only an admin can fix puts them in Error with the catalogue's code,
reason and fix, and they are Activated again by themselves once it is fixed; a transient storm shows "retrying
since …" without changing their state."""

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_sync.google.gateway import forget_gateways
from calendar_sync.sync.models import CalendarSource
from calendar_sync.sync.sources import source_run
from controlhub.people.calendar import person_calendar_start
from controlhub.people.calendar_health import MSG_SYNC_FAILING, MSG_SYNC_RECOVERED
from controlhub.people.models import Person
from controlhub.tenancy.errors import error_info
from tests.calendar_sync.conftest import event_at, soon
from tests.conftest import SCOPES_CORE

pytestmark = pytest.mark.django_db

State = Person.CalendarState


def run(person):
    forget_gateways()  # no cached token: each run asks Google as a worker would once its token expired
    return source_run(source_id=CalendarSource.objects.get(person=person).pk)


def history(person):
    return list(person.history.order_by("at", "id").values_list("message", "code"))


def revoke(google):
    google.revoke("acme.test", google.client_id)


def delete_key(google):
    google.delete_key(google.client_id, google.key["private_key_id"])


def delete_user(google):
    google.delete_user("ana@acme.test")


def disable_api(google):
    google.set_api(google.project_id, "calendar-json.googleapis.com", False)


@pytest.mark.parametrize(("cause", "code"), [
    (revoke, "delegation_not_authorized"),
    (delete_key, "key_invalid"),
    (delete_user, "user_deleted"),
    (disable_api, "api_disabled"),
])
def test_a_cause_only_an_admin_can_fix_puts_the_person_in_error_with_code_reason_and_fix(
        google, activated, admin_client, cause, code):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    cause(google)
    assert run(ana) is None
    ana.refresh_from_db()
    assert ana.calendar_state == State.ERROR and ana.error_code == code and ana.error_detail
    assert history(ana)[-1] == (f"{MSG_SYNC_FAILING}: {code}", code)
    source = CalendarSource.objects.get(person=ana)
    assert source.state == CalendarSource.State.FAILING and source.next_sync_at > timezone.now()
    info = error_info(code)
    page = html.unescape(admin_client.get(reverse("person", args=[ana.pk])).content.decode())
    assert code in page and str(info.title) in page and str(info.fix)[:40] in page
    assert 'id="person-sync-failing"' in page
    listing = admin_client.get(reverse("people")).content.decode()
    assert code in listing and "Error" in listing
    # Another failed run changes nothing more.
    run(ana)
    ana.refresh_from_db()
    assert ana.calendar_state == State.ERROR and len([m for m, _ in history(ana) if m.startswith(MSG_SYNC_FAILING)]) == 1


def test_the_person_is_activated_again_by_themselves_once_the_cause_is_fixed(google, activated):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    disable_api(google)
    run(ana)
    revoke(google)
    run(ana)
    ana.refresh_from_db()
    # Still in Error, now for the latest cause.
    assert ana.calendar_state == State.ERROR and ana.error_code == "delegation_not_authorized"
    google.set_api(google.project_id, "calendar-json.googleapis.com", True)
    google.delegate("acme.test", google.client_id, SCOPES_CORE)
    event = google.create_event(ana.email, event_at("After the fix", soon()))
    # The scheduled retry (at most 15 minutes later) succeeds: nobody clicks Reactivate.
    source = CalendarSource.objects.get(person=ana)
    assert source.next_sync_at <= timezone.now() + dt.timedelta(minutes=15)
    run(ana)
    ana.refresh_from_db()
    assert ana.calendar_state == State.ACTIVATED and ana.error_code == "" and ana.error_detail == ""
    assert history(ana)[-1] == (MSG_SYNC_RECOVERED, "")
    assert source.meetings.filter(google_event_id=event["id"]).exists()


def test_a_transient_storm_shows_retrying_since_without_changing_the_state(google, activated, admin_client):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    google.fault(path_regex="/events$", method="GET", status=503, count=-1)
    for _ in range(3):
        run(ana)
    ana.refresh_from_db()
    assert ana.calendar_state == State.ACTIVATED and ana.error_code == "google_unavailable"
    assert not [m for m, _ in history(ana) if m.startswith(MSG_SYNC_FAILING)]
    since = CalendarSource.objects.get(person=ana).retrying_since
    shown = timezone.localtime(since).strftime("%H:%M")
    listing = admin_client.get(reverse("people")).content.decode()
    assert f"retrying since {shown}" in listing
    page = admin_client.get(reverse("person", args=[ana.pk])).content.decode()
    assert 'id="person-sync-retrying"' in page and "tint-warn" in page
    google.clear_faults()
    run(ana)
    ana.refresh_from_db()
    assert ana.calendar_state == State.ACTIVATED and ana.error_code == ""
    assert "retrying since" not in admin_client.get(reverse("people")).content.decode()


def test_an_activation_error_is_not_lifted_by_a_sync(google, activated):
    ana = activated("ana@acme.test")
    person_calendar_start(person_id=ana.pk)
    revoke(google)
    run(ana)
    # The admin tried a reactivation, which failed in validation: that error is the admin's to lift.
    Person.objects.filter(pk=ana.pk).update(calendar_state=State.ERROR, error_code="scope_missing")
    ana.history.create(message="Error: scope_missing", code="scope_missing")
    google.delegate("acme.test", google.client_id, SCOPES_CORE)
    run(ana)
    ana.refresh_from_db()
    assert ana.calendar_state == State.ERROR and ana.error_code == "scope_missing"


@pytest.mark.parametrize(("language", "ours", "said"), [
    ("en", "Google Calendar API (calendar-json.googleapis.com) is disabled in the Cloud project (project ", "Google said:"),
    ("fr", "Google Calendar API (calendar-json.googleapis.com) est désactivée dans le projet Cloud (projet ",
     "Réponse de Google :"),
    ("ko", "Cloud 프로젝트(", "Google 응답:"),
])
def test_the_detail_is_in_the_viewer_s_language_and_only_google_s_own_words_are_labelled_as_his(
        google, activated, admin_client, language, ours, said):
    ana, bob = activated("ana@acme.test"), activated("bob@acme.test")
    for person in (ana, bob):
        person_calendar_start(person_id=person.pk)
    disable_api(google)
    run(bob)
    google.set_api(google.project_id, "calendar-json.googleapis.com", True)
    delete_user(google)
    run(ana)
    ana.refresh_from_db()
    bob.refresh_from_db()
    # Stored in one language-neutral form: our sentence in English, Google's words as Google wrote them.
    assert bob.error_code == "api_disabled" and bob.error_detail.startswith(
        "Google Calendar API (calendar-json.googleapis.com) is disabled in the Cloud project (project ")
    assert ana.error_code == "user_deleted" and ana.error_detail
    admin_client.cookies["django_language"] = language
    page = html.unescape(admin_client.get(reverse("person", args=[bob.pk])).content.decode())
    assert ours in page and said not in page
    if language != "en":
        assert "is disabled in the Cloud project" not in page
    page = html.unescape(admin_client.get(reverse("person", args=[ana.pk])).content.decode())
    assert f'{said} <span class="mono">{ana.error_detail}</span>' in page
