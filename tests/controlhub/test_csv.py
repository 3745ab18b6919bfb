"""CSV import: the dry run reports every bad row and changes nothing; bad files get a clear reason; the import
runs as a background job."""

import html
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from controlhub.people import csv_import
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import person_create
from controlhub.tenancy.models import Domain


@pytest.fixture
def verified(org):
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.VERIFIED)
    return org


def _upload(client, content, name="people.csv"):
    return client.post(reverse("people_csv"), {"file": SimpleUploadedFile(name, content, "text/csv")}, follow=True)


def _page(response):
    return html.unescape(response.content.decode())


GOOD = (
    "Email,Name,Language,Time zone\n"
    "ana@acme.test,Ana Lima,fr,Europe/Paris\n"
    " BO@Acme.Test ,Bo,ko,Asia/Seoul\n"
    "not-an-email,Broken,,\n"
    "ana@ACME.test,Ana again,,\n"
    "existing@acme.test,Already,,\n"
    "cy@other.test,Cy,,\n"
    "=cmd@acme.test,Evil,,\n"
    "dee@acme.test,=cmd|' /C calc'!A0,,\n"
    "eve@acme.test,Eve,xx,\n"
    "fay@acme.test,Fay,,Mars/Olympus\n"
)


def test_dry_run_reports_every_bad_row_and_changes_nothing(admin_client, verified):
    person_create(organization=verified, email="existing@acme.test")
    response = _upload(admin_client, GOOD.encode())
    page = _page(response)
    assert Person.objects.count() == 1
    job = BulkJob.objects.get()
    assert job.payload["confirmed"] is False and job.state == "queued"
    counts = job.result["counts"]
    assert counts == {"total": 10, "new": 3, "error": 6, "warning": 1, "already_present": 1}
    codes = {(i["line"], i["code"]) for i in job.result["issues"]}
    assert codes == {
        (4, "malformed_email"), (5, "duplicate"), (6, "already_present"), (7, "domain_not_verified"),
        (8, "formula"), (9, "formula"), (10, "bad_language"), (11, "bad_time_zone"),
    }
    assert "Not a valid email address." in page
    assert "Duplicate of line 2 in this file." in page
    assert "Domain other.test is not verified" in page and "signing in" in page
    assert "spreadsheets run as a formula" in page
    assert "Import 3 people" in page

    # Confirm: imported in the background; only the good rows.
    with_capture = admin_client.post(reverse("people_job_confirm", args=[job.pk]))
    assert with_capture.status_code == 302


def test_confirm_imports_in_background(admin_client, verified, django_capture_on_commit_callbacks):
    person_create(organization=verified, email="existing@acme.test")
    _upload(admin_client, GOOD.encode())
    job = BulkJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("people_job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "done" and job.result["created"] == 3 and job.payload["rows"] == []
    people = dict(Person.objects.exclude(email="existing@acme.test").values_list("email", "time_zone"))
    assert people == {"ana@acme.test": "Europe/Paris", "bo@acme.test": "Asia/Seoul", "cy@other.test": ""}
    assert set(Person.objects.values_list("calendar_state", flat=True)) == {"off"}
    page = _page(admin_client.get(reverse("people_job", args=[job.pk])))
    assert "3 people added." in page
    # Confirming twice does nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("people_job_confirm", args=[job.pk]))
    assert Person.objects.count() == 4


@pytest.mark.parametrize(
    "content, reason",
    [
        ("email,name\nzoë@acme.test,Zoë Ärger\n".encode("latin-1"), "not UTF-8"),
        ("email,name\nana@acme.test,Ana\n".encode("utf-16"), "UTF-16"),
        ("email,name\nana@acme.test,Ana\n".encode("utf-16-le"), "UTF-16"),
        (bytes(range(256)) * 40, "not a text file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "not a text file"),
        (b"mail,fullname\nana@acme.test,Ana\n", "Missing: email, name"),
        (b"email\nana@acme.test\n", "Missing: name"),
        (b"", "empty"),
        (b"email,name\n", "no people"),
        (os.urandom(10 * 1024 * 1024), "the limit is 5 MB"),
    ],
    ids=["latin1", "utf16-bom", "utf16-le", "binary", "png", "wrong-columns", "missing-name", "empty", "header-only",
         "10mb-garbage"],
)
def test_bad_files_get_a_clear_reason_and_change_nothing(admin_client, verified, content, reason):
    page = _page(_upload(admin_client, content))
    assert "Nothing was imported" in page or "the limit is" in page
    assert reason in page
    assert not Person.objects.exists() and not BulkJob.objects.exists()


def test_semicolons_bom_and_extra_columns(verified):
    raw = "\ufeffName;Department;E-mail\nAna;Sales;ana@acme.test\n".encode()
    report = csv_import.csv_dry_run(organization=verified, raw=raw)
    assert report["rows"] == [["ana@acme.test", "Ana", "", ""]]


def test_ten_thousand_rows_dry_run_and_import(verified, django_capture_on_commit_callbacks):
    lines = ["email,name"] + [f"user{i:05d}@acme.test,User {i}" for i in range(10_000)]
    raw = ("\n".join(lines) + "\n").encode()
    job = csv_import.csv_import_prepare(organization=verified, raw=raw)
    assert job.result["counts"]["new"] == 10_000 and not Person.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        csv_import.csv_import_confirm(job=job)
    job.refresh_from_db()
    assert job.state == "done" and job.done == 10_000
    assert Person.objects.filter(organization=verified).count() == 10_000
