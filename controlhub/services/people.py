"""People of an organization: adding them, finding them, counting them.

Emails are the key users are known by (in Google and here), so they are normalized the same way everywhere:
stripped, Unicode NFC, lower-cased. Mismatches in case or composed/decomposed accents must never block a user.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q

from controlhub.models import Domain, Person
from controlhub.services.orgs import audit_record


class PersonExists(Exception):
    """A person with this email is already in the organization."""


def email_normalize(value):
    """Trimmed, NFC, lower-case. Does not validate (see ``email_is_valid``)."""
    return unicodedata.normalize("NFC", (value or "").strip()).lower()


def email_is_valid(email):
    if not email or len(email) > 320 or email.count("@") != 1:
        return False
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def verified_domains(organization):
    """Lower-case names of the organization's verified domains."""
    return {
        name.lower()
        for name in Domain.objects.filter(organization=organization, state=Domain.State.VERIFIED).values_list(
            "name", flat=True
        )
    }


def known_domains(organization):
    return {name.lower() for name in Domain.objects.filter(organization=organization).values_list("name", flat=True)}


@transaction.atomic
def person_create(*, organization, email, name="", language="", time_zone="", actor=None):
    """Add one person (state Off). Raises ``PersonExists`` or ``ValueError`` for a malformed email."""
    email = email_normalize(email)
    if not email_is_valid(email):
        raise ValueError("malformed email")
    if Person.objects.filter(organization=organization, email=email).exists():
        raise PersonExists(email)
    person = Person.objects.create(
        organization=organization, email=email, name=(name or "").strip()[:200], language=language or "",
        time_zone=time_zone or "",
    )
    audit_record(organization=organization, actor=actor, action="person.created", target=person)
    return person


def people_state_counts(organization):
    """``{state: n}`` for every state (zeros included)."""
    counts = dict(
        Person.objects.filter(organization=organization)
        .values_list("calendar_state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {value: counts.get(value, 0) for value, _label in Person.CalendarState.choices}


def people_filter(queryset, *, state="", error_code="", q=""):
    """Narrow an (org-scoped) Person queryset by state, error code and a search on email or name."""
    if state:
        queryset = queryset.filter(calendar_state=state)
    if error_code:
        queryset = queryset.filter(error_code=error_code)
    q = (q or "").strip()
    if q:
        queryset = queryset.filter(Q(email__icontains=q) | Q(name__icontains=q))
    return queryset
