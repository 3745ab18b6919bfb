"""Sign-in by emailed one-time link: creates the user and membership, verifies the email, works once, expires."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils.http import urlsafe_base64_decode

from controlhub.people import activation, invitations
from controlhub.people.models import Person
from controlhub.people.services import person_create
from controlhub.tenancy.models import Domain, Membership


def _link(message):
    return re.search(r"https?://\S+/accounts/link/\S+/", message.body).group(0)


def _path(url):
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


@pytest.fixture
def person(org):
    return person_create(organization=org, email="ana@acme.test", name="Ana")


def test_request_link_sign_in_creates_user_and_verifies_email(client, org, person):
    response = client.post(reverse("signin_link"), {"email": " ANA@acme.test "})
    assert response.status_code == 200 and "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@acme.test"]
    path = _path(_link(mail.outbox[0]))
    # Opening the link (a mail scanner would) does not use it.
    assert client.get(path).status_code == 200
    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == reverse("me")
    person.refresh_from_db()
    user = get_user_model().objects.get(username="ana@acme.test")
    assert person.user == user and person.email_verified_at is not None
    assert Membership.objects.get(user=user).role == "user"
    assert person.history.filter(message="Email verified by sign-in").exists()
    assert not user.has_usable_password()
    page = client.get(reverse("me")).content.decode()
    assert "My calendar service" in page
    # The link works once.
    client.logout()
    response = client.post(path)
    assert response.status_code == 400 and "This link no longer works" in response.content.decode()


def test_unknown_email_gets_the_same_answer_and_no_mail(client, org):
    response = client.post(reverse("signin_link"), {"email": "nobody@acme.test"})
    assert "Check your email" in response.content.decode()
    assert mail.outbox == []


def test_invitation_resend_and_expiry(admin_client, person, settings, monkeypatch):
    response = admin_client.post(reverse("person_action", args=[person.pk, "invite"]))
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.invited_at is not None and len(mail.outbox) == 1
    assert "You're invited" in mail.outbox[0].subject
    path = _path(_link(mail.outbox[0]))
    assert "/accounts/link/i/" in path
    generator, max_age = invitations.LINK_KINDS["i"]
    real_now = generator._now()
    import datetime as dt

    monkeypatch.setattr(type(generator), "_now", lambda self: real_now + dt.timedelta(seconds=max_age + 5))
    assert invitations.signin_link_person("i", path.split("/")[4], path.split("/")[5]) is None
    monkeypatch.undo()
    assert invitations.signin_link_person("i", path.split("/")[4], path.split("/")[5]) == person
    # A tampered token or kind fails.
    assert invitations.signin_link_person("s", path.split("/")[4], path.split("/")[5]) is None
    assert invitations.signin_link_person("i", path.split("/")[4], "abc-def") is None


def test_signing_in_is_not_a_tenant_admins_consent_with_the_shared_key(client, org, person):
    org.setup_state = "ready"
    org.save()
    assert activation.activation_blocker(person) == "subject_outside_tenant"
    invitations.signin_link_request(email="ana@acme.test")
    client.post(_path(_link(mail.outbox[0])))
    person.refresh_from_db()
    assert person.email_verified_at is not None
    assert activation.activation_blocker(person) == "subject_outside_tenant"


def test_signed_in_user_can_be_activated_with_the_orgs_own_key(client, org, person, google,
                                                                django_capture_on_commit_callbacks):
    from controlhub.onboarding.services import own_key_upload

    own_key_upload(organization=org, data=google.key_file.read_bytes())
    org.refresh_from_db()
    org.setup_state = "ready"
    org.save()
    with django_capture_on_commit_callbacks(execute=True):
        activation.person_activate(person=person)
    person.refresh_from_db()
    assert (person.calendar_state, person.error_code) == ("error", "email_not_verified")
    invitations.signin_link_request(email="ana@acme.test")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_path(_link(mail.outbox[0])))
    person.refresh_from_db()
    assert activation.activation_blocker(person) == ""
    # The sign-in re-validates at once: the page no longer says "has not signed in yet".
    assert person.calendar_state in ("pending", "activated", "error")
    assert person.error_code != "email_not_verified"


def test_one_address_in_two_orgs_gets_one_link(org, person, make_org):
    other, _ = make_org("Other")
    person_create(organization=other, email="ana@acme.test")
    mine = person
    Domain.objects.create(organization=org, name="acme.test", state=Domain.State.VERIFIED)
    assert invitations.signin_link_request(email="ana@acme.test") == 1
    assert len(mail.outbox) == 1
    uid = _path(_link(mail.outbox[0])).split("/")[4]
    assert invitations.signin_home_person("ana@acme.test") == mine
    assert str(mine.pk) in urlsafe_base64_decode(uid).decode()


def test_existing_admin_signing_in_keeps_role(client, org, admin_user):
    admin_person = person_create(organization=org, email=admin_user.email)
    invitations.signin_link_request(email=admin_user.email)
    client.post(_path(_link(mail.outbox[0])))
    admin_person.refresh_from_db()
    assert admin_person.user == admin_user
    assert Membership.objects.get(user=admin_user).role == "full_admin"


def test_login_page_offers_the_link(client, db):
    assert reverse("signin_link") in client.get(reverse("login")).content.decode()


def test_user_of_another_org_is_refused(client, org, make_org, person):
    other, other_admin = make_org("Globex", admin_email="ana@acme.test")  # same address, other org
    invitations.signin_link_request(email="ana@acme.test")
    response = client.post(_path(_link(mail.outbox[0])))
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.user is None and Person.objects.filter(email="ana@acme.test").count() == 1
