"""Verified email domains: an org proves it owns a domain by publishing a TXT record we issue.

A verified domain lets its users be activated without each verifying their email. Verification asks DNS
(dnspython) through ``settings.DNS_NAMESERVERS`` ("ip" or "ip:port"; empty means the system resolver), and is
repeated hourly: a verified domain whose record disappeared becomes failed, so a lapsed domain stops vouching.
"""

import ipaddress
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from controlhub.people.models import Person
from controlhub.tenancy.models import Domain
from controlhub.tenancy.orgs import audit_record

logger = logging.getLogger(__name__)

TXT_PREFIX = "calendarhub-verification="
REVERIFY_AFTER = timedelta(hours=24)
# A claim never verified within this long is dropped: a pending claim must not hold a name forever.
PENDING_CLAIM_EXPIRES = timedelta(days=7)
DNS_TIMEOUT = 3.0

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Registry-controlled second levels people type by mistake; a whole public suffix can never be one org's domain.
_PUBLIC_SUFFIXES = {
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "com.au", "net.au", "org.au", "edu.au",
    "co.jp", "ne.jp", "or.jp", "ac.jp", "co.kr", "or.kr", "ne.kr", "ac.kr", "go.kr", "co.nz", "org.nz",
    "com.br", "com.cn", "com.mx", "com.tr", "co.in", "co.za", "com.sg", "com.hk", "com.tw", "gouv.fr",
    "asso.fr", "github.io", "herokuapp.com", "blogspot.com", "appspot.com", "cloudfront.net",
}


def domain_normalize(name):
    """IDNA-encoded lowercase name without a trailing dot; ``ValidationError`` naming the problem otherwise."""
    value = (name or "").strip().rstrip(".").lower()
    if value.startswith(("http://", "https://")) or "/" in value or "@" in value or " " in value:
        raise ValidationError(
            _("Enter the domain name only, like example.com (no address, path or spaces)."), code="malformed"
        )
    if not value:
        raise ValidationError(_("Enter a domain name."), code="required")
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValidationError(_("An IP address is not a domain: enter a name like example.com."), code="ip")
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(_("“%(name)s” is not a valid domain name."), code="malformed",
                              params={"name": name}) from None
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValidationError(
            _("“%(name)s” is a single label: enter a full domain like example.com."), code="single_label",
            params={"name": value},
        )
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValidationError(_("“%(name)s” is not a valid domain name."), code="malformed", params={"name": value})
    if labels[-1].isdigit():
        raise ValidationError(_("An IP address is not a domain: enter a name like example.com."), code="ip")
    if ascii_name in _PUBLIC_SUFFIXES:
        raise ValidationError(
            _("“%(name)s” is a public suffix shared by many owners: enter your own domain under it."),
            code="public_suffix", params={"name": value},
        )
    return ascii_name


def _taken_error():
    return ValidationError(
        _("This domain is verified by another organization. If it is yours, contact support."), code="taken",
    )


@transaction.atomic
def domain_add(*, organization, name, actor=None):
    """Add a pending claim. Several organizations may claim a name; the one that proves the TXT record owns it
    (``domain_verify``), so a claim nobody proves blocks nobody. A name another org has *verified* is refused;
    the message never names that org."""
    ascii_name = domain_normalize(name)
    if Domain.objects.filter(organization=organization, name=ascii_name).exists():
        raise ValidationError(_("This domain is already on your list."), code="duplicate")
    if Domain.objects.filter(name=ascii_name, state=Domain.State.VERIFIED).exists():
        raise _taken_error()
    domain = Domain.objects.create(organization=organization, name=ascii_name)
    audit_record(organization=organization, actor=actor, action="domain.added", target=domain,
                 detail={"name": ascii_name})
    return domain


@dataclass(frozen=True)
class TxtLookup:
    found: bool
    code: str = ""  # dns_nxdomain | dns_record_missing | dns_wrong_value | dns_timeout
    reason: str = ""  # what DNS answered, as data: the TXT values found (one a line) or the lookup's error
    values: tuple = ()


