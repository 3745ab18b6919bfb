"""Destructive actions ask first in a real browser, saying how many (static/js/app.js, data-confirm)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from controlhub.people.models import BulkJob, Person
from controlhub.tenancy.models import Domain
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_deactivate_asks_with_the_ticked_count_and_cancel_keeps_everyone(page, live_server, org):
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.VERIFIED)
    now = timezone.now()
    Person.objects.bulk_create(Person(organization=org, email=f"u{i}@acme.test", calendar_state="activated",
                                      state_changed_at=now) for i in range(5))
    sign_in(page, live_server, "admin@acme.test")
    page.goto(live_server.url + "/people/")
    boxes = page.locator("#people-table tbody input[name=ids]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-action", "deactivate")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#bulk-submit")
    expect(page.locator("#bulk-submit")).to_be_visible()
    assert asked == ["Deactivate 2 people? Their meetings stop syncing."]
    assert not BulkJob.objects.exists()  # cancelled: nothing started

    page.select_option("#bulk-selection", "all")
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#bulk-submit")
    page.wait_for_url("**/people/jobs/**")
    assert asked[-1] == "Deactivate 5 people? Their meetings stop syncing."
    assert BulkJob.objects.get().kind == "deactivate"

    page.goto(live_server.url + "/people/")
    page.select_option("#bulk-action", "activate")  # not destructive: no question
    page.select_option("#bulk-selection", "all")
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#bulk-submit")
    page.wait_for_url("**/people/jobs/**")
    assert len(asked) == 2
