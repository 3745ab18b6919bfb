"""Domains: validation, TXT verification against the emulator's DNS server on loopback, periodic re-checks,
removal with the people it affects, tenancy."""

import datetime as dt
import socket
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from controlhub.domains.services import (
    domain_add,
    domain_claims_expire,
    domain_normalize,
    domain_verify,
    domains_reverify_due,
)
from controlhub.people.models import Person
from controlhub.tenancy.models import AuditEvent, Domain

pytestmark = pytest.mark.django_db


def add(client, name):
    return client.post(reverse("domains"), {"name": name})


def only_domain(org):
    return Domain.objects.get(organization=org)


# --- validation -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    ("Example.COM", "example.com"),
    ("  sub.example.com.  ", "sub.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("acme.co.uk", "acme.co.uk"),
])
def test_normalize_accepts_and_normalizes(raw, expected):
    assert domain_normalize(raw) == expected


@pytest.mark.parametrize("raw, code", [
    ("", "required"),
    ("localhost", "single_label"),
    ("com", "single_label"),
    ("co.uk", "public_suffix"),
    ("192.168.1.10", "ip"),
    ("[::1]", "ip"),
    ("exa_mple.com", "malformed"),
    ("-bad.com", "malformed"),
    ("a..com", "malformed"),
    ("https://example.com/", "malformed"),
    ("user@example.com", "malformed"),
    ("x" * 64 + ".com", "malformed"),
])
def test_normalize_rejects(raw, code):
    with pytest.raises(ValidationError) as info:
        domain_normalize(raw)
    assert info.value.code == code


def test_add_shows_the_txt_record_with_a_copy_button(admin_client, org):
    response = add(admin_client, "Acme.TEST")
    assert response.status_code == 302
    domain = only_domain(org)
    assert domain.name == "acme.test" and domain.state == Domain.State.PENDING
    html = admin_client.get(reverse("domains")).content.decode()
    assert f'<code id="txt-{domain.pk}">calendarhub-verification={domain.token}</code>' in html
    assert f'data-copy-target="#txt-{domain.pk}"' in html
    assert ">Verify<" in html
    assert AuditEvent.objects.filter(organization=org, action="domain.added").exists()


@pytest.mark.parametrize("raw, message", [
    ("not a domain", "Enter the domain name only"),
    ("10.0.0.1", "An IP address is not a domain"),
    ("intranet", "is a single label"),
])
def test_bad_input_gets_a_clear_message_and_changes_nothing(admin_client, org, raw, message):
    response = add(admin_client, raw)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Domain.objects.exists()


def test_someone_elses_verified_domain_is_refused_without_naming_them(admin_client, org, make_org):
    globex, _ = make_org("Globex Secret Corp")
    Domain.objects.create(organization=globex, name="globex.test", state=Domain.State.VERIFIED)
    response = add(admin_client, "GLOBEX.test")
    html = response.content.decode()
    assert response.status_code == 400
    assert "verified by another organization" in html
    assert "Globex Secret Corp" not in html
    assert Domain.objects.count() == 1 and Domain.objects.get().organization == globex


def test_a_pending_claim_blocks_nobody_and_the_prover_owns_the_domain(admin_client, org, make_org, google):
    """Squatting: an org that adds a domain without verifying it must not lock out the real owner."""
    squatter, _ = make_org("Squatter")
    squat = domain_add(organization=squatter, name="acme.test")
    response = add(admin_client, "acme.test")
    assert response.status_code == 302
    ours = Domain.objects.get(organization=org, name="acme.test")
    assert ours.token != squat.token
    google.dns_txt("acme.test", [ours.txt_value])
    ours = domain_verify(domain=ours)
    assert ours.state == Domain.State.VERIFIED
    # The squatter's claim is released, with an audit entry in the squatter's org only.
    assert not Domain.objects.filter(pk=squat.pk).exists()
    assert AuditEvent.objects.filter(organization=squatter, action="domain.claim_released").exists()
    # And the name cannot be claimed again by anyone else.
    with pytest.raises(ValidationError):
        domain_add(organization=squatter, name="acme.test")


