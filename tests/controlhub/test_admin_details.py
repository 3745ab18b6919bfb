"""Small things a real admin notices: destructive actions ask first (saying how many), bulk jobs report where
people ended, and the not-found page is the product's own."""

import html
import json

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from calendar_sync.meetings.device_tokens import device_token_create
from controlhub.people import activation
from controlhub.people.calendar import person_calendar_source
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import person_create


def _people(org, n, state, prefix):
    now = timezone.now()
    Person.objects.bulk_create(Person(organization=org, email=f"{prefix}{i:03d}@acme.test", calendar_state=state,
                                      state_changed_at=now) for i in range(n))


def _questions(page):
    marker = 'data-confirm-questions="'
    start = page.index(marker) + len(marker)
    return json.loads(html.unescape(page[start:page.index('"', start)]))


def test_bulk_deactivate_asks_with_the_count_of_each_selection(admin_client, ready_org):
    _people(ready_org, 12, "activated", "a")
    _people(ready_org, 3, "error", "e")
    _people(ready_org, 4, "off", "o")
    questions = _questions(admin_client.get(reverse("people")).content.decode())["deactivate"]
    assert questions["all"] == "Deactivate 15 people? Their meetings stop syncing."  # the 4 Off are not changed
    assert questions["error"] == "Deactivate 3 people? Their meetings stop syncing."
    assert questions["ids"]["1"] == "Deactivate 1 person? Their meetings stop syncing."
    assert questions["ids"]["12"] == "Deactivate 12 people? Their meetings stop syncing."
    assert set(_questions(admin_client.get(reverse("people")).content.decode())) == {"deactivate"}  # only it asks

    admin_client.cookies["django_language"] = "fr"
    fr = _questions(admin_client.get(reverse("people"), HTTP_ACCEPT_LANGUAGE="fr").content.decode())["deactivate"]
    assert fr["ids"]["1"] == "Désactiver 1 personne ? Ses réunions ne seront plus synchronisées."
    assert fr["ids"]["12"] == "Désactiver 12 personnes ? Leurs réunions ne seront plus synchronisées."
    admin_client.cookies["django_language"] = "ko"
    ko = _questions(admin_client.get(reverse("people"), HTTP_ACCEPT_LANGUAGE="ko").content.decode())
    assert ko["deactivate"]["error"].startswith("3명을 비활성화할까요?")


def test_deactivating_a_person_and_revoking_a_token_ask_first(admin_client, ready_org):
    person = person_create(organization=ready_org, email="ana@acme.test", name="Ana")
    Person.objects.filter(pk=person.pk).update(calendar_state="activated")
    page = html.unescape(admin_client.get(reverse("person", args=[person.pk])).content.decode())
    assert 'data-confirm="Deactivate ana@acme.test? Their meetings stop syncing."' in page
    device_token_create(organization=ready_org, source=person_calendar_source(person=person, active=False),
                        name="Lobby kiosk")
    page = html.unescape(admin_client.get(reverse("device_tokens")).content.decode())
    assert 'data-confirm="Revoke the token “Lobby kiosk”? Displays and scripts using it stop at once."' in page


def test_a_finished_bulk_job_says_where_people_ended_with_links(admin_client, ready_org, admin_user):
    _people(ready_org, 2, "off", "ok")
    now = timezone.now()
    Person.objects.create(organization=ready_org, email="x@unverified.test", state_changed_at=now)  # blocked
    job = activation.bulk_job_start(organization=ready_org, kind="activate", selection="all", actor=admin_user)
    job = activation.bulk_job_run(job_id=job.pk)
    Person.objects.filter(email="ok000@acme.test").update(calendar_state="activated")  # validated meanwhile
    page = html.unescape(admin_client.get(reverse("people_job", args=[job.pk])).content.decode())
    assert "3 of 3 processed" in page
    assert "Where they are now:" in page
    assert "1 activated" in page and "1 pending" in page and "1 in error" in page and "0 off" in page
    assert f'href="{reverse("people")}?state=error" id="job-outcome-error"' in page


def test_a_bulk_job_with_nobody_to_change_says_so_not_0_of_0(admin_client, ready_org, admin_user):
    _people(ready_org, 2, "off", "p")
    job = activation.bulk_job_start(organization=ready_org, kind="deactivate", selection="all", actor=admin_user)
    job = activation.bulk_job_run(job_id=job.pk)
    assert job.state == BulkJob.State.DONE and job.total == 0
    page = html.unescape(admin_client.get(reverse("people_job", args=[job.pk])).content.decode())
    assert "0 of 0 processed" not in page
    assert "Nobody to change: no one in the selection was in a state this action applies to." in page


@override_settings(DEBUG=True)
def test_not_found_is_the_products_page_even_with_debug(admin_client):
    response = admin_client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This page does not exist, or it belongs to another organization." in page
    assert "URLconf" not in page and "accounts/login/" not in page  # Django's page lists every URL pattern
    admin_client.cookies["django_language"] = "fr"
    fr = admin_client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="fr")
    assert fr.status_code == 404 and "Page introuvable" in fr.content.decode()


@override_settings(DEBUG=True, DEBUG_404=True)
def test_debug_404_brings_back_djangos_technical_page_for_a_developer(admin_client):
    response = admin_client.get("/no-such-page/")
    assert response.status_code == 404 and "URLconf" in response.content.decode()