def _resolver():
    resolver = dns.resolver.Resolver(configure=not settings.DNS_NAMESERVERS)
    if settings.DNS_NAMESERVERS:
        servers = []
        for entry in settings.DNS_NAMESERVERS:
            host, port = entry, 53
            if entry.count(":") == 1:  # "ip:port" (a bare IPv6 address has several colons)
                host, port_text = entry.split(":")
                port = int(port_text)
            servers.append(dns.nameserver.Do53Nameserver(host, port))
        resolver.nameservers = servers
    resolver.timeout = DNS_TIMEOUT
    resolver.lifetime = DNS_TIMEOUT
    resolver.cache = None
    return resolver


def dns_txt_check(*, name, expected):
    """Look up the TXT records of ``name`` and compare with ``expected`` (our ``calendarhub-verification=…``)."""
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return TxtLookup(False, "dns_nxdomain")
    except (dns.exception.Timeout, dns.resolver.LifetimeTimeout):
        return TxtLookup(False, "dns_timeout")
    except (dns.resolver.NoNameservers, dns.exception.DNSException) as exc:
        return TxtLookup(False, "dns_timeout", exc.__class__.__name__)
    values = tuple(b"".join(rdata.strings).decode("utf-8", "replace") for rdata in (answer.rrset or []))
    if expected in values:
        return TxtLookup(True, values=values)
    ours = [v for v in values if v.startswith(TXT_PREFIX)]
    if ours:
        return TxtLookup(False, "dns_wrong_value", "\n".join(ours), values)
    return TxtLookup(False, "dns_record_missing", "\n".join(values), values)


def failure_text(domain):
    """Why the last check of ``domain`` failed, in the active language (``failure_reason`` holds DNS's answer)."""
    name, found = domain.name, [v for v in domain.failure_reason.splitlines() if v]
    code = domain.failure_code
    if code == "dns_nxdomain":
        return _("DNS says %(name)s does not exist (NXDOMAIN).") % {"name": name}
    if code == "dns_timeout":
        if found:
            return _("DNS lookup of %(name)s failed: %(error)s.") % {"name": name, "error": found[0]}
        return _("No DNS answer for %(name)s within %(seconds)s s.") % {"name": name, "seconds": f"{DNS_TIMEOUT:g}"}
    if code == "dns_wrong_value" and found and all(v.startswith(TXT_PREFIX) for v in found):
        return _("Found %(found)s but expected %(expected)s.") % {"found": ", ".join(found),
                                                                  "expected": domain.txt_value}
    if code == "dns_record_missing":
        if not found:
            return _("%(name)s has no TXT record.") % {"name": name}
        return ngettext("%(name)s has %(count)d TXT record, none of them %(prefix)s….",
                        "%(name)s has %(count)d TXT records, none of them %(prefix)s….",
                        len(found)) % {"name": name, "count": len(found), "prefix": TXT_PREFIX}
    if code == "domain_taken":
        return _("This domain is verified by another organization.")
    return domain.failure_reason  # written before reasons were kept as data


