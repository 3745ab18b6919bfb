"""The Meeting service page: settings saved with their secrets encrypted, bad input refused, and the Test
button making and deleting a meeting on the emulated services, naming each fault."""

import pytest
from django.test import Client
from django.urls import reverse

from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import meeting_service_of, webex_secrets

from .conftest import SITE

pytestmark = pytest.mark.django_db


def _webex_values(webex, **extra):
    return {"kind": "webex", "webex_site_url": f"https://{SITE.upper()}/", "webex_client_id": webex.app["client_id"],
            "webex_client_secret": webex.app["client_secret"], "webex_refresh_token": webex.app["refresh_token"],
            "bbb_algorithm": "sha256", **extra}


def test_page_shows_the_choice(admin_client):
    resp = admin_client.get(reverse("meeting_service"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="meeting-service-form"' in html and 'value="bigbluebutton"' in html
    assert 'aria-current="page"' in html and "Meeting service" in html


def test_save_webex_keeps_secrets_encrypted_and_never_shows_them(admin_client, org, webex):
    resp = admin_client.post(reverse("meeting_service_save"), _webex_values(webex))
    assert resp.status_code == 302
    service = MeetingService.objects.get(organization=org)
    assert service.kind == "webex" and service.webex_site_url == SITE
    assert webex.app["client_secret"].encode() not in bytes(service.webex_secrets_enc)
    assert webex_secrets(service) == {"client_secret": webex.app["client_secret"],
                                      "refresh_token": webex.app["refresh_token"]}
    html = admin_client.get(reverse("meeting_service")).content.decode()
    assert webex.app["client_secret"] not in html and webex.app["refresh_token"] not in html
    assert "Stored. Leave empty to keep it." in html
    # Saving again without the secrets keeps them.
    values = _webex_values(webex, webex_client_secret="", webex_refresh_token="", webex_site_field="Webex.SiteUrl",
                           directory_admin_email="admin@acme.test")
    assert admin_client.post(reverse("meeting_service_save"), values).status_code == 302
    assert webex_secrets(meeting_service_of(org))["refresh_token"] == webex.app["refresh_token"]


@pytest.mark.parametrize("values, field", [
    ({"kind": "webex"}, "webex_site_url"),
    ({"kind": "webex", "webex_site_url": "not a site!"}, "webex_site_url"),
    ({"kind": "webex", "webex_site_field": "no-dot"}, "webex_site_field"),
    ({"kind": "jitsi", "jitsi_host": "https://"}, "jitsi_host"),
    ({"kind": "jitsi", "jitsi_host": "meet.example.org", "jitsi_app_id": "app"}, "jitsi_app_id"),
    ({"kind": "bigbluebutton", "bbb_api_url": "bbb.example.org"}, "bbb_api_url"),
    ({"kind": "bigbluebutton", "bbb_api_url": "https://bbb.example.org"}, "bbb_secret"),
    ({"kind": "teams"}, "kind"),
])
def test_bad_input_is_refused_with_a_clear_error(admin_client, org, values, field):
    resp = admin_client.post(reverse("meeting_service_save"), {"bbb_algorithm": "sha256", **values})
    assert resp.status_code == 400
    assert field in resp.context["form"].errors
    assert not MeetingService.objects.filter(organization=org).exists()


def test_only_full_admins_change_it(client, readonly_admin, plain_user):
    client.force_login(readonly_admin)
    assert client.get(reverse("meeting_service")).status_code == 200
    assert client.post(reverse("meeting_service_save"), {"kind": "none"}).status_code == 403
    assert client.post(reverse("meeting_service_test"), {"email": "a@acme.test"}).status_code == 403
    client.force_login(plain_user)
    assert client.get(reverse("meeting_service")).status_code == 403


def _test(admin_client, email="eli@acme.test"):
    resp = admin_client.post(reverse("meeting_service_test"), {"email": email})
    assert resp.status_code == 200
    report = resp.context["report"]
    return report, {s.key: s for s in report.steps}, resp.content.decode()


def test_test_button_makes_and_deletes_a_webex_meeting(admin_client, org, webex):
    admin_client.post(reverse("meeting_service_save"), _webex_values(webex))
    report, steps, html = _test(admin_client)
    assert report.ok, [(s.key, s.detail) for s in report.steps]
    assert list(steps) == ["settings", "token", "site", "create", "delete", "room"]
    assert steps["site"].detail == SITE and f"@{SITE}" in steps["create"].detail
    assert webex.meetings() == []  # made, then deleted
    assert [r["method"] for r in webex.requests() if r["path"] == "/v1/meetings"] == ["POST"]
    assert 'id="test-state"' in html and "Working" in html
    assert meeting_service_of(org).test_ok is True


@pytest.mark.parametrize("breakage, step, title", [
    ("scope", "create", "Webex scope missing"),
    ("revoked", "token", "Webex refresh token expired or revoked"),
    ("host", "create", "Not a host on the Webex site"),
    ("secret", "token", "Webex client ID or secret refused"),
])
def test_test_button_names_each_webex_fault(admin_client, org, webex, breakage, step, title):
    values = _webex_values(webex)
    if breakage == "scope":
        webex("PATCH", f"/service-apps/{webex.app['client_id']}", {"scopes": ["meeting:admin_schedule_read"]})
    elif breakage == "revoked":
        webex("POST", "/tokens/revoke", {"client_id": webex.app["client_id"], "kind": "all"})
    elif breakage == "secret":
        values["webex_client_secret"] = "wrong"
    admin_client.post(reverse("meeting_service_save"), values)
    report, steps, html = _test(admin_client, "carl@acme.test" if breakage == "host" else "eli@acme.test")
    assert not report.ok and steps[step].ok is False
    assert str(steps[step].error.title) == title and title in html and "Fix:" in html
    later = list(steps)[list(steps).index(step) + 1:]
    assert all(steps[k].skipped for k in later)
    assert meeting_service_of(org).test_ok is False


def test_test_button_on_bigbluebutton_and_its_checksum_fault(admin_client, org, bbb):
    base = {"kind": "bigbluebutton", "bbb_api_url": bbb.api_url, "bbb_algorithm": "sha256"}
    admin_client.post(reverse("meeting_service_save"), {**base, "bbb_secret": "bbb-test-secret"})
    report, steps, _ = _test(admin_client)
    assert report.ok and list(steps) == ["settings", "reach", "create", "delete"]
    admin_client.post(reverse("meeting_service_save"), {**base, "bbb_secret": "wrong"})
    report, steps, html = _test(admin_client)
    assert steps["create"].ok is False and steps["create"].error.code == "bbb_checksum_error"


def test_test_button_on_jitsi_and_none(admin_client, org):
    admin_client.post(reverse("meeting_service_save"), {"kind": "jitsi", "jitsi_host": "meet.example.org",
                                                        "jitsi_app_id": "hub", "jitsi_secret": "x" * 32,
                                                        "bbb_algorithm": "sha256"})
    report, steps, _ = _test(admin_client)
    assert report.ok and steps["create"].detail.startswith("https://meet.example.org/")
    assert "room " in steps["token"].detail
    admin_client.post(reverse("meeting_service_save"), {"kind": "none", "bbb_algorithm": "sha256"})
    report, steps, html = _test(admin_client)
    assert not report.ok and steps["none"].error.code == "meeting_service_none"
    assert "Keyword scheduling is off" in html


def test_test_email_must_be_an_address(admin_client):
    resp = admin_client.post(reverse("meeting_service_test"), {"email": "not an address"})
    assert resp.status_code == 400 and "email" in resp.context["test_form"].errors


def test_test_button_is_limited_per_organization(admin_client, org, settings, make_org):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "meeting_service_test_org": (2, 600)}
    admin_client.post(reverse("meeting_service_save"), {"kind": "jitsi", "jitsi_host": "meet.example.org",
                                                        "jitsi_app_id": "hub", "jitsi_secret": "x" * 32,
                                                        "bbb_algorithm": "sha256"})
    for _ in range(2):
        resp = admin_client.post(reverse("meeting_service_test"), {"email": "ana@acme.test"})
        assert resp.status_code == 200 and resp.context["report"].ok
    resp = admin_client.post(reverse("meeting_service_test"), {"email": "ana@acme.test"})
    assert resp.status_code == 429 and 0 < int(resp["Retry-After"]) <= 600
    assert "report" not in resp.context
    assert "The meeting service test was run too many times in a short while. Try again in" in resp.content.decode()
    # Another organization has its own allowance.
    _, other_admin = make_org("Beta")
    other = Client()
    other.force_login(other_admin)
    for _ in range(2):
        assert other.post(reverse("meeting_service_test"), {"email": "x@beta.test"}).status_code == 200
