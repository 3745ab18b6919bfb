"""Learning the organization's own Google tenant: its Directory ``customerId`` and the secondary/alias domains
that belong to it, so the tenant boundary (``controlhub.tenancy.boundary``) can let their users in.
"""

import logging

from django.db import transaction

from calendar_sync.google import errors as google_errors
from controlhub.onboarding.models import ConnectionTest
from controlhub.tenancy.boundary import TenantBoundary, _domain_of
from controlhub.tenancy.models import Organization

logger = logging.getLogger(__name__)


def tenant_admin_subject(organization):
    """A Workspace admin of the org's tenant to ask the Directory as: the test account of the last successful
    Test connection, if it is (still) in a verified domain."""
    boundary = TenantBoundary(organization)
    for email in ConnectionTest.objects.filter(organization=organization, ok=True).order_by(
        "-created_at"
    ).values_list("test_email", flat=True)[:5]:
        if _domain_of(email) in boundary.verified_domains:
            return email
    return ""


@transaction.atomic
def tenant_customer_record(*, organization, customer_id):
    """Remember the Directory ``customerId`` of the org's tenant (read as a subject of a verified domain)."""
    if not customer_id:
        return
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    if org.google_customer_id != customer_id:
        # Another tenant behind the same verified domain is impossible in Google; a change means the admin
        # moved the domain: what we learned about the old tenant no longer holds.
        org.google_customer_id = customer_id
        org.google_tenant_domains = []
        org.save(update_fields=["google_customer_id", "google_tenant_domains"])
        organization.google_customer_id = customer_id
        organization.google_tenant_domains = []


def tenant_domain_learn(*, organization, subject, gateway):
    """Find out whether ``subject``'s domain is a secondary/alias domain of the org's own tenant.

    Asks the Directory (``users.get``, scope admin.directory.user.readonly) as a Workspace admin of a verified
    domain; Google answers only for users of the admin's own tenant, and we compare ``customerId`` too. Records
    the domain on success. Returns True when the domain is (now) known to be in the tenant. Never raises for
    Google errors: an unknown answer is a refusal.
    """
    domain = _domain_of(subject)
    boundary = TenantBoundary(organization)
    if domain in boundary.verified_domains or domain in boundary.tenant_domains:
        return True
    if not organization.directory_import_enabled:
        return False
    if boundary.domain_taken_elsewhere(domain):
        return False  # verified by another organization: never ours
    admin = tenant_admin_subject(organization)
    if not admin:
        return False
    try:
        if not organization.google_customer_id:
            tenant_customer_record(organization=organization,
                                   customer_id=gateway.directory_user(admin, admin).get("customerId", ""))
        user = gateway.directory_user(admin, subject)
    except google_errors.GoogleError as exc:
        logger.info("tenant check of a %s subject failed: %s", domain, exc.error_code)
        return False
    customer = user.get("customerId", "")
    primary_domain = _domain_of(user.get("primaryEmail", ""))
    if not customer or customer != organization.google_customer_id:
        return False
    learned = {domain, primary_domain} - boundary.verified_domains
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        if org.google_customer_id != customer:
            return False
        domains = sorted(set(org.google_tenant_domains or []) | learned)
        org.google_tenant_domains = domains
        org.save(update_fields=["google_tenant_domains"])
        organization.google_tenant_domains = domains
    logger.info("org %s: %s learned as a domain of its Google tenant", organization.pk, domain)
    return True
