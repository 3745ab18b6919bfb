"""Shared fixtures: users and organizations, a Google Workspace emulator per test session, a browser."""

import json
import os
import shutil
import time

import pytest

from calendar_sync.google.gateway import CORE_SCOPES
from controlhub.tenancy.models import Membership
from controlhub.tenancy.orgs import membership_set, organization_create
from tests.asgi_server import asgi_server  # noqa: F401 - the site under uvicorn (pushed live updates)

PASSWORD = "correct-horse-battery-staple"


def wait_until(predicate, *, timeout=10.0, interval=0.05, message="condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes (never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def make_org(db):
    def _make(name="Acme", admin_email=None):
        admin_email = admin_email or f"admin@{name.lower().replace(' ', '')}.test"
        org, user, _ = organization_create(name=name, admin_email=admin_email, admin_password=PASSWORD)
        return org, user

    return _make


@pytest.fixture
def org_and_admin(make_org):
    return make_org("Acme")


@pytest.fixture
def org(org_and_admin):
    return org_and_admin[0]


@pytest.fixture
def admin_user(org_and_admin):
    return org_and_admin[1]


@pytest.fixture
def ready_org(org):
    """An organization whose Google connection tested Ready, with its domain acme.test verified."""
    from controlhub.tenancy.models import Domain

    org.setup_state = "ready"
    org.save(update_fields=["setup_state"])
    Domain.objects.update_or_create(organization=org, name="acme.test", defaults={"state": Domain.State.VERIFIED})
    return org


@pytest.fixture
def readonly_admin(org):
    return membership_set(
        organization=org, email="auditor@acme.test", role=Membership.Role.READONLY_ADMIN, password=PASSWORD
    ).user


@pytest.fixture
def plain_user(org):
    return membership_set(organization=org, email="user@acme.test", role=Membership.Role.USER, password=PASSWORD).user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def chromium_path():
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (Debian's package) driven by Playwright; no browser download."""
    path = chromium_path()
    if path is None:
        pytest.fail("Chromium is not installed: run `make test` (it installs Debian's chromium) or set CHROMIUM_PATH.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


# --- Google Workspace emulator ----------------------------------------------------------------------------
SCOPES_CORE = list(CORE_SCOPES)  # the product's own constant: tests delegate exactly what it asks for


@pytest.fixture(scope="session")
def emulator():
    """One emulator per test session on free ports (HTTP + DNS); tests reset it through the control API."""
    from google_emulator.server import Emulator

    emu = Emulator(host="127.0.0.1", port=0, dns_port=0, allow_insecure_webhooks=True)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def google(emulator, settings, tmp_path):
    """A fresh emulated Google and the app pointed at it. Returns the control client with helpers attached:
    ``google.key`` (service-account JSON), ``google.client_id``, ``google.project_id``."""
    from calendar_sync.google.gateway import forget_gateways
    from controlhub.tenancy.keys import forget_ciphers
    from google_emulator.client import EmulatorControl

    control = EmulatorControl(emulator.base_url)
    control.reset()
    key = control.service_account(project_id="calendar-hub-test")
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps(key))
    settings.GOOGLE_API_ENDPOINT = emulator.base_url
    settings.GOOGLE_SERVICE_ACCOUNT_FILE = str(key_file)
    settings.DNS_NAMESERVERS = [f"127.0.0.1:{emulator.dns_port}"]
    settings.GOOGLE_RETRY_BASE = 0.01
    control.key = key
    control.key_file = key_file
    control.client_id = key["client_id"]
    control.project_id = key["project_id"]
    forget_gateways()
    forget_ciphers()
    yield control
    # A change the test made last may still be on its way as a push to the live server, whose webhook syncs in
    # the request: let every delivery finish before the database is flushed, or the flush's TRUNCATE and that
    # sync's transaction wait on each other (PostgreSQL reports a deadlock and the flush fails).
    if not emulator.wait_for_pushes(timeout=30):
        raise AssertionError("push deliveries still in flight 30 s after the test")
    forget_gateways()


@pytest.fixture
def google_tenant(google, request):
    """Tenant acme.test with an admin and two users; delegation granted for the core scopes. When the test also
    has the ``org`` fixture, acme.test is that org's verified domain (the tenant is the org's own), unless the
    test is marked ``unverified_domain``."""
    if "org" in request.fixturenames and not request.node.get_closest_marker("unverified_domain"):
        from controlhub.tenancy.models import Domain

        Domain.objects.get_or_create(organization=request.getfixturevalue("org"), name="acme.test",
                                     defaults={"state": Domain.State.VERIFIED})
    google.tenant("acme.test", "Acme")
    google.user("admin@acme.test", is_admin=True)
    google.user("ana@acme.test", locale="fr", time_zone="Europe/Paris")
    google.user("bo@acme.test", locale="ko", time_zone="Asia/Seoul")
    google.delegate("acme.test", google.client_id, SCOPES_CORE)
    return google


# --- meeting service emulators ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def webex_server():
    """One Webex Meetings emulator per test session on a free port; tests reset it through its control API."""
    from webex_emulator.server import Emulator

    emu = Emulator(host="127.0.0.1", port=0)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def bbb_server():
    """One BigBlueButton API emulator per test session on a free port."""
    from bbb_emulator import Emulator

    emu = Emulator(host="127.0.0.1", port=0, secret="bbb-test-secret")
    emu.start()
    yield emu
    emu.stop()
