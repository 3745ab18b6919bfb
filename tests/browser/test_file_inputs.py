"""File inputs speak the page's language, not the browser's: a translated button and the chosen file's name."""

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_csv_file_input_is_in_french_and_names_the_chosen_file(page, live_server, org, admin_user, tmp_path):
    sign_in(page, live_server, admin_user.email, lands_on="/dashboard/")
    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": live_server.url}])
    page.goto(live_server.url + "/people/")
    upload = page.locator("#csv-upload")
    expect(upload.locator(".file-choose")).to_have_text("Choisir un fichier")
    expect(upload.locator("[data-file-name]")).to_have_text("Aucun fichier choisi")
    csv = tmp_path / "nouvelles-personnes.csv"
    csv.write_text("email,name\nnew@acme.test,New\n")
    upload.get_by_label("Fichier CSV").set_input_files(str(csv))
    expect(upload.locator("[data-file-name]")).to_have_text("nouvelles-personnes.csv")
    upload.get_by_label("Fichier CSV").focus()
    expect(upload.locator("input[type=file]")).to_be_focused()  # the keyboard still reaches it
