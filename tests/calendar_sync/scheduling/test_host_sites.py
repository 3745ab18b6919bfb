"""A person's own Webex site, named in a custom schema field of their Google directory record, overrides the
org's default site: their meetings are made there and their page says so."""

import pytest
from django.urls import reverse

from calendar_sync.google.gateway import SCOPE_DIRECTORY_READONLY
from calendar_sync.scheduling.keywords import process_events
from calendar_sync.scheduling.models import HostSite, MeetingService
from calendar_sync.scheduling.services import meeting_service_of, webex_host_site
from controlhub.tenancy.google_connection import org_gateway
from tests.calendar_sync.test_meetings_support import make_person, make_source
from tests.conftest import SCOPES_CORE

from .conftest import SITE

pytestmark = pytest.mark.django_db
OTHER = "other.webex.com"


@pytest.fixture
def directory(webex_org, google_tenant):
    google_tenant.delegate("acme.test", google_tenant.client_id, [*SCOPES_CORE, SCOPE_DIRECTORY_READONLY])
    google_tenant.user("dee@acme.test", locale="en", time_zone="UTC",
                       custom_schemas={"Webex": {"SiteUrl": f"https://{OTHER}/", "Note": "x"}})
    google_tenant.user("eli@acme.test", locale="en", time_zone="UTC")
    MeetingService.objects.filter(organization=webex_org).update(webex_site_field="Webex.SiteUrl",
                                                                 directory_admin_email="admin@acme.test")
    return google_tenant


def _directory_reads(google, since):
    return [r for r in google.requests(since)["requests"] if "/admin/directory/v1/users/" in r["path"]]


def test_meetings_are_made_on_each_persons_site(webex_org, directory, google, webex):
    dee = make_source(make_person(webex_org, "dee@acme.test"))
    eli = make_source(make_person(webex_org, "eli@acme.test"))
    for source in (dee, eli):
        event = google.create_event(source.subject, {
            "summary": "Sync", "location": "@webex", "start": {"dateTime": "2031-01-10T10:00:00Z"},
            "end": {"dateTime": "2031-01-10T11:00:00Z"}})
        assert process_events(source=source,
                              events=[org_gateway(webex_org).event_get(source.subject, event["id"])]) == 1
    sites = {m["hostEmail"]: m["siteUrl"] for m in webex.meetings()}
    assert sites == {"dee@acme.test": OTHER, "eli@acme.test": SITE}
    description = org_gateway(webex_org).events_list("dee@acme.test")["items"][0]["description"]
    assert f"@{OTHER}" in description


def test_the_directory_is_read_once_in_a_while(webex_org, directory, google):
    service = meeting_service_of(webex_org)
    since = google.requests()["next"]
    assert webex_host_site(service, "dee@acme.test") == OTHER
    assert webex_host_site(service, "Dee@acme.test") == OTHER
    assert webex_host_site(service, "eli@acme.test") == ""
    reads = _directory_reads(google, since)
    assert len(reads) == 2
    assert HostSite.objects.get(email="dee@acme.test").site_url == OTHER
    # The record changes: read again when asked to (and after HOST_SITE_TTL).
    directory.patch_user("dee@acme.test", custom_schemas={"Webex": {"SiteUrl": "acme.webex.com"}})
    assert webex_host_site(service, "dee@acme.test", refresh=True) == SITE


def test_a_directory_failure_keeps_the_default(webex_org, google_tenant, google):
    # The directory scope is not delegated: the read fails, the person gets the org's default site.
    MeetingService.objects.filter(organization=webex_org).update(webex_site_field="Webex.SiteUrl",
                                                                 directory_admin_email="admin@acme.test")
    service = meeting_service_of(webex_org)
    assert webex_host_site(service, "ana@acme.test") == ""
    assert HostSite.objects.get(email="ana@acme.test").error_code


def test_the_person_page_shows_the_site(admin_client, webex_org, directory):
    dee = make_person(webex_org, "dee@acme.test")
    eli = make_person(webex_org, "eli@acme.test")
    html = admin_client.get(reverse("person", args=[dee.pk])).content.decode()
    assert 'id="person-webex-site"' in html and OTHER in html and "from the Google directory" in html
    html = admin_client.get(reverse("person", args=[eli.pk])).content.decode()
    assert SITE in html and "the organization's default" in html


def test_no_webex_no_site_row(admin_client, org):
    person = make_person(org, "eli@acme.test")
    assert 'id="person-webex-site"' not in admin_client.get(reverse("person", args=[person.pk])).content.decode()
