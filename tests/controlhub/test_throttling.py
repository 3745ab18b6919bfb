"""Sign-in lockout (django-axes, per account and per client address) and the rate limits on sign-in link mails,
Test connection and domain checks: over a limit the person is told when to retry, and nothing is sent or run."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from controlhub.auth import signin_identity
from controlhub.onboarding.models import ConnectionTest
from controlhub.people.services import person_create
from controlhub.tenancy.models import Domain
from controlhub.tenancy.throttle import client_ip, throttle_hit
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts. Try again in 15 minutes."


def sign_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail(client, username, times, **extra):
    return [sign_in(client, username, "wrong-password", **extra).status_code for _ in range(times)]


def is_signed_in(client):
    return "_auth_user_id" in client.session


# --- sign-in lockout -----------------------------------------------------------------------------------------
def test_five_failures_lock_the_account_and_the_right_password_is_refused_too(client, admin_user):
    statuses = fail(client, "admin@acme.test", 4)
    assert statuses == [200, 200, 200, 200]
    response = sign_in(client, "admin@acme.test", "wrong-password")
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED in html and 'id="signin-lockout"' in html
    assert 'value="admin@acme.test"' in html  # the form keeps what was typed
    assert 900 - 5 <= int(response["Retry-After"]) <= 900

    response = sign_in(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert not is_signed_in(client)
    # A refused attempt during the lockout does not extend it: still the five failures on record.
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == 5


def test_the_lockout_ends_after_the_cool_off(client, admin_user):
    fail(client, "admin@acme.test", 5)
    # Ten minutes later: five left.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=10))
    response = sign_in(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 429
    assert "Try again in 5 minutes." in response.content.decode()
    # Sixteen minutes later: the right password works.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 302 and is_signed_in(client)


def test_the_count_is_per_account_whatever_the_case_or_spelling(client, org, admin_user):
    get_user_model().objects.create_user(username="carol", email="Carol@Acme.test", password=PASSWORD)
    # Every way of typing Carol's account counts against it: email in any case, spaces, her username.
    for typed in ("carol@acme.test", "CAROL@ACME.TEST", " Carol@acme.test ", "carol"):
        sign_in(client, typed, "wrong-password")
    response = sign_in(client, "carol", "wrong-password")
    assert response.status_code == 429
    assert sign_in(client, "carol@acme.test", PASSWORD).status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {"carol@acme.test"}
    # Another account from the same address is not affected.
    response = sign_in(client, "admin@acme.test", PASSWORD)
    assert response.status_code == 302 and is_signed_in(client)


def test_an_address_is_locked_after_failures_over_many_accounts(client, admin_user, settings):
    settings.SIGNIN_IP_FAILURE_LIMIT = 8
    for n in range(7):  # seven accounts, one failure each: below every limit
        assert sign_in(client, f"guess{n}@acme.test", "wrong-password", REMOTE_ADDR="203.0.113.7").status_code == 200
    response = sign_in(client, "guess7@acme.test", "wrong-password", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    # Now no account signs in from there, the right password included...
    response = sign_in(client, "admin@acme.test", PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    # ...while the same account signs in from elsewhere.
    response = sign_in(Client(), "admin@acme.test", PASSWORD, REMOTE_ADDR="198.51.100.2")
    assert response.status_code == 302


def test_a_locked_account_can_still_sign_in_with_an_emailed_link(client, org, admin_user):
    person_create(organization=org, email="ana@acme.test", name="Ana")
    fail(client, "ana@acme.test", 5)
    assert sign_in(client, "ana@acme.test", "anything").status_code == 429
    client.post(reverse("signin_link"), {"email": "ana@acme.test"})
    link = next(word for word in mail.outbox[0].body.split() if "/accounts/link/" in word)
    response = client.post(link.split("testserver", 1)[1])
    assert response.status_code == 302 and response["Location"] == reverse("me")
    assert is_signed_in(client)


def test_lockout_message_is_translated(client, admin_user):
    fail(client, "admin@acme.test", 5)
    html = sign_in(client, "admin@acme.test", PASSWORD, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Trop de tentatives de connexion échouées. Réessayez dans 15 minutes." in html
    html = sign_in(client, "admin@acme.test", PASSWORD, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "로그인 실패가 너무 많습니다. 15분 후에 다시 시도하세요." in html


def test_signin_identity_and_client_address(rf, settings, admin_user):
    assert signin_identity(None, {"username": " ADMIN@Acme.Test "}) == "admin@acme.test"
    assert signin_identity(None, {"username": ""}) is None

    assert client_ip(rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9")) == "192.0.2.1"
    settings.TRUSTED_PROXY_COUNT = 1
    # Behind one proxy: the address it appended; what the client put in front is ignored.
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.44")
    assert client_ip(request) == "192.0.2.44"
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")) is None
    settings.TRUSTED_PROXY_COUNT = 0
    # IPv6: one /64 is one client.
    assert client_ip(rf.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::"
    assert client_ip(rf.get("/", REMOTE_ADDR="::ffff:192.0.2.9")) == "192.0.2.9"


# --- the shared limiter --------------------------------------------------------------------------------------
def test_fixed_window_counts_and_restarts(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "probe": (3, 600)}
    start = datetime(2026, 5, 4, 10, 0, 30, tzinfo=UTC)
    results = [throttle_hit(scope="probe", key="k", now=start + timedelta(seconds=n)) for n in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert results[-1].retry_at == datetime(2026, 5, 4, 10, 10, tzinfo=UTC)
    assert results[-1].minutes_left(now=start) == 10
    assert throttle_hit(scope="probe", key="other", now=start).allowed  # keys are counted apart
    assert throttle_hit(scope="probe", key="k", now=datetime(2026, 5, 4, 10, 10, tzinfo=UTC)).allowed


@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_never_exceed_the_limit(settings):
    """Sixteen threads (sixteen database connections on the database cache) race for ten slots."""
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "probe": (10, 600)}
    allowed, barrier = [], threading.Barrier(16)

    def worker():
        try:
            barrier.wait()
            for _ in range(3):
                allowed.append(throttle_hit(scope="probe", key="race").allowed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 48 and allowed.count(True) == 10


# --- sign-in link mails --------------------------------------------------------------------------------------
def test_twenty_link_requests_for_one_address_send_three_mails(client, org):
    person_create(organization=org, email="ana@acme.test", name="Ana")
    for n in range(20):
        response = client.post(reverse("signin_link"), {"email": "ana@acme.test" if n % 2 else "ANA@acme.test"})
        assert response.status_code == 200 and "Check your email" in response.content.decode()
    assert len(mail.outbox) == 3


def test_an_unknown_address_over_the_limit_gets_the_same_answer(client, org):
    person_create(organization=org, email="ana@acme.test", name="Ana")
    pages = {}
    for email in ("ana@acme.test", "nobody@acme.test"):
        for _ in range(4):
            response = client.post(reverse("signin_link"), {"email": email})
        page = re.sub(r"[A-Za-z0-9]{64}", "CSRF", response.content.decode())  # tokens are masked anew each time
        pages[email] = (response.status_code, page.replace(email, "EMAIL"))
    assert pages["ana@acme.test"] == pages["nobody@acme.test"]
    assert len(mail.outbox) == 3


def test_link_requests_per_client_address(client, org, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signin_link_ip": (4, 3600)}
    person_create(organization=org, email="ana@acme.test", name="Ana")
    for n in range(4):
        client.post(reverse("signin_link"), {"email": f"someone{n}@acme.test"}, REMOTE_ADDR="203.0.113.9")
    response = client.post(reverse("signin_link"), {"email": "ana@acme.test"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many sign-in links were requested from your network. Try again in" in html
    assert 'value="ana@acme.test"' in html and 0 < int(response["Retry-After"]) <= 3600
    assert mail.outbox == []
    # Another client is not held back.
    response = client.post(reverse("signin_link"), {"email": "ana@acme.test"}, REMOTE_ADDR="198.51.100.3")
    assert response.status_code == 200 and len(mail.outbox) == 1


# --- Test connection and domain checks -----------------------------------------------------------------------
def test_connection_test_start_is_limited_per_organization(admin_client, org, settings, make_org):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "connection_test_org": (2, 600)}
    for _ in range(2):
        assert admin_client.post(reverse("onboarding_test_start"), {"test_email": "ana@acme.test"}).status_code == 302
    response = admin_client.post(reverse("onboarding_test_start"), {"test_email": "ana@acme.test"})
    assert response.status_code == 429 and 0 < int(response["Retry-After"]) <= 600
    html = response.content.decode()
    assert "Test connection was run too many times in a short while. Try again in" in html
    assert 'value="ana@acme.test"' in html
    assert ConnectionTest.objects.filter(organization=org).count() == 2
    # Another organization has its own allowance.
    other_org, other_admin = make_org("Beta")
    other = Client()
    other.force_login(other_admin)
    assert other.post(reverse("onboarding_test_start"), {"test_email": "x@beta.test"}).status_code == 302


def test_domain_verify_is_limited_per_domain(admin_client, org, google, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "domain_verify": (2, 600)}
    domain = Domain.objects.create(organization=org, name="acme.test")
    other = Domain.objects.create(organization=org, name="sub.acme.test")
    for _ in range(2):
        admin_client.post(reverse("domain_verify", args=[domain.pk]))
    domain.refresh_from_db()
    checked = domain.last_checked_at
    google.dns_txt("acme.test", [domain.txt_value])
    response = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True)
    assert response.status_code == 200
    assert "acme.test was checked too many times in a short while. Try again in" in response.content.decode()
    domain.refresh_from_db()
    assert domain.last_checked_at == checked and domain.state != Domain.State.VERIFIED
    # The organization's other domain is checked as usual.
    response = admin_client.post(reverse("domain_verify", args=[other.pk]), follow=True)
    assert "sub.acme.test could not be verified" in response.content.decode()