def test_a_second_prover_does_not_take_a_verified_domain(org, make_org, google):
    other, _ = make_org("Other")
    ours = domain_add(organization=org, name="acme.test")
    google.dns_txt("acme.test", [ours.txt_value])
    assert domain_verify(domain=ours).state == Domain.State.VERIFIED
    # A claim that raced in before ours committed (both TXT records published): ownership does not move.
    theirs = Domain.objects.create(organization=other, name="acme.test")
    google.dns_txt("acme.test", [ours.txt_value, theirs.txt_value])
    theirs = domain_verify(domain=theirs)
    assert theirs.state == Domain.State.FAILED and theirs.failure_code == "domain_taken"
    assert Domain.objects.get(organization=org, name="acme.test").state == Domain.State.VERIFIED


def test_pending_claims_expire(org, make_org):
    squatter, _ = make_org("Squatter")
    old = domain_add(organization=squatter, name="acme.test")
    fresh = domain_add(organization=org, name="beta.test")
    Domain.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    assert domain_claims_expire() == 1
    assert not Domain.objects.filter(pk=old.pk).exists() and Domain.objects.filter(pk=fresh.pk).exists()
    assert AuditEvent.objects.filter(organization=squatter, action="domain.claim_expired").exists()


def test_own_duplicate_is_refused(admin_client, org):
    add(admin_client, "acme.test")
    response = add(admin_client, "acme.test.")
    assert response.status_code == 400 and "already on your list" in response.content.decode()


# --- verification against real DNS on loopback -----------------------------------------------------------------
def test_verify_with_the_record_published(admin_client, org, google):
    add(admin_client, "acme.test")
    domain = only_domain(org)
    google.dns_txt("acme.test", ["v=spf1 -all", domain.txt_value])
    response = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True)
    domain.refresh_from_db()
    assert domain.state == Domain.State.VERIFIED and domain.verified_at and domain.last_checked_at
    assert "acme.test is verified." in response.content.decode()
    assert AuditEvent.objects.filter(organization=org, action="domain.verified").exists()


def test_verify_nxdomain(admin_client, org, google):
    add(admin_client, "nowhere.test")
    domain = only_domain(org)
    html = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True).content.decode()
    domain.refresh_from_db()
    assert (domain.state, domain.failure_code) == (Domain.State.FAILED, "dns_nxdomain")
    assert "Domain not found in DNS" in html and "NXDOMAIN" in html


def test_verify_record_missing_changes_nothing_else(admin_client, org, google):
    add(admin_client, "acme.test")
    domain = only_domain(org)
    google.dns_txt("acme.test", ["v=spf1 -all"])
    html = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True).content.decode()
    domain.refresh_from_db()
    assert (domain.state, domain.failure_code) == (Domain.State.FAILED, "dns_record_missing")
    assert domain.verified_at is None
    assert "Verification record not found" in html


def test_verify_wrong_value_shows_what_was_found(admin_client, org, google):
    add(admin_client, "acme.test")
    domain = only_domain(org)
    google.dns_txt("acme.test", ["calendarhub-verification=stale-token"])
    html = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True).content.decode()
    domain.refresh_from_db()
    assert domain.failure_code == "dns_wrong_value"
    assert "Verification record has the wrong value" in html
    assert "Found calendarhub-verification=stale-token but expected" in html


def test_verify_dns_timeout(admin_client, org, settings):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never answers
        silent.bind(("127.0.0.1", 0))
        settings.DNS_NAMESERVERS = [f"127.0.0.1:{silent.getsockname()[1]}"]
        import controlhub.domains.services as domains_service

        domains_service.DNS_TIMEOUT, old = 0.3, domains_service.DNS_TIMEOUT
        try:
            add(admin_client, "acme.test")
            domain = only_domain(org)
            html = admin_client.post(reverse("domain_verify", args=[domain.pk]), follow=True).content.decode()
        finally:
            domains_service.DNS_TIMEOUT = old
    domain.refresh_from_db()
    assert domain.failure_code == "dns_timeout"
    assert "DNS did not answer" in html


