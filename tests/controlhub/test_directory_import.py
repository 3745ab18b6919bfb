"""Import people from the tenant's Google directory (Admin SDK users.list) through the real client library."""

import pytest
from django.urls import reverse

from calendar_sync.google.gateway import SCOPE_DIRECTORY_READONLY
from controlhub.models import BulkJob, Person
from controlhub.services.people import person_create
from tests.conftest import SCOPES_CORE


@pytest.fixture
def ready_org(ready_org):
    ready_org.directory_import_enabled = True
    ready_org.save(update_fields=["directory_import_enabled"])
    return ready_org


def _run(admin_client, django_capture_on_commit_callbacks, admin_email):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("people_directory"), {"admin_email": admin_email})
    assert response.status_code == 302
    return BulkJob.objects.get(kind=BulkJob.Kind.DIRECTORY_IMPORT)


def test_directory_import_adds_missing_people_of_verified_domains(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks
):
    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    google_tenant.user("Cy.Upper@acme.test")
    google_tenant.tenant("other.test", "Other")
    google_tenant.user("zed@other.test")  # a domain this org has not verified: never imported
    person_create(organization=ready_org, email="ana@acme.test", name="Ana")

    job = _run(admin_client, django_capture_on_commit_callbacks, "admin@acme.test")
    assert job.state == BulkJob.State.DONE, job.message
    emails = set(Person.objects.filter(organization=ready_org).values_list("email", flat=True))
    assert emails == {"admin@acme.test", "ana@acme.test", "bo@acme.test", "cy.upper@acme.test"}
    assert job.result == {"created": 3, "already_present": 1}
    assert set(Person.objects.filter(organization=ready_org).values_list("calendar_state", flat=True)) == {"off"}
    page = admin_client.get(reverse("people_job", args=[job.pk])).content.decode()
    assert "3 people added." in page and "1 was already present." in page


def test_directory_import_by_a_non_admin_fails_with_the_reason(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks
):
    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    job = _run(admin_client, django_capture_on_commit_callbacks, "ana@acme.test")
    assert job.state == BulkJob.State.FAILED
    assert job.result["error_code"] == "not_authorized"
    assert Person.objects.filter(organization=ready_org).count() == 0


def test_directory_import_without_the_directory_scope_names_the_delegation_problem(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks
):
    job = _run(admin_client, django_capture_on_commit_callbacks, "admin@acme.test")
    assert job.state == BulkJob.State.FAILED
    assert job.result["error_code"] in ("delegation_not_authorized", "scope_missing")
    assert "Google Admin" in job.message
    assert Person.objects.filter(organization=ready_org).count() == 0
