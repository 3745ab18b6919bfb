"""Activation through the real Google client libraries against the emulator: every error code for real, retries
with backoff, history, pages, and no Google call for anyone who is not activated."""

import datetime as dt
import html

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task

from calendar_sync.google.gateway import SCOPE_CALENDAR, SCOPE_GMAIL_SETTINGS
from controlhub.people import activation
from controlhub.people.models import Person
from controlhub.people.services import person_create
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.models import Domain


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (task enqueues; tasks run inline) as they would after a real commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _activate(email, org, commit, admin=None):
    person = Person.objects.filter(organization=org, email=email).first() or person_create(
        organization=org, email=email, name=email.split("@")[0]
    )
    with commit():
        activation.person_activate(person=person, actor=admin)
    person.refresh_from_db()
    return person


def _messages(person):
    return list(person.history.order_by("at", "id").values_list("message", flat=True))


def _subjects(google, since=0):
    return [r.get("subject") for r in google.requests(since)["requests"]]


def test_activation_success_stores_settings_history_and_starts_sync(google_tenant, ready_org, admin_user, commit):
    person = _activate("ana@acme.test", ready_org, commit, admin_user)
    assert person.calendar_state == "activated"
    assert (person.google_locale, person.google_time_zone) == ("fr", "Europe/Paris")
    assert person.error_code == "" and person.activation_attempts == 0
    assert _messages(person) == ["Service enabled", "Validation started", "Activated"]
    assert person.history.filter(message="Service enabled", actor=admin_user).exists()
    assert Task.objects.filter(func="controlhub.people.calendar.person_calendar_start_task", args=(person.pk,)).exists()
    # The validation: 1 token (both scopes) + settings.list + events.list maxResults=1; the sync engine follows.
    calls = [r for r in google_tenant.requests()["requests"] if r.get("subject") == "ana@acme.test"]
    first = [(c["method"], c.get("api_method")) for c in calls[:3]]
    assert first == [("POST", "oauth2.token"), ("GET", "calendar.v3.Settings.List"), ("GET", "calendar.v3.Events.List")]
    assert "maxResults=1" in calls[2]["query"]
    assert sum(c.get("api_method") == "calendar.v3.Settings.List" for c in calls) == 1


def test_email_normalization_matches_google(google_tenant, ready_org, commit):
    person = _activate("  ANA@Acme.TEST ", ready_org, commit)
    assert person.email == "ana@acme.test"
    assert person.calendar_state == "activated"


@pytest.mark.parametrize(
    "setup, code",
    [
        (lambda g: None, "user_not_in_google"),  # zed is not in the tenant
        (lambda g: g.user("zed@acme.test") and g.delete_user("zed@acme.test"), "user_deleted"),
        (lambda g: g.user("zed@acme.test") and g.patch_user("zed@acme.test", suspended=True),
         "not_a_calendar_user"),
        (lambda g: g.user("zed@acme.test") and g.revoke("acme.test", g.client_id), "delegation_not_authorized"),
        (lambda g: g.user("zed@acme.test") and g.set_api(g.project_id, "calendar-json.googleapis.com", False),
         "api_disabled"),
        (lambda g: g.user("zed@acme.test") and g.delete_key(g.client_id, g.key["private_key_id"]), "key_invalid"),
    ],
    ids=["unknown", "deleted", "suspended", "revoked", "api_disabled", "key_deleted"],
)
def test_each_google_error_code(google_tenant, ready_org, admin_client, commit, setup, code):
    setup(google_tenant)
    person = _activate("zed@acme.test", ready_org, commit)
    assert person.calendar_state == "error"
    assert person.error_code == code
    assert _messages(person)[-1] == f"Error: {code}"
    page = html.unescape(admin_client.get(reverse("person", args=[person.pk])).content.decode())
    info = error_info(code)
    assert str(info.title) in page and str(info.fix) in page and str(info.explanation) in page


def test_scope_missing_names_the_scope(google_tenant, ready_org, admin_client, commit):
    google_tenant.delegate("acme.test", google_tenant.client_id, [SCOPE_CALENDAR])
    person = _activate("ana@acme.test", ready_org, commit)
    assert person.error_code == "scope_missing"
    assert SCOPE_GMAIL_SETTINGS in person.error_detail
    page = admin_client.get(reverse("person", args=[person.pk])).content.decode()
    assert SCOPE_GMAIL_SETTINGS in page


def test_api_disabled_names_the_api(google_tenant, ready_org, commit):
    google_tenant.set_api(google_tenant.project_id, "calendar-json.googleapis.com", False)
    person = _activate("ana@acme.test", ready_org, commit)
    assert "calendar-json.googleapis.com" in person.error_detail


def test_503_storm_then_recovery(google_tenant, ready_org, admin_client, commit, settings):
    # The gateway tries N times inside one validation; 2N - 1 failures => one scheduled retry, then success.
    attempts = settings.GOOGLE_RETRY_ATTEMPTS
    google_tenant.fault(method="GET", path_regex=r".*/events$", status=503, count=2 * attempts - 1)
    person = _activate("ana@acme.test", ready_org, commit)
    assert person.calendar_state == "pending"
    assert person.activation_attempts == 1 and person.next_retry_at is not None
    assert person.error_code == "google_unavailable"
    assert _messages(person)[-1].startswith("Activation will be retried at ")
    page = admin_client.get(reverse("person", args=[person.pk])).content.decode()
    assert "Activation will be retried at" in page

    # Not yet due: nothing happens.
    assert activation.activation_retry_due() == 0
    with commit():
        assert activation.activation_retry_due(now=person.next_retry_at + dt.timedelta(seconds=1)) == 1
    person.refresh_from_db()
    assert person.calendar_state == "activated"
    assert person.error_code == "" and person.next_retry_at is None
    assert _messages(person)[-1] == "Activated"


