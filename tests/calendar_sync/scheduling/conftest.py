"""Meeting service fixtures: the Webex and BigBlueButton emulators reset per test, seeded with a site, hosts
and a service app, and the org's Meeting service pointed at them."""

import json
import urllib.request

import pytest

from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import meeting_service_save
from controlhub.tenancy.keys import forget_ciphers

SITE = "acme.webex.com"
ADMIN_SCOPES = ["meeting:admin_schedule_write", "meeting:admin_schedule_read", "meeting:admin_preferences_read"]


class WebexControl:
    """The Webex emulator's control API, with the seeded service app (``app``) attached."""

    def __init__(self, server):
        self.server = server
        self.base_url = server.base_url
        self.app = None

    def __call__(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}/_emulator{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def requests(self, since=0, api=None):
        items = self("GET", f"/requests?since={since}")["requests"]
        return [r for r in items if r.get("api") and (api is None or r["api"] == api)]

    def since(self):
        return self("GET", "/requests?since=0")["next"]

    def meetings(self):
        return self("GET", "/meetings")["items"]

    def fault(self, **spec):
        return self("POST", "/faults", spec)


@pytest.fixture
def webex(webex_server, settings):
    """A fresh emulated Webex: site acme.webex.com with hosts eli, ana and bo, attendee-only carl, a host of
    another site (dee@acme.test on other.webex.com) and an authorized service app with the admin scopes."""
    control = WebexControl(webex_server)
    control("POST", "/reset")
    control("POST", "/users", {"email": "eli@acme.test", "displayName": "Eli Ng", "siteUrl": SITE,
                               "personalRoomId": "eli.ng"})
    control("POST", "/users", {"email": "ana@acme.test", "displayName": "Ana Lima", "siteUrl": SITE})
    control("POST", "/users", {"email": "bo@acme.test", "displayName": "Bo Kim", "siteUrl": SITE})
    control("POST", "/users", {"email": "carl@acme.test", "siteUrl": SITE, "host": False})
    control("POST", "/users", {"email": "dee@acme.test", "displayName": "Dee", "siteUrl": "other.webex.com"})
    control.app = control("POST", "/service-apps", {"name": "Calendar Hub", "scopes": ADMIN_SCOPES,
                                                    "siteUrls": [SITE, "other.webex.com"]})
    settings.WEBEX_API_BASE = webex_server.base_url + "/v1"
    settings.WEBEX_MAX_RETRY_WAIT = 2.0
    return control


@pytest.fixture
def webex_org(org, webex):
    """``org`` using the emulated Webex as its meeting service."""
    forget_ciphers()  # a transactional test before this one may have left a cipher of another org with this pk
    meeting_service_save(organization=org, values={
        "kind": MeetingService.Kind.WEBEX, "webex_site_url": SITE, "webex_client_id": webex.app["client_id"],
        "webex_client_secret": webex.app["client_secret"], "webex_refresh_token": webex.app["refresh_token"],
    })
    return org


@pytest.fixture
def bbb(bbb_server):
    bbb_server.call("POST", "/_emulator/reset")
    bbb_server.call("PUT", "/_emulator/config", {"secret": "bbb-test-secret",
                                                 "algorithms": ["sha1", "sha256", "sha384", "sha512"]})
    return bbb_server
