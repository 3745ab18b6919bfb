"""The tenant trust boundary: which Google subjects the service may impersonate for an organization.

THE RULE (the README's security section says the same):

- With the **deployment's** service-account key (shared by every organization on this deployment), the service
  acts as a Google subject for an organization only when the subject is inside that organization's own Google
  Workspace: its email domain is a domain the organization has verified by DNS, **or** a secondary domain or
  alias domain of the same Google tenant (same Directory ``customerId`` as the organization's verified domains,
  learned through the Directory API when the organization granted that scope: ``tenant_domain_learn``).
  A person who proved their mailbox by signing in is not enough: the sign-in proves the mailbox, not that the
  tenant's admin consented to this organization reading it. Another tenant that delegated to the same client
  ID did so for *its own* organization on this deployment.
- With an organization's **own uploaded key**, that tenant's admin delegated to that organization's own client
  ID, so the rule is the one of a hybrid calendar connector: a verified domain **or** a person of the
  organization who verified their email by signing in.
- In both cases a subject whose domain another organization has verified is never impersonated for anyone
  else, and a room (an address of ``resource.calendar.google.com``) is never impersonated at all: rooms are
  read and written as the org's scheduling account, a user of a verified domain.

``subject_refusal`` is the one function that decides (``controlhub.onboarding.tenant`` learns the secondary domains
it relies on). It is enforced where impersonation happens: every
gateway an organization gets (``google_connection.org_gateway``) is a ``GuardedGateway`` whose guard runs
``TenantBoundary.require`` before any credentials for a subject are built, so Test connection, activation, the
background validation, directory import, sync, channels, keyword PATCHes and presence reads all pass through
it, and nothing can reach Google without it. Activation also asks it up front (``activation_blocker``) to
explain the refusal on the person's page.
"""

import logging
from dataclasses import dataclass

from calendar_sync.google import errors as google_errors
from controlhub.tenancy import errors as reasons
from controlhub.tenancy.models import Domain

logger = logging.getLogger(__name__)

OUTSIDE = "subject_outside_tenant"
# The domain of Google's resource (room) calendar addresses.
RESOURCE_CALENDAR_DOMAIN = "resource.calendar.google.com"
OTHER_ORG = "subject_other_org"


def _domain_of(email):
    return (email or "").rsplit("@", 1)[-1].strip().lower()


@dataclass(frozen=True)
class Refusal:
    code: str
    reason: str  # one of the stored forms of ``tenancy.errors`` (shown in the reader's language)


class TenantBoundary:
    """The facts the rule needs about one organization, read from the database at most once per instance,
    and a per-subject memo: a sync makes several Google calls as one subject and pays for the rule once.

    Build one per unit of work (``org_gateway`` does, once per call): it must not outlive a domain change by
    more than that unit of work.
    """

    def __init__(self, organization):
        self.organization = organization
        self.own_key = bool(organization.own_key_ciphertext)
        self._verified = None
        self._decided = {}
        self._other_org = {}

    @property
    def verified_domains(self):
        if self._verified is None:
            self._verified = frozenset(
                name.lower() for name in Domain.objects.filter(
                    organization_id=self.organization.pk, state=Domain.State.VERIFIED
                ).values_list("name", flat=True)
            )
        return self._verified

    @property
    def tenant_domains(self):
        """Secondary and alias domains of the org's Google tenant, learned through the Directory API."""
        if not self.organization.google_customer_id:
            return frozenset()
        return frozenset(d.lower() for d in (self.organization.google_tenant_domains or []))

    def refusal(self, subject, *, email_verified=None):
        """``None`` when the org may act as ``subject``, else a ``Refusal`` (code + plain reason).

        ``email_verified`` (whether the org's person with this address verified it by signing in) may be given
        by a caller that already read it, to spare a query; it matters only with the org's own key.
        """
        key = (subject or "").strip().lower()
        if email_verified is None and key in self._decided:
            return self._decided[key]
        decision = self._decide(key, email_verified)
        if email_verified is None:
            self._decided[key] = decision
        return decision

    def domain_taken_elsewhere(self, domain):
        if domain not in self._other_org:
            self._other_org[domain] = Domain.objects.filter(name=domain, state=Domain.State.VERIFIED).exclude(
                organization_id=self.organization.pk
            ).exists()
        return self._other_org[domain]

    def _decide(self, subject, email_verified):
        domain = _domain_of(subject)
        if not domain or "@" not in subject:
            return Refusal(OUTSIDE, reasons.NOT_AN_EMAIL)
        if domain == RESOURCE_CALENDAR_DOMAIN or domain.endswith("." + RESOURCE_CALENDAR_DOMAIN):
            # A room is not a user: it is read and written as the org's scheduling account, never impersonated.
            return Refusal(OUTSIDE, reasons.ROOM_NOT_A_USER)
        if domain in self.verified_domains:
            return None
        if self.domain_taken_elsewhere(domain):
            return Refusal(OTHER_ORG, reasons.VERIFIED_ELSEWHERE % {"domain": domain})
        if domain in self.tenant_domains:
            return None
        if self.own_key and email_verified is None:
            email_verified = any(lookup(self.organization, subject) for lookup in _VERIFIED_EMAIL_LOOKUPS)
        if self.own_key and email_verified:
            return None
        if self.own_key:
            return Refusal(OUTSIDE, reasons.NOT_VERIFIED_NOR_EMAIL % {"domain": domain, "subject": subject})
        return Refusal(OUTSIDE, reasons.NOT_A_TENANT_DOMAIN % {"domain": domain})

    def require(self, subject):
        """The gateway's guard: raise our typed error unless the org may act as ``subject``."""
        refusal = self.refusal(subject)
        if refusal is None:
            return
        logger.warning("refused Google subject for org %s: %s", self.organization.pk, refusal.code)
        cls = google_errors.SubjectInOtherOrganization if refusal.code == OTHER_ORG else \
            google_errors.SubjectOutsideTenant
        refused = cls(f"Refused before calling Google: {refusal.reason}.")
        refused.refusal = refusal.reason  # what a person's page shows (in the reader's language)
        raise refused


_VERIFIED_EMAIL_LOOKUPS = []


def register_verified_email_lookup(lookup):
    """``lookup(organization, email) -> bool``: whether a member of the org proved this mailbox by signing in.
    People register theirs at start-up (tenancy sits below people and never imports them)."""
    if lookup not in _VERIFIED_EMAIL_LOOKUPS:
        _VERIFIED_EMAIL_LOOKUPS.append(lookup)


def subject_refusal(organization, subject):
    """The one decision: ``None`` if ``organization`` may impersonate ``subject``, else a ``Refusal``."""
    return TenantBoundary(organization).refusal(subject)
