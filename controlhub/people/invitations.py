"""Invitations and sign-in by emailed one-time link.

The link carries the person id and a token in the style of Django's password-reset tokens: an HMAC over the
person's state that changes when the link is used (``email_verified_at`` and the user's ``last_login``), so a
used link stops working, plus a timestamp that makes it expire. The first successful sign-in proves the person
owns the address (``email_verified_at``), which is one of the two ways to satisfy the activation precondition.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from controlhub.people.activation import person_reactivate
from controlhub.people.models import Person, PersonHistory
from controlhub.people.services import email_normalize
from controlhub.tenancy.models import Domain, Membership
from controlhub.tenancy.orgs import audit_record

logger = logging.getLogger(__name__)

INVITATION_MAX_AGE = 7 * 24 * 3600
SIGNIN_LINK_MAX_AGE = 60 * 60


class SignInLinkTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "controlhub.people.invitations.SignInLinkTokenGenerator"

    def _make_hash_value(self, person, timestamp):
        user = person.user
        # Microseconds kept (SQLite and PostgreSQL store them): two sign-ins in one second still differ.
        last_login = "" if user is None or user.last_login is None else user.last_login.isoformat()
        verified = "" if person.email_verified_at is None else person.email_verified_at.isoformat()
        return f"{person.pk}{person.email}{person.user_id}{last_login}{verified}{timestamp}"

    def check_with_age(self, person, token, max_age):
        if not (person and token) or not self.check_token(person, token):
            return False
        try:
            ts = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        return self._num_seconds(self._now()) - ts <= max_age


class InvitationTokenGenerator(SignInLinkTokenGenerator):
    key_salt = "controlhub.people.invitations.InvitationTokenGenerator"


# kind in the URL → (generator, max age in seconds)
LINK_KINDS = {
    "i": (InvitationTokenGenerator(), INVITATION_MAX_AGE),
    "s": (SignInLinkTokenGenerator(), SIGNIN_LINK_MAX_AGE),
}


def signin_link_path(person, kind="s"):
    generator, _max_age = LINK_KINDS[kind]
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    return reverse(
        "signin_link_confirm", kwargs={"kind": kind, "uidb64": uid, "token": generator.make_token(person)}
    )


def _base_url(base_url=""):
    return (base_url or settings.PUBLIC_BASE_URL).rstrip("/")


def _send(person, *, template, subject, kind, base_url=""):
    link = _base_url(base_url) + signin_link_path(person, kind)
    with translation.override(person.effective_language):
        ctx = {"person": person, "organization": person.organization, "link": link}
        text = render_to_string(f"email/{template}.txt", ctx)
        html = render_to_string(f"email/{template}.html", ctx)
        message = EmailMultiAlternatives(str(subject), text, to=[person.email])
        message.attach_alternative(html, "text/html")
        message.send()


@transaction.atomic
def invitation_send(*, person_id, base_url="", actor=None):
    """Email the person an invitation with a sign-in link (admins can resend it any time)."""
    from django.utils.translation import gettext_lazy as _

    person = Person.objects.select_related("organization", "user").get(pk=person_id)
    person.invited_at = timezone.now()
    person.save(update_fields=["invited_at"])
    PersonHistory.objects.create(
        person=person, message="Invitation sent", actor=actor if actor and actor.is_authenticated else None
    )
    audit_record(organization=person.organization, actor=actor, action="person.invite", target=person)
    _send(person, template="invitation", subject=_("You're invited to Calendar Hub"), kind="i",
          base_url=base_url)
    return person


def signin_link_request(*, email, base_url=""):
    """Email a sign-in link to every person with this address. Says nothing about whether one exists."""
    from django.utils.translation import gettext_lazy as _

    email = email_normalize(email)
    person = signin_home_person(email)
    if person is None:
        return 0
    _send(person, template="signin_link", subject=_("Your Calendar Hub sign-in link"), kind="s",
          base_url=base_url)
    return 1


def signin_home_person(email):
    """The one person an address signs in as, when several organizations have added it: the one its account
    already belongs to, else the one whose organization verified the address's domain, else the first added.
    A link for one address never goes out for two organizations."""
    people = list(Person.objects.select_related("organization", "user").filter(email=email).order_by("pk"))
    if len(people) <= 1:
        return people[0] if people else None
    membership = Membership.objects.filter(user__email__iexact=email).values_list("organization_id", flat=True)
    member_orgs = set(membership)
    for person in people:
        if person.user_id or person.organization_id in member_orgs:
            return person
    domain = email.rsplit("@", 1)[-1]
    owner = Domain.objects.filter(name=domain, state=Domain.State.VERIFIED).values_list(
        "organization_id", flat=True).first()
    return next((p for p in people if p.organization_id == owner), people[0])


def signin_link_person(kind, uidb64, token):
    """The person a link is for if the link is valid (not used, not expired), else None."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    person = Person.objects.select_related("organization", "user").filter(pk=pk).first()
    if person is None:
        return None
    if kind not in LINK_KINDS:
        return None
    generator, max_age = LINK_KINDS[kind]
    return person if generator.check_with_age(person, token, max_age) else None


class SignInRefused(Exception):
    """The link is valid but this account belongs to another organization."""


@transaction.atomic
def signin_link_consume(*, person):
    """Use a (checked) link: create the Django user and membership if missing, link them, verify the email.

    Returns the user to log in. The caller logs them in, which updates ``last_login`` and so invalidates the
    token (together with ``email_verified_at``).
    """
    user_model = get_user_model()
    person = Person.objects.select_for_update(of=("self",)).select_related("organization", "user").get(pk=person.pk)
    user = person.user
    if user is None:
        user = user_model.objects.filter(username=person.email).first() or user_model.objects.filter(
            email__iexact=person.email).order_by("pk").first()
        if user is None:
            user = user_model(username=person.email, email=person.email)
            user.set_unusable_password()
            user.save()
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        Membership.objects.create(user=user, organization=person.organization, role=Membership.Role.USER)
    elif membership.organization_id != person.organization_id:
        raise SignInRefused(person.email)
    other = Person.objects.filter(user=user).exclude(pk=person.pk).first()
    if other is not None and other.organization_id == person.organization_id:
        raise SignInRefused(person.email)
    now = timezone.now()
    fields = []
    if person.user_id != user.pk:
        person.user = user
        fields.append("user")
    if person.email_verified_at is None:
        person.email_verified_at = now
        fields.append("email_verified_at")
        PersonHistory.objects.create(person=person, message="Email verified by sign-in", actor=user)
    if fields:
        person.save(update_fields=fields)
    if "email_verified_at" in fields and person.calendar_state == Person.CalendarState.ERROR and \
            person.error_code == "email_not_verified":
        # The sign-in was what the activation waited for: try again at once, not when an admin notices.
        transaction.on_commit(lambda: person_reactivate(person=person))
    # A new last_login changes the token's hash: the link cannot be used twice.
    user.last_login = now
    user.save(update_fields=["last_login"])
    audit_record(organization=person.organization, actor=user, action="person.signin_link", target=person)
    return user
