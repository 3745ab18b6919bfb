import math

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from controlhub.people.models import Person
from controlhub.tenancy.models import Domain
from controlhub.tenancy.throttle import minutes_until
from controlhub.tenancy.views import OrgAdminRequiredMixin


class SignInForm(AuthenticationForm):
    """Django's sign-in form, saying what went wrong in words of its own: Django's names the field through a
    placeholder ("a correct %(username)s"), which reads wrong in languages whose grammar follows the word."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The email (or username) and password do not match. Check both and try again."),
    }


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True


def signin_locked_out(request, original_response=None, credentials=None):
    """The sign-in page again, saying when to retry, for a sign-in django-axes refused (``AXES_LOCKOUT_CALLABLE``):
    too many failures for this account or from this address. Status 429 with Retry-After."""
    until = AxesProxyHandler.get_implementation().locked_until(request, credentials)
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
    minutes = minutes_until(until)
    lockout = ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    form = SignInForm(request, initial={"username": request.POST.get("username", "")})
    context = {"form": form, "next": request.POST.get("next", ""), "lockout": lockout}
    response = render(request, SignInView.template_name, context, status=429)
    response["Retry-After"] = str(seconds)
    return response


class HomeView(View):
    """Admins land on the dashboard, users on their meetings."""

    def get(self, request):
        if not request.user.is_authenticated:
            return redirect("login")
        m = request.membership
        if m and m.is_admin:
            return redirect("dashboard")
        if m:
            return redirect("meetings")
        if request.user.is_staff:
            return redirect("admin:index")
        return redirect("login")


class DashboardView(OrgAdminRequiredMixin, TemplateView):
    template_name = "controlhub/dashboard.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        org = self.organization
        counts = dict(
            self.org_queryset(Person).values_list("calendar_state").annotate(n=Count("id")).order_by()
        )
        states = [(value, label, counts.get(value, 0)) for value, label in Person.CalendarState.choices]
        domains = self.org_queryset(Domain)
        ctx.update(
            states=states,
            people_total=sum(counts.values()),
            error_count=counts.get(Person.CalendarState.ERROR, 0),
            domains_total=domains.count(),
            domains_verified=domains.filter(state=Domain.State.VERIFIED).count(),
            setup_state=org.setup_state,
            last_test=org.connection_tests.first(),
        )
        return ctx


@never_cache
def healthz(request):
    """Liveness for load balancers: the database answers and the task queue is reachable (JSON)."""
    checks = {}
    ok = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        ok = False
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        from django_q.brokers import get_broker

        broker = get_broker()
        checks["queue"] = "ok" if broker.ping() else "unreachable"
        checks["queue_broker"] = broker.__class__.__name__
        ok = ok and checks["queue"] == "ok"
    except Exception as exc:  # noqa: BLE001
        ok = False
        checks["queue"] = f"error: {exc.__class__.__name__}"
    return JsonResponse({"status": "ok" if ok else "error", "checks": checks}, status=200 if ok else 503)
