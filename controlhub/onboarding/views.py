"""Connect Google Workspace: client ID and scopes to delegate, own key, Test connection (polled, never blocking)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import DetailView, TemplateView

from controlhub.onboarding import services as service
from controlhub.onboarding.forms import ConnectionTestForm, OnboardingSettingsForm, OwnKeyUploadForm
from controlhub.onboarding.models import ConnectionTest
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.throttle import throttle_hit
from controlhub.tenancy.views import OrgAdminRequiredMixin


def checklist_rows(test):
    """Results ready to render: translated labels, and the reason and fix shown once per distinct code."""
    rows, seen = [], set()
    for result in test.results:
        row = dict(result)
        row["label"] = service.CHECK_LABELS.get(result["check"], result.get("label", result["check"]))
        row["detail"] = service.result_text(result)
        if result["status"] == "fail":
            row["info"] = error_info(result["code"])
            row["first_of_code"] = result["code"] not in seen
            seen.add(result["code"])
        rows.append(row)
    return rows


def test_context(test):
    if test is None:
        return {"test": None}
    done, total = service.connection_test_progress(test)
    return {
        "test": test,
        "rows": checklist_rows(test),
        "progress_done": done,
        "progress_total": total,
        "progress_percent": int(100 * done / total),
        "polling": test.state != ConnectionTest.State.DONE,
    }


class OnboardingPageMixin(OrgAdminRequiredMixin):
    template_name = "controlhub/onboarding.html"

    def page_context(self, **forms):
        org = self.organization
        org.refresh_from_db()
        scopes = service.org_scopes(org)
        last_test = self.org_queryset(ConnectionTest).first()
        delegation_recent = bool(
            org.delegation_changed_at and timezone.now() - org.delegation_changed_at < timezone.timedelta(hours=24)
        )
        ctx = {
            "organization": org,
            "membership": self.membership,
            "can_change": self.membership.can_change,
            "key_status": service.org_key_status(org),
            "scopes": scopes,
            "scopes_line": service.org_scopes_line(org),
            "scope_uses": [service.SCOPE_USES[s] for s in scopes],
            "settings_form": forms.get("settings_form") or OnboardingSettingsForm(initial={
                "directory_import_enabled": org.directory_import_enabled,
                "delegation_changed_at": timezone.localtime(org.delegation_changed_at) if org.delegation_changed_at else None,
            }),
            "key_form": forms.get("key_form") or OwnKeyUploadForm(),
            "test_form": forms.get("test_form") or ConnectionTestForm(
                initial={"test_email": last_test.test_email if last_test else ""}
            ),
            "delegation_recent": delegation_recent,
        }
        ctx.update(test_context(last_test))
        return ctx

    def render_page(self, status=200, **forms):
        return self.response_class(
            request=self.request, template=[self.template_name], context=self.page_context(**forms), status=status
        )

    response_class = TemplateView.response_class


class OnboardingView(OnboardingPageMixin, TemplateView):
    def get(self, request, *args, **kwargs):
        return self.render_page()


class OnboardingSettingsView(OnboardingPageMixin, View):
    def post(self, request):
        form = OnboardingSettingsForm(request.POST)
        if not form.is_valid():
            return self.render_page(status=400, settings_form=form)
        service.onboarding_settings_update(
            organization=self.organization, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Settings saved."))
        return redirect("onboarding")


class OwnKeyUploadView(OnboardingPageMixin, View):
    def post(self, request):
        form = OwnKeyUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render_page(status=400, key_form=form)
        service.own_key_upload(organization=self.organization, data=form.cleaned_data["key"].info, actor=request.user)
        messages.success(request, _("Key uploaded. Authorize its client ID in Google Admin, then run Test connection."))
        return redirect("onboarding")


class OwnKeyRemoveView(OnboardingPageMixin, View):
    def post(self, request):
        service.own_key_remove(organization=self.organization, actor=request.user)
        messages.success(request, _("Your key was removed; the deployment's key is used again."))
        return redirect("onboarding")


class ConnectionTestStartView(OnboardingPageMixin, View):
    def post(self, request):
        form = ConnectionTestForm(request.POST)
        if not form.is_valid():
            return self.render_page(status=400, test_form=form)
        throttled = throttle_hit(scope="connection_test_org", key=self.organization.pk)
        if not throttled.allowed:
            minutes = throttled.minutes_left()
            messages.error(request, ngettext(
                "Test connection was run too many times in a short while. Try again in %(minutes)d minute.",
                "Test connection was run too many times in a short while. Try again in %(minutes)d minutes.",
                minutes) % {"minutes": minutes})
            response = self.render_page(status=429, test_form=form)
            response["Retry-After"] = str(throttled.seconds_left())
            return response
        test = service.connection_test_start(
            organization=self.organization, test_email=form.cleaned_data["test_email"], actor=request.user
        )
        return redirect(reverse("onboarding") + f"#test-{test.pk}")


class ConnectionTestPanelView(OrgAdminRequiredMixin, DetailView):
    """The result panel alone: htmx polls it every second while the test is queued or running."""

    template_name = "controlhub/onboarding_test_panel.html"
    context_object_name = "test"

    def get_queryset(self):
        return self.org_queryset(ConnectionTest)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(test_context(self.object))
        ctx["delegation_recent"] = False
        return ctx
