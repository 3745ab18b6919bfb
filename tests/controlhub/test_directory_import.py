"""Import people from the tenant's Google directory (Admin SDK users.list) through the real client library."""

import html

import pytest
from django.urls import reverse

from calendar_sync.google.gateway import SCOPE_DIRECTORY_READONLY
from controlhub.people import csv_import
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import person_create
from tests.conftest import SCOPES_CORE

# Names a Google admin (or a user editing their own profile) can set, that the add form and the CSV refuse:
# (local part, given name, family name, the issue code all three report).
BAD_NAMES = [
    ("formula", '=HYPERLINK("http://evil.example","Click")', "", "formula"),
    ("plus", "+cmd|' /C calc'!A0", "", "formula"),
    ("minus", "-", "", "formula"),
    ("at", "@SUM(A1)", "", "formula"),
    ("bell", "Eve\x07", "Bell", "control_character"),
    ("newline", "Ann\nInjected", "Line", "control_character"),
    ("override", "Bob\u202eexe.doc", "Smith", "control_character"),
    ("long", "A" * 150, "B" * 100, "name_too_long"),
]


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
    assert job.result == {"created": 3, "already_present": 1, "refused": 0, "issues": [],
                          "domains": [{"domain": "acme.test", "created": 3, "already_present": 1}]}
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


def test_directory_import_refuses_the_names_the_add_form_and_csv_refuse(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks
):
    """A directory name is checked like a typed or uploaded one: the user is skipped with the same reason."""
    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    for local, given, family, _code in BAD_NAMES:
        google_tenant.user(f"{local}@acme.test", given_name=given, family_name=family)
    google_tenant.user("olga@acme.test", given_name="Olga", family_name="Øster-Lind")

    job = _run(admin_client, django_capture_on_commit_callbacks, "admin@acme.test")
    assert job.state == BulkJob.State.DONE, job.message
    emails = set(Person.objects.filter(organization=ready_org).values_list("email", flat=True))
    assert emails == {"admin@acme.test", "ana@acme.test", "bo@acme.test", "olga@acme.test"}
    assert Person.objects.get(email="olga@acme.test").name == "Olga Øster-Lind"
    assert job.result["created"] == 4 and job.result["refused"] == len(BAD_NAMES)
    reasons = {issue["email"]: issue["code"] for issue in job.result["issues"]}
    assert reasons == {f"{local}@acme.test": code for local, _g, _f, code in BAD_NAMES}
    for issue in job.result["issues"]:
        assert csv_import.issue_message(issue)  # the CSV report's catalogue explains each one
    assert not any(p.name.startswith(("=", "+", "-", "@")) for p in Person.objects.all())


@pytest.mark.parametrize("local, given, family, code", BAD_NAMES, ids=[b[0] for b in BAD_NAMES])
def test_add_form_and_csv_refuse_the_same_names(admin_client, ready_org, local, given, family, code):
    name = f"{given} {family}".strip()
    response = admin_client.post(reverse("people_add"), {"email": f"{local}@acme.test", "name": name})
    assert response.status_code == 200
    assert not Person.objects.filter(email=f"{local}@acme.test").exists()
    form_page = html.unescape(response.content.decode())

    def quoted(value):
        return '"' + value.replace('"', '""') + '"'

    # Good rows around it, so the file stays text by the CSV's own whole-file test (few control bytes).
    good = "".join(f"p{i}@acme.test,Person {i}\n" for i in range(5))
    raw = f"email,name\n{good}{local}@acme.test,{quoted(name)}\n".encode()
    report = csv_import.csv_dry_run(organization=ready_org, raw=raw)
    assert [row[0] for row in report["rows"]] == [f"p{i}@acme.test" for i in range(5)]
    assert {(issue["email"], issue["code"]) for issue in report["issues"]} == {(f"{local}@acme.test", code)}
    if code != "name_too_long":  # (the form field's own max_length speaks first for that one)
        assert csv_import.issue_message(report["issues"][0]) in form_page  # one wording on both pages


def test_directory_import_reports_each_domain_one_refused_is_not_a_total_failure(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks
):
    from controlhub.tenancy.models import Domain

    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    google_tenant.tenant("other.test", "Other")  # another Workspace: acme's admin may not list it (403)
    google_tenant.user("zed@other.test")
    Domain.objects.create(organization=ready_org, name="other.test", state=Domain.State.VERIFIED)

    job = _run(admin_client, django_capture_on_commit_callbacks, "admin@acme.test")
    assert job.state == BulkJob.State.DONE, job.message
    by_domain = {d["domain"]: d for d in job.result["domains"]}
    assert by_domain["acme.test"]["created"] == 3 and "error_code" not in by_domain["acme.test"]
    assert by_domain["other.test"]["error_code"] == "not_authorized"
    assert not Person.objects.filter(email="zed@other.test").exists()
    page = html.unescape(admin_client.get(reverse("people_job", args=[job.pk])).content.decode())
    assert "3 people added." in page
    assert "acme.test: 3 added, 0 already present" in page
    assert "other.test: not imported" in page
    assert "The job failed." not in page
