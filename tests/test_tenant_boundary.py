"""The tenant trust boundary, tried as an attacker would: two organizations on one deployment share the
deployment's service-account key, and two Google tenants delegated to its client ID, each for its own org.

Every Google call the service makes goes through the emulator, whose request log records the subject of each
token and API call; the walk at the end runs every path that acts as a subject for org A, with org B's users and
admin as the bait, and asserts no request carried a subject outside org A's tenant.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from calendar_sync.google.gateway import SCOPE_DIRECTORY_READONLY
from calendar_sync.meetings.device_tokens import device_token_create
from calendar_sync.presence import services as presence
from calendar_sync.scheduling import keywords
from calendar_sync.sync import sources
from calendar_sync.sync.models import CalendarSource
from controlhub.onboarding import services as onboarding
from controlhub.onboarding.models import ConnectionTest
from controlhub.people import activation, directory_import, invitations
from controlhub.people.calendar import person_calendar_source
from controlhub.people.models import Person
from controlhub.people.services import person_create
from controlhub.tenancy.boundary import subject_refusal
from controlhub.tenancy.google_connection import org_gateway
from controlhub.tenancy.models import Domain
from tests.conftest import SCOPES_CORE

pytestmark = pytest.mark.django_db

ACME = ("acme.test", "acme-alias.test")  # org A's tenant: a verified domain and a secondary domain
BETA = ("beta.test",)  # org B's tenant


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def two_tenants(google, make_org):
    """Org A (acme.test verified) and org B (beta.test verified), both Ready, one shared key; Google tenant
    acme.test (with secondary domain acme-alias.test) and tenant beta.test both delegated to its client ID."""
    scopes = [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY]
    google.tenant("acme.test", "Acme", secondary_domains=["acme-alias.test"])
    google.user("admin@acme.test", is_admin=True)
    google.user("ana@acme.test")
    google.user("cy@acme-alias.test")
    google.delegate("acme.test", google.client_id, scopes)
    google.tenant("beta.test", "Beta")
    google.user("admin@beta.test", is_admin=True)
    google.user("u2@beta.test")
    google.delegate("beta.test", google.client_id, scopes)
    for event in range(3):
        google.create_event("u2@beta.test", {
            "summary": f"Beta confidential {event}",
            "start": {"dateTime": (timezone.now() + timezone.timedelta(hours=event + 1)).isoformat()},
            "end": {"dateTime": (timezone.now() + timezone.timedelta(hours=event + 2)).isoformat()},
        })
    org_a, admin_a = make_org("Acme")
    org_b, admin_b = make_org("Beta")
    for org, domain in ((org_a, "acme.test"), (org_b, "beta.test")):
        Domain.objects.create(organization=org, name=domain, state=Domain.State.VERIFIED, verified_at=timezone.now())
        org.setup_state = "ready"
        org.save(update_fields=["setup_state"])
    return {"google": google, "a": org_a, "b": org_b, "admin_a": admin_a, "admin_b": admin_b}


def subjects(google, since=0):
    return {r.get("subject") for r in google.requests(since)["requests"] if r.get("subject")}


def outside(found, tenant_domains):
    return {s for s in found if s.rsplit("@", 1)[-1] not in tenant_domains}


# --- finding 1: cross-tenant calendar read ---------------------------------------------------------------
def test_signing_in_does_not_let_org_a_read_another_tenants_calendar(two_tenants, client, commit):
    google, org_a = two_tenants["google"], two_tenants["a"]
    since = google.requests()["next"]
    person = person_create(organization=org_a, email="u2@beta.test")
    invitations.signin_link_request(email="u2@beta.test")
    from django.core import mail

    link = [line for line in mail.outbox[-1].body.split() if "/accounts/link/" in line][0]
    with commit():
        client.post("/" + link.split("://", 1)[1].split("/", 1)[1])
    person.refresh_from_db()
    assert person.email_verified_at is not None  # the mailbox is proven...
    with commit():
        activation.person_activate(person=person)
    person.refresh_from_db()
    # ...but beta.test is org B's verified domain: never impersonated for org A.
    assert (person.calendar_state, person.error_code) == ("error", "subject_other_org")
    token, _ = device_token_create(organization=org_a, source=person_calendar_source(person=person, active=False), name="probe")
    body = client.get(reverse("api_meetings"), HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body.get("meetings", []) == []
    assert "u2@beta.test" not in subjects(google, since)


def test_a_foreign_tenant_without_any_org_is_still_refused(two_tenants, client, commit):
    """The same attack with a tenant nobody on the deployment verified: outside org A's tenant."""
    google, org_a = two_tenants["google"], two_tenants["a"]
    Domain.objects.filter(name="beta.test").delete()
    since = google.requests()["next"]
    person = person_create(organization=org_a, email="u2@beta.test")
    Person.objects.filter(pk=person.pk).update(email_verified_at=timezone.now())
    with commit():
        activation.person_activate(person=person)
    person.refresh_from_db()
    assert (person.calendar_state, person.error_code) == ("error", "subject_outside_tenant")
    assert "u2@beta.test" not in subjects(google, since)


# --- finding 2: Test connection with anyone -------------------------------------------------------------
def test_test_connection_as_another_orgs_user_is_refused_before_google(two_tenants, commit):
    google, org_b = two_tenants["google"], two_tenants["b"]
    since = google.requests()["next"]
    with commit():
        test = onboarding.connection_test_start(organization=org_b, test_email="ana@acme.test")
    test.refresh_from_db()
    org_b.refresh_from_db()
    rows = {r["check"]: r for r in test.results}
    assert rows["subject"]["status"] == "fail" and rows["subject"]["code"] == "subject_other_org"
    assert org_b.setup_state == "failing" and test.ok is False
    # Nothing about her was read: no locale, time zone, events or vacation state.
    assert all(r["status"] in ("pass", "skip", "fail") for r in test.results)
    assert not any("locale" in r["detail"] or "event(s)" in r["detail"] for r in test.results)
    assert "ana@acme.test" not in subjects(google, since)