def test_persistent_503_becomes_error_after_max_attempts(google_tenant, ready_org, commit):
    google_tenant.fault(method="GET", path_regex=r".*/events$", status=503, count=10_000)
    person = _activate("ana@acme.test", ready_org, commit)
    for _ in range(activation.MAX_ATTEMPTS - 1):
        assert person.calendar_state == "pending"
        with commit():
            activation.activation_retry_due(now=person.next_retry_at + dt.timedelta(seconds=1))
        person.refresh_from_db()
    assert person.calendar_state == "error"
    assert person.error_code == "google_unavailable"
    assert person.activation_attempts == activation.MAX_ATTEMPTS
    retries = [m for m in _messages(person) if m.startswith("Activation will be retried")]
    assert len(retries) == activation.MAX_ATTEMPTS - 1
    google_tenant.clear_faults()
    with commit():
        activation.person_reactivate(person=person)
    person.refresh_from_db()
    assert person.calendar_state == "activated"
    assert "Reactivation requested" in _messages(person)


def test_retry_delay_backs_off():
    assert [activation.retry_delay(n) for n in (1, 2, 3, 10)] == [60, 120, 240, 3600]


@pytest.mark.unverified_domain
def test_preconditions_without_google_calls(google_tenant, org, commit):
    """The deployment's shared key: only the org's own tenant, and a sign-in is not a tenant admin's consent."""
    # Org not ready.
    person = _activate("ana@acme.test", org, commit)
    assert person.error_code == "org_not_connected"
    org.setup_state = "ready"
    org.save()
    # Domain known but not verified: outside the tenant boundary.
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.PENDING)
    with commit():
        activation.person_reactivate(person=person)
    person.refresh_from_db()
    assert person.error_code == "subject_outside_tenant"
    # Domain unknown to the org.
    other = _activate("someone@elsewhere.test", org, commit)
    assert other.error_code == "subject_outside_tenant"
    # Email verified by sign-in does NOT satisfy the boundary with the shared key.
    person.email_verified_at = timezone.now()
    person.save()
    with commit():
        activation.person_reactivate(person=person)
    person.refresh_from_db()
    assert person.calendar_state == "error" and person.error_code == "subject_outside_tenant"
    assert not any(s in ("ana@acme.test", "someone@elsewhere.test") for s in _subjects(google_tenant))
    # Verifying the domain lets the same person in.
    Domain.objects.filter(organization=org, name="acme.test").update(state=Domain.State.VERIFIED)
    with commit():
        activation.person_reactivate(person=person)
    person.refresh_from_db()
    assert person.calendar_state == "activated"


@pytest.mark.unverified_domain
def test_own_key_preconditions_accept_a_verified_email(google_tenant, org, commit):
    """The org's own key: its tenant admin delegated to its own client ID, so a verified email is enough."""
    from controlhub.onboarding.services import own_key_upload

    own_key_upload(organization=org, data=google_tenant.key_file.read_bytes())
    org.refresh_from_db()
    org.setup_state = "ready"
    org.save()
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.PENDING)
    person = _activate("ana@acme.test", org, commit)
    assert person.error_code == "domain_not_verified"
    other = _activate("someone@elsewhere.test", org, commit)
    assert other.error_code == "email_not_verified"
    assert not any(s in ("ana@acme.test", "someone@elsewhere.test") for s in _subjects(google_tenant))
    person.email_verified_at = timezone.now()
    person.save()
    with commit():
        activation.person_reactivate(person=person)
    person.refresh_from_db()
    assert person.calendar_state == "activated"


def test_no_google_call_for_people_not_activated(google_tenant, ready_org, commit):
    idle = person_create(organization=ready_org, email="bo@acme.test")
    _activate("ana@acme.test", ready_org, commit)
    gone = _activate("admin@acme.test", ready_org, commit)
    since = google_tenant.requests()["next"]
    with commit():
        activation.person_deactivate(person=gone)
        activation.activation_retry_due(now=timezone.now() + dt.timedelta(days=1))
    idle.refresh_from_db()
    assert idle.calendar_state == "off"
    subjects = _subjects(google_tenant)
    assert "bo@acme.test" not in subjects
    # After deactivation the only call as that user is stopping its push channel.
    after = [r for r in google_tenant.requests(since)["requests"] if r.get("subject") == "admin@acme.test"]
    assert {r.get("api_method") for r in after} <= {"calendar.v3.Channels.Stop", "oauth2.token"}, after


def test_deactivate_stops_sync_and_keeps_history(google_tenant, ready_org, admin_user, commit):
    person = _activate("ana@acme.test", ready_org, commit)
    with commit():
        activation.person_deactivate(person=person, actor=admin_user)
    person.refresh_from_db()
    assert person.calendar_state == "off"
    assert _messages(person) == ["Service enabled", "Validation started", "Activated", "Service disabled"]
    assert Task.objects.filter(func="controlhub.people.calendar.person_calendar_stop_task", args=(person.pk,)).exists()


def test_validation_after_deactivation_does_nothing(google_tenant, ready_org):
    person = person_create(organization=ready_org, email="ana@acme.test")
    activation.person_activate(person=person)  # on-commit callbacks not run: validation still queued
    activation.person_deactivate(person=person)
    assert activation.person_validate(person_id=person.pk) == "off"
    assert "ana@acme.test" not in _subjects(google_tenant)
