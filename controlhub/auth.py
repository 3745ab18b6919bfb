"""Signing in: the email-or-username backend, and what django-axes counts failed sign-ins under.

Axes (settings ``AXES_*``) records each failure in the database and refuses every sign-in of a locked account or
client address, the right password included, until the cool-off has passed. The pieces here decide *whose*
failures they are: the account a person typed (:func:`signin_identity`), the client's address
(:func:`controlhub.tenancy.throttle.client_ip`), and a higher limit for an address than for an account (:class:`SignInAttemptsHandler`).
"""


from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Sum
from django.utils import timezone

from controlhub.people.services import email_normalize


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with a username or an email address (case-insensitive)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and "@" in username:
            user_model = get_user_model()
            user = user_model._default_manager.filter(email__iexact=username.strip()).order_by("id").first()
            if user is not None:
                username = user.get_username()
        return super().authenticate(request, username=username, password=password, **kwargs)


def signin_identity(request, credentials=None):
    """The name failed sign-ins are counted under (``AXES_USERNAME_CALLABLE``): the email as typed, trimmed and
    lower-cased, so ``ANA@acme.test`` and ``ana@acme.test`` share one count; a username counts under its
    account's email, so typing the username instead does not give a second allowance."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    if not typed:
        return None
    known = getattr(request, "_signin_identities", None) if request is not None else None
    if known is None:
        known = {}
        if request is not None:
            request._signin_identities = known  # axes asks several times per request
    if typed not in known:
        identity = email_normalize(typed)
        if "@" not in identity:
            email = (
                get_user_model()._default_manager.filter(username=typed.strip()).values_list("email", flat=True).first()
            )
            identity = email_normalize(email) if email else identity
        known[typed] = identity
    return known[typed]


def _parameter_limit(parameter, request, credentials):
    if parameter == "ip_address":
        return settings.SIGNIN_IP_FAILURE_LIMIT
    return get_failure_limit(request, credentials)


class SignInAttemptsHandler(AxesDatabaseHandler):
    """Axes' database handler, with its own limit for each lockout parameter.

    Axes compares one failure count against one limit (``AXES_FAILURE_LIMIT``, the per-account limit). The
    per-address count is mapped onto that scale: below ``SIGNIN_IP_FAILURE_LIMIT`` it never reaches the
    account limit, at it it does.
    """

    def _counts(self, request, credentials):
        parameters = get_lockout_parameters(request, credentials)
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            count = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            yield parameter, attempts, count, _parameter_limit(parameter, request, credentials)

    def get_failures(self, request, credentials=None):
        account_limit = get_failure_limit(request, credentials)
        failures = 0
        for _parameter, _attempts, count, limit in self._counts(request, credentials):
            failures = max(failures, max(count, account_limit) if count >= limit else min(count, account_limit - 1))
        return failures

    def locked_until(self, request, credentials=None):
        """When the sign-in refused now will be allowed again: for each count at its limit, the time the
        failure that brought it there leaves the cool-off window (failures expire oldest first)."""
        cool_off = get_cool_off(request)
        until = None
        for _parameter, attempts, count, limit in self._counts(request, credentials):
            if count < limit:
                continue
            total = 0
            for attempt_time, failures in attempts.order_by("-attempt_time").values_list(
                "attempt_time", "failures_since_start"
            ):
                total += failures
                if total >= limit:
                    free_at = attempt_time + cool_off
                    until = free_at if until is None else max(until, free_at)
                    break
        return until or timezone.now() + cool_off