# --- the secondary domain of the org's own tenant ------------------------------------------------------
def test_a_secondary_domain_of_the_orgs_own_tenant_is_learned_through_the_directory(two_tenants, commit):
    google, org_a = two_tenants["google"], two_tenants["a"]
    org_a.directory_import_enabled = True
    org_a.save(update_fields=["directory_import_enabled"])
    with commit():
        test = onboarding.connection_test_start(organization=org_a, test_email="admin@acme.test")
    test.refresh_from_db()
    assert test.ok, test.results
    org_a.refresh_from_db()
    assert org_a.google_customer_id.startswith("C0")
    assert subject_refusal(org_a, "cy@acme-alias.test") is not None  # not yet known
    person = person_create(organization=org_a, email="cy@acme-alias.test")
    with commit():
        activation.person_activate(person=person)
    person.refresh_from_db()
    assert person.calendar_state == "activated", person.error_code
    org_a.refresh_from_db()
    assert "acme-alias.test" in org_a.google_tenant_domains
    assert subject_refusal(org_a, "cy@acme-alias.test") is None
    # Another tenant's user does not become ours by asking: the Directory refuses, the boundary holds.
    Domain.objects.filter(name="beta.test").delete()
    stranger = person_create(organization=org_a, email="u2@beta.test")
    since = google.requests()["next"]
    with commit():
        activation.person_activate(person=stranger)
    stranger.refresh_from_db()
    assert (stranger.calendar_state, stranger.error_code) == ("error", "subject_outside_tenant")
    assert "u2@beta.test" not in {r.get("subject") for r in google.requests(since)["requests"]
                                  if r.get("api_method") == "oauth2.token"}
    assert "beta.test" not in org_a.google_tenant_domains


# --- finding 4 -------------------------------------------------------------------------------------------
def test_one_address_in_two_orgs_gets_one_sign_in_link(two_tenants):
    from django.core import mail

    person_create(organization=two_tenants["a"], email="u2@beta.test")
    mine = person_create(organization=two_tenants["b"], email="u2@beta.test")
    mail.outbox.clear()
    assert invitations.signin_link_request(email="u2@beta.test") == 1
    assert len(mail.outbox) == 1
    assert invitations.signin_home_person("u2@beta.test") == mine


# --- every path, walked ------------------------------------------------------------------------------------
def test_every_path_that_acts_as_a_subject_stays_inside_the_calling_orgs_tenant(two_tenants, commit):
    """Org A is given org B's users every way it can be: a person left Activated from before the rule (or a race),
    a directory admin, a Test connection account. Each path runs; the emulator's log must show no subject
    outside org A's tenant (acme.test and its secondary domain), and org B's own paths still work."""
    google, org_a, org_b = two_tenants["google"], two_tenants["a"], two_tenants["b"]
    org_a.directory_import_enabled = True
    org_a.save(update_fields=["directory_import_enabled"])
    ours = Person.objects.create(organization=org_a, email="ana@acme.test", calendar_state="activated")
    planted = Person.objects.create(organization=org_a, email="u2@beta.test", calendar_state="activated",
                                    email_verified_at=timezone.now())
    pending = Person.objects.create(organization=org_a, email="admin@beta.test", calendar_state="pending",
                                    email_verified_at=timezone.now())
    since = google.requests()["next"]
    with commit():
        # Test connection (as B's admin), the background validation, activation, directory import (as B's admin).
        onboarding.connection_test_run(test_id=ConnectionTest.objects.create(
            organization=org_a, test_email="admin@beta.test", results=onboarding._planned_checks(org_a)).pk)
        activation.person_validate(person_id=pending.pk)
        activation.person_activate(person=person_create(organization=org_a, email="someone@beta.test"))
        job = directory_import.directory_import_start(organization=org_a, admin_email="admin@beta.test")
        # Sync (channel + events), presence and keyword PATCH, for the planted person and ours.
        for person in (ours, planted):
            person_calendar_source(person=person)
            sub = CalendarSource.objects.get(person=person)
            sources.source_run(source_id=sub.pk)
            presence.person_presence_refresh(person=person)
            keywords.process_events(source=sub, events=[{
                "id": "probe", "status": "confirmed", "location": "@webex", "summary": "probe",
                "organizer": {"email": person.email, "self": True}, "etag": '"1"',
                "start": {"dateTime": timezone.now().isoformat()}, "end": {"dateTime": timezone.now().isoformat()},
            }])
        # The gateway itself, asked directly.
        with pytest.raises(Exception) as refused:
            org_gateway(org_a).events_list("u2@beta.test", "primary", maxResults=1)
    assert getattr(refused.value, "error_code", "") == "subject_other_org"
    job.refresh_from_db()
    assert job.state == "failed"
    found = subjects(google, since)
    assert "ana@acme.test" in found  # the walk did reach Google for org A's own people
    assert outside(found, ACME) == set(), found
    assert not CalendarSource.objects.get(person=planted).meetings.exists()
    # Org B is unaffected: its own user syncs.
    mine = Person.objects.create(organization=org_b, email="u2@beta.test", calendar_state="activated")
    since = google.requests()["next"]
    person_calendar_source(person=mine)
    sub = CalendarSource.objects.get(person=mine)
    sources.source_run(source_id=sub.pk)
    assert sub.meetings.count() == 3
    assert outside(subjects(google, since), BETA) == set()