# --- periodic re-verification ------------------------------------------------------------------------------------
def test_reverify_due(org, google):
    now = timezone.now()
    fresh = Domain.objects.create(organization=org, name="fresh.test", state=Domain.State.VERIFIED,
                                  verified_at=now, last_checked_at=now - timedelta(hours=1))
    lapsed = Domain.objects.create(organization=org, name="lapsed.test", state=Domain.State.VERIFIED,
                                   verified_at=now - timedelta(days=3), last_checked_at=now - timedelta(hours=25))
    kept = Domain.objects.create(organization=org, name="kept.test", state=Domain.State.VERIFIED,
                                 verified_at=now - timedelta(days=3), last_checked_at=now - timedelta(hours=30))
    pending = Domain.objects.create(organization=org, name="pending.test")
    waiting = Domain.objects.create(organization=org, name="waiting.test")
    google.dns_txt("kept.test", [kept.txt_value])
    google.dns_txt("pending.test", [pending.txt_value])
    google.dns_txt("lapsed.test", ["v=spf1 -all"])  # the record disappeared

    counts = domains_reverify_due()
    assert counts == {"checked": 4, "verified": 2, "failed": 1}
    for d in (fresh, lapsed, kept, pending, waiting):
        d.refresh_from_db()
    assert fresh.state == Domain.State.VERIFIED and fresh.last_checked_at < now  # not due: untouched
    assert (lapsed.state, lapsed.failure_code) == (Domain.State.FAILED, "dns_record_missing")
    assert kept.state == Domain.State.VERIFIED and kept.last_checked_at >= now
    assert pending.state == Domain.State.VERIFIED and pending.verified_at
    assert (waiting.state, waiting.failure_code) == (Domain.State.PENDING, "dns_nxdomain")
    audit = AuditEvent.objects.get(organization=org, action="domain.verification_failed")
    assert audit.detail["name"] == "lapsed.test" and audit.detail["from"] == "verified"
    assert domains_reverify_due()["checked"] == 2  # the pending and the failed one stay due; verified ones wait 24 h


def test_schedule_is_declared():
    from controlhub.schedules import SCHEDULES

    assert any(s["func"] == "controlhub.domains.services.domains_reverify_due" for s in SCHEDULES)


# --- removal ------------------------------------------------------------------------------------------------------
def test_remove_asks_for_confirmation_and_lists_affected_people(admin_client, org):
    domain = Domain.objects.create(organization=org, name="acme.test", state=Domain.State.VERIFIED)
    for i in range(23):
        Person.objects.create(organization=org, email=f"user{i:02d}@acme.test",
                              calendar_state=Person.CalendarState.ACTIVATED if i % 2 else Person.CalendarState.PENDING)
    Person.objects.create(organization=org, email="off@acme.test")
    Person.objects.create(organization=org, email="x@other.test", calendar_state=Person.CalendarState.ACTIVATED)
    Person.objects.create(organization=org, email="y@notacme.test", calendar_state=Person.CalendarState.ACTIVATED)
    page = admin_client.get(reverse("domain_remove", args=[domain.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "This affects 23 activated or pending users." in html
    assert "Showing 20 of 23." in html
    assert "user00@acme.test" in html and "user22@acme.test" not in html
    assert "off@acme.test" not in html and "x@other.test" not in html and "y@notacme.test" not in html
    assert Domain.objects.filter(pk=domain.pk).exists()  # GET changes nothing
    assert admin_client.post(reverse("domain_remove", args=[domain.pk])).status_code == 302
    assert not Domain.objects.filter(pk=domain.pk).exists()
    audit = AuditEvent.objects.get(organization=org, action="domain.removed")
    assert audit.detail == {"name": "acme.test", "state": "verified", "affected_people": 23}


# --- tenancy and roles ------------------------------------------------------------------------------------------
def test_other_orgs_domain_cannot_be_seen_verified_or_removed(admin_client, org, make_org, google):
    globex, _ = make_org("Globex")
    theirs = Domain.objects.create(organization=globex, name="globex.test")
    google.dns_txt("globex.test", [theirs.txt_value])
    assert "globex.test" not in admin_client.get(reverse("domains")).content.decode()
    assert admin_client.post(reverse("domain_verify", args=[theirs.pk])).status_code == 404
    assert admin_client.get(reverse("domain_remove", args=[theirs.pk])).status_code == 404
    assert admin_client.post(reverse("domain_remove", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == Domain.State.PENDING


def test_readonly_admin_sees_but_cannot_change(client, org, readonly_admin):
    domain = Domain.objects.create(organization=org, name="acme.test")
    client.force_login(readonly_admin)
    html = client.get(reverse("domains")).content.decode()
    assert "acme.test" in html and 'id="add-domain"' not in html
    assert client.post(reverse("domains"), {"name": "new.test"}).status_code == 403
    assert client.post(reverse("domain_verify", args=[domain.pk])).status_code == 403
    assert client.post(reverse("domain_remove", args=[domain.pk])).status_code == 403
    assert Domain.objects.filter(pk=domain.pk).exists() and Domain.objects.count() == 1
