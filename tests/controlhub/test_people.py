"""People pages: list, filters, counts, banner, export, bulk jobs, permissions and org scoping."""

import csv
import io

from django.urls import reverse
from django.utils import timezone

from controlhub.people import activation
from controlhub.people.models import BulkJob, Person, PersonHistory
from controlhub.people.services import email_normalize, person_create


def _seed(org, n, state="off", code="", prefix="p"):
    now = timezone.now()
    Person.objects.bulk_create(
        Person(organization=org, email=f"{prefix}{i:05d}@acme.test", name=f"Person {i}", calendar_state=state,
               error_code=code, state_changed_at=now)
        for i in range(n)
    )


def _export(client, query="", language="en"):
    response = client.get(reverse("people_export") + query, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_email_normalization():
    assert email_normalize("  Ana.Lima@Acme.TEST\n") == "ana.lima@acme.test"
    decomposed = "Jose\u0301@acme.test"
    assert email_normalize(decomposed) == "jos\u00e9@acme.test"


def test_add_person_unique_per_org(admin_client, org):
    response = admin_client.post(reverse("people_add"), {"email": " Ana@ACME.test ", "name": "Ana"})
    assert response.status_code == 302
    assert Person.objects.get(organization=org).email == "ana@acme.test"
    response = admin_client.post(reverse("people_add"), {"email": "ana@acme.test", "name": "Ana"})
    assert response.status_code == 200
    assert "already in your organization" in response.content.decode()
    assert Person.objects.filter(organization=org).count() == 1


def test_add_person_rejects_formula_name(admin_client, org):
    response = admin_client.post(reverse("people_add"), {"email": "x@acme.test", "name": "=cmd|' /C calc'!A0"})
    assert response.status_code == 200
    assert not Person.objects.exists()


def test_list_filters_search_counts_banner_and_pagination(admin_client, org):
    _seed(org, 120)
    _seed(org, 7, state="error", code="user_not_in_google", prefix="e")
    _seed(org, 3, state="error", code="api_disabled", prefix="d")
    page = admin_client.get(reverse("people")).content.decode()
    assert "There are 10 users with activation errors." in page
    assert 'href="/people/?state=error"' in page
    assert 'data-state="off">120<' in page and 'data-state="error">10<' in page
    assert "Page 1 of 3" in page
    page2 = admin_client.get(reverse("people") + "?page=3").content.decode()
    assert "p00099@acme.test" in page2 or "p00119@acme.test" in page2

    filtered = admin_client.get(reverse("people") + "?state=error&error_code=api_disabled").content.decode()
    assert filtered.count('name="ids"') == 3
    search = admin_client.get(reverse("people") + "?q=Person 42").content.decode()
    assert "p00042@acme.test" in search and "p00043@acme.test" not in search


def test_export_is_streaming_filtered_and_safe(admin_client, org):
    person_create(organization=org, email="ana@acme.test", name="=HYPERLINK(\"http://evil\")")
    person_create(organization=org, email="bo@acme.test", name="+1 555")
    p = person_create(organization=org, email="cy@acme.test", name="@SUM(A1)")
    Person.objects.filter(pk=p.pk).update(calendar_state="error", error_code="user_deleted")
    rows = _export(admin_client)
    assert rows[0] == ["email", "name", "state", "error_code", "message", "last_change"]
    by_email = {r[0]: r for r in rows[1:]}
    assert by_email["ana@acme.test"][1].startswith("'=")
    assert by_email["bo@acme.test"][1].startswith("'+")
    assert by_email["cy@acme.test"][1:5] == ["'@SUM(A1)", "error", "user_deleted", "Google account deleted"]
    # Column names and state codes are machine-readable whatever the UI language.
    assert _export(admin_client, "", language="fr")[0] == rows[0]
    only_errors = _export(admin_client, "?state=error")
    assert [r[0] for r in only_errors[1:]] == ["cy@acme.test"]


def test_readonly_admin_sees_but_cannot_change(client, org, readonly_admin):
    person = person_create(organization=org, email="ana@acme.test")
    client.force_login(readonly_admin)
    assert client.get(reverse("people")).status_code == 200
    assert client.get(reverse("person", args=[person.pk])).status_code == 200
    assert client.get(reverse("people_export")).status_code == 200
    page = client.get(reverse("person", args=[person.pk])).content.decode()
    assert 'id="btn-activate"' not in page
    for url, data in [
        (reverse("people_add"), {"email": "x@acme.test"}),
        (reverse("person_action", args=[person.pk, "activate"]), {}),
        (reverse("person_action", args=[person.pk, "invite"]), {}),
        (reverse("people_bulk"), {"action": "activate", "selection": "all"}),
        (reverse("people_csv"), {}),
        (reverse("people_directory"), {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    person.refresh_from_db()
    assert person.calendar_state == "off" and not BulkJob.objects.exists()


def test_plain_user_cannot_open_people(client, org, plain_user):
    client.force_login(plain_user)
    assert client.get(reverse("people")).status_code == 403


def test_org_scoping(admin_client, org, make_org):
    other_org, _ = make_org("Globex")
    theirs = person_create(organization=other_org, email="secret@globex.test", name="Secret Person")
    job = BulkJob.objects.create(organization=other_org, kind=BulkJob.Kind.ACTIVATE)
    person_create(organization=org, email="ana@acme.test")
    assert admin_client.get(reverse("person", args=[theirs.pk])).status_code == 404
    assert admin_client.post(reverse("person_action", args=[theirs.pk, "activate"])).status_code == 404
    assert admin_client.post(reverse("person_action", args=[theirs.pk, "deactivate"])).status_code == 404
    assert admin_client.get(reverse("people_job", args=[job.pk])).status_code == 404
    for query in ("", "?q=secret", "?q=globex", "?state=off"):
        assert "secret@globex.test" not in admin_client.get(reverse("people") + query).content.decode()
        assert all("globex" not in row[0] for row in _export(admin_client, query))
    # A bulk job with the other org's ids touches nothing there.
    response = admin_client.post(reverse("people_bulk"), {"action": "deactivate", "selection": "ids",
                                                         "ids": [theirs.pk]})
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert not theirs.history.exists()


def test_bulk_request_only_creates_a_job(admin_client, ready_org):
    _seed(ready_org, 2000)
    response = admin_client.post(reverse("people_bulk"), {"action": "activate", "selection": "all"})
    assert response.status_code == 302
    job = BulkJob.objects.get()
    assert response["Location"] == reverse("people_job", args=[job.pk])
    # Nothing ran: tasks are enqueued on commit, and the test transaction never commits.
    assert job.state == "queued" and job.total == 0
    assert not Person.objects.exclude(calendar_state="off").exists()


def test_bulk_job_chunks_with_set_based_updates(ready_org, admin_user, django_assert_max_num_queries):
    _seed(ready_org, 1200, prefix="a")  # verified domain
    now = timezone.now()
    Person.objects.bulk_create(
        Person(organization=ready_org, email=f"x{i}@unverified.test", state_changed_at=now) for i in range(30)
    )
    job = activation.bulk_job_start(organization=ready_org, kind="activate", selection="all", actor=admin_user)
    # 1,230 people in 3 chunks: a bounded number of queries, not one per person.
    with django_assert_max_num_queries(40):
        job = activation.bulk_job_run(job_id=job.pk)
    assert (job.state, job.total, job.done, job.failed) == ("done", 1230, 1230, 30)
    assert job.result["pending"] == 1200 and job.result["error"] == 30
    assert Person.objects.filter(calendar_state="pending").count() == 1200
    assert Person.objects.filter(calendar_state="error", error_code="subject_outside_tenant").count() == 30
    assert PersonHistory.objects.filter(message="Service enabled").count() == 1230
    assert PersonHistory.objects.filter(message="Validation started").count() == 1200
    # Deactivate all.
    job = activation.bulk_job_start(organization=ready_org, kind="deactivate", selection="all")
    job = activation.bulk_job_run(job_id=job.pk)
    assert job.result["off"] == 1230
    assert not Person.objects.exclude(calendar_state="off").exists()


def test_bulk_reactivate_all_in_error_end_to_end(google_tenant, ready_org, admin_client,
                                                 django_capture_on_commit_callbacks):
    for email in ("ana@acme.test", "bo@acme.test", "ghost@acme.test"):
        p = person_create(organization=ready_org, email=email)
        Person.objects.filter(pk=p.pk).update(calendar_state="error", error_code="google_unavailable")
    person_create(organization=ready_org, email="admin@acme.test")  # off: untouched
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("people_bulk"), {"action": "reactivate", "selection": "error"})
    job = BulkJob.objects.get()
    assert job.state == "done" and job.total == 3
    states = dict(Person.objects.values_list("email", "calendar_state"))
    assert states == {"ana@acme.test": "activated", "bo@acme.test": "activated", "ghost@acme.test": "error",
                      "admin@acme.test": "off"}
    assert Person.objects.get(email="ghost@acme.test").error_code == "user_not_in_google"
    page = admin_client.get(response["Location"]).content.decode()
    assert "3 of 3 processed" in page


def test_person_page_buttons_and_history(admin_client, ready_org, admin_user):
    person = person_create(organization=ready_org, email="ana@acme.test", name="Ana")
    page = admin_client.get(reverse("person", args=[person.pk])).content.decode()
    assert 'id="btn-activate"' in page and 'id="btn-invite"' in page
    Person.objects.filter(pk=person.pk).update(calendar_state="error", error_code="not_a_calendar_user")
    PersonHistory.objects.create(person=person, message="Error: not_a_calendar_user", code="not_a_calendar_user")
    page = admin_client.get(reverse("person", args=[person.pk])).content.decode()
    assert 'id="btn-reactivate"' in page and 'id="btn-deactivate"' in page
    assert "No Google Calendar for this user" in page and "unsuspend the user" in page
    assert "Error: No Google Calendar for this user (not_a_calendar_user)" in page


def test_people_page_lists_people_for_user_page_me(client, ready_org, plain_user):
    person_create(organization=ready_org, email="user@acme.test")
    Person.objects.filter(email="user@acme.test").update(user=plain_user, calendar_state="error",
                                                         error_code="user_not_in_google")
    client.force_login(plain_user)
    page = client.get(reverse("me")).content.decode()
    assert "Not a user of your Google Workspace" in page
    assert "What your admin must do" in page


def test_history_is_shown_in_the_viewers_language(admin_client, org):
    person = person_create(organization=org, email="ana@acme.test")
    PersonHistory.objects.create(person=person, message="Service enabled")
    PersonHistory.objects.create(person=person, message="Error: user_deleted", code="user_deleted")
    page = admin_client.get(reverse("person", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Service activé" in page
    assert "Erreur : " in page and "(user_deleted)" in page
    page = admin_client.get(reverse("person", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "서비스 사용 설정됨" in page
