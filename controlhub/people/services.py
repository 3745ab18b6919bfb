"""People of an organization: adding them, finding them, counting them.

Emails are the key users are known by (in Google and here), so they are normalized the same way everywhere:
stripped, Unicode NFC, lower-cased. Mismatches in case or composed/decomposed accents must never block a user.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from controlhub.people.models import Person
from controlhub.tenancy.models import Domain
from controlhub.tenancy.orgs import audit_record


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


NAME_MAX_LENGTH = 200  # Person.name
# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Besides the C0/C1 controls (category Cc): the bidi embeddings, overrides and isolates that reorder what a
# reader sees ("Bob\u202eexe.doc"), and the line/paragraph separators.
_INVISIBLE_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")
NAME_PROBLEMS = {
    "formula": _("Starts with %(char)s, which spreadsheets run as a formula. Remove it."),
    "control_character": _("Contains the invisible control character %(char)s. Remove it."),
    "name_too_long": _("Name longer than 200 characters."),
}


def name_problems(name):
    """Why ``name`` (already stripped) cannot be a person's name: a list of ``{"code", "args"}`` with codes of
    ``NAME_PROBLEMS``, empty if it is fine.

    The one rule of the add form, the CSV import and the directory import, so a name refused by one is refused
    by all. ``person_create`` itself stores what it is given (the export neutralises formulas on the way out).
    """
    problems = []
    if name.startswith(FORMULA_PREFIXES):
        problems.append({"code": "formula", "args": {"char": repr(name[0])}})
    control = next((c for c in name if unicodedata.category(c) == "Cc" or c in _INVISIBLE_CONTROLS), None)
    if control is not None:
        problems.append({"code": "control_character", "args": {"char": f"U+{ord(control):04X}"}})
    if len(name) > NAME_MAX_LENGTH:
        problems.append({"code": "name_too_long", "args": {}})
    return problems


def name_problem_message(problem):
    return str(NAME_PROBLEMS[problem["code"]]) % problem.get("args", {})


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


def email_verified_in(organization, email):
    """Whether the org's person with this address proved the mailbox by signing in (the own-key rule of the tenant
    boundary asks this through ``register_verified_email_lookup``)."""
    return Person.objects.filter(organization_id=organization.pk, email=email, email_verified_at__isnull=False).exists()
