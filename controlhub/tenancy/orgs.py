"""Organizations and their members."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from controlhub.tenancy.models import AuditEvent, Membership, Organization


def audit_record(*, organization, actor=None, action, target=None, detail=None):
    """Append to the audit log. ``detail`` must never hold plaintext of encrypted fields."""
    return AuditEvent.objects.create(
        organization=organization,
        actor=actor if (actor is not None and actor.is_authenticated) else None,
        action=action,
        target_type=target.__class__.__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        detail=detail or {},
    )


@transaction.atomic
def organization_create(*, name, admin_email, admin_password=None, slug=None):
    """Create an organization with its first full admin. Returns (org, user, created_password_or_None)."""
    user_model = get_user_model()
    email = admin_email.strip().lower()
    base = slug or slugify(name) or "org"
    slug_value, n = base, 1
    while Organization.objects.filter(slug=slug_value).exists():
        n += 1
        slug_value = f"{base}-{n}"
    org = Organization.objects.create(name=name, slug=slug_value)
    generated = None
    if admin_password is None:
        generated = secrets.token_urlsafe(12)
        admin_password = generated
    user = user_model.objects.filter(username=email).first()
    if user is None:
        user = user_model.objects.create_user(username=email, email=email, password=admin_password)
    else:
        user.set_password(admin_password)
        user.save(update_fields=["password"])
    Membership.objects.create(user=user, organization=org, role=Membership.Role.FULL_ADMIN)
    audit_record(organization=org, action="organization.created", target=org, detail={"admin": email})
    return org, user, generated


@transaction.atomic
def membership_set(*, organization, email, role, password=None, actor=None):
    """Add (or change the role of) a member by email."""
    user_model = get_user_model()
    email = email.strip().lower()
    user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership, _ = Membership.objects.update_or_create(user=user, defaults={"organization": organization, "role": role})
    audit_record(organization=organization, actor=actor, action="membership.set", target=membership, detail={"role": role})
    return membership
