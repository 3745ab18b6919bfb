"""Out of office from the Gmail vacation responder, read when a person is activated, shown to admins."""

import time

from django.urls import reverse

from controlhub.people import activation
from controlhub.people.models import Person
from controlhub.people.services import person_create


def test_activation_reads_vacation_and_admin_pages_show_out_of_office(
    google_tenant, ready_org, admin_client, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_BASE_URL = "http://127.0.0.1:9"  # no push receiver in this test
    now_ms = int(time.time() * 1000)
    google_tenant.vacation("ana@acme.test", {
        "enableAutoReply": True, "responseSubject": "Away", "responseBodyPlainText": "Back soon",
        "startTime": str(now_ms - 3_600_000), "endTime": str(now_ms + 3 * 86_400_000)})
    ana = person_create(organization=ready_org, email="ana@acme.test", name="Ana")
    bo = person_create(organization=ready_org, email="bo@acme.test", name="Bo")
    for person in (ana, bo):
        with django_capture_on_commit_callbacks(execute=True):
            activation.person_activate(person=person)
    ana.refresh_from_db()
    bo.refresh_from_db()
    assert ana.calendar_state == Person.CalendarState.ACTIVATED
    assert ana.is_out_of_office() and ana.ooo_source
    assert not bo.is_out_of_office() and bo.ooo_checked_at is not None

    listing = admin_client.get(reverse("people")).content.decode()
    assert listing.count('data-presence="out_of_office"') == 1
    detail = admin_client.get(reverse("person", args=[ana.pk])).content.decode()
    assert "Out of office until" in detail
    assert 'data-presence="out_of_office"' not in admin_client.get(reverse("person", args=[bo.pk])).content.decode()