def domain_verify(*, domain, actor=None, periodic=False):
    """Check the domain's TXT record now and record the outcome (pending/failed → verified, verified → failed).

    On a periodic re-check a DNS timeout changes nothing (it is DNS, not the domain, that failed) and the domain
    is re-checked next hour.
    """
    lookup = dns_txt_check(name=domain.name, expected=domain.txt_value)
    with transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=domain.pk)
        before = domain.state
        now = timezone.now()
        taken = lookup.found and Domain.objects.filter(name=domain.name, state=Domain.State.VERIFIED).exclude(
            pk=domain.pk).exists()
        if taken:
            # Another org proved it first (both TXT records can exist): ownership does not move silently.
            domain.state = Domain.State.FAILED
            domain.failure_code = "domain_taken"
            domain.failure_reason = ""
        elif lookup.found:
            domain.state = Domain.State.VERIFIED
            domain.verified_at = domain.verified_at if before == Domain.State.VERIFIED else now
            domain.failure_code = ""
            domain.failure_reason = ""
        elif periodic and lookup.code == "dns_timeout":
            return domain
        elif periodic and before == Domain.State.PENDING:
            domain.failure_code = lookup.code  # still waiting for the admin: say why, keep it pending
            domain.failure_reason = lookup.reason
        else:
            domain.state = Domain.State.FAILED
            domain.failure_code = lookup.code
            domain.failure_reason = lookup.reason
        domain.last_checked_at = now
        try:
            with transaction.atomic():
                domain.save()
        except IntegrityError:  # another org's verification of the same name committed in between
            domain.state = Domain.State.FAILED
            domain.verified_at = None
            domain.failure_code = "domain_taken"
            domain.failure_reason = ""
            domain.save()
        if domain.state == Domain.State.VERIFIED and before != Domain.State.VERIFIED:
            _release_other_claims(domain)
        if domain.state != before or not periodic:
            audit_record(
                organization=domain.organization, actor=actor,
                action="domain.verified" if lookup.found else "domain.verification_failed", target=domain,
                detail={"name": domain.name, "from": before, "to": domain.state, "code": lookup.code,
                        "periodic": periodic},
            )
    return domain


def _release_other_claims(domain):
    """The name is now one org's: the other orgs' claims of it end, each with an audit entry of its own."""
    for claim in Domain.objects.filter(name=domain.name).exclude(pk=domain.pk).select_related("organization"):
        audit_record(organization=claim.organization, action="domain.claim_released", target=claim,
                     detail={"name": claim.name, "reason": "verified_by_another_organization"})
        claim.delete()


def domain_claims_expire(*, now=None):
    """Drop claims never verified within ``PENDING_CLAIM_EXPIRES``. Returns how many."""
    now = now or timezone.now()
    expired = Domain.objects.filter(verified_at__isnull=True, created_at__lt=now - PENDING_CLAIM_EXPIRES).exclude(
        state=Domain.State.VERIFIED).select_related("organization")
    n = 0
    for claim in expired:
        with transaction.atomic():
            audit_record(organization=claim.organization, action="domain.claim_expired", target=claim,
                         detail={"name": claim.name, "created_at": claim.created_at.isoformat()})
            claim.delete()
        n += 1
    return n


def domains_reverify_due(*, now=None):
    """Hourly: expire stale claims, re-check verified domains not checked for 24 h, and every pending or failed
    one."""
    now = now or timezone.now()
    domain_claims_expire(now=now)
    due = Domain.objects.filter(
        Q(state=Domain.State.VERIFIED, last_checked_at__lt=now - REVERIFY_AFTER)
        | Q(state=Domain.State.VERIFIED, last_checked_at__isnull=True)
        | Q(state__in=[Domain.State.PENDING, Domain.State.FAILED])
    ).select_related("organization")
    counts = {"checked": 0, "verified": 0, "failed": 0}
    for domain in due.iterator():
        try:
            result = domain_verify(domain=domain, periodic=True)
        except Exception:  # noqa: BLE001 - one broken row must not stop the others
            logger.exception("re-verification of domain %s failed", domain.pk)
            continue
        counts["checked"] += 1
        if result.state == Domain.State.VERIFIED:
            counts["verified"] += 1
        elif result.state == Domain.State.FAILED:
            counts["failed"] += 1
    return counts


def domain_affected_people(*, domain):
    """Activated or pending people of the org whose email is in ``domain`` (they lose the domain's vouching)."""
    return Person.objects.filter(
        organization_id=domain.organization_id,
        email__iendswith="@" + domain.name,
        calendar_state__in=[Person.CalendarState.ACTIVATED, Person.CalendarState.PENDING],
    ).order_by("email")


@transaction.atomic
def domain_remove(*, domain, actor=None):
    affected = domain_affected_people(domain=domain).count()
    audit_record(organization=domain.organization, actor=actor, action="domain.removed", target=domain,
                 detail={"name": domain.name, "state": domain.state, "affected_people": affected})
    domain.delete()
