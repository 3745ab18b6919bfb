"""The Meeting service page: which service keywords use, its settings, and the Test button. Thin: settings
and the test live in ``services``."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView

from calendar_sync.scheduling.forms import MeetingServiceForm, MeetingServiceTestForm
from calendar_sync.scheduling.models import KeywordMeeting
from calendar_sync.scheduling.services import meeting_service_of, meeting_service_save, meeting_service_test
from controlhub.tenancy.throttle import throttle_hit
from controlhub.tenancy.views import OrgAdminRequiredMixin

_FIELDS = ("kind", "webex_site_url", "webex_client_id", "webex_site_field", "directory_admin_email", "jitsi_host",
           "jitsi_app_id", "bbb_api_url", "bbb_algorithm")


class MeetingServiceView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/meeting_service.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        service = meeting_service_of(self.organization)
        ctx.setdefault("form", MeetingServiceForm(
            initial={name: getattr(service, name) for name in _FIELDS}, service=service))
        ctx.setdefault("test_form", MeetingServiceTestForm(initial={"email": self.request.user.email}))
        meetings = KeywordMeeting.objects.filter(organization=self.organization)
        ctx.update({
            "service": service,
            "can_change": self.membership.can_change,
            "waiting": meetings.filter(state=KeywordMeeting.State.ACTIVE, meeting_id__isnull=True)
            .exclude(error_code="").count(),
            "releasing": meetings.filter(state=KeywordMeeting.State.RELEASING).count(),
            "active": meetings.filter(state=KeywordMeeting.State.ACTIVE, meeting_id__isnull=False).count(),
        })
        return ctx


class MeetingServiceSaveView(MeetingServiceView):
    def post(self, request):
        form = MeetingServiceForm(request.POST, service=meeting_service_of(self.organization))
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        meeting_service_save(organization=self.organization, values=form.cleaned_data, actor=request.user)
        messages.success(request, _("Meeting service saved. Run Test to check it."))
        return redirect("meeting_service")


class MeetingServiceTestView(MeetingServiceView):
    def post(self, request):
        form = MeetingServiceTestForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(test_form=form), status=400)
        # Each run creates and deletes a real meeting on the org's service (and may spend its API quota).
        throttled = throttle_hit(scope="meeting_service_test_org", key=self.organization.pk)
        if not throttled.allowed:
            minutes = throttled.minutes_left()
            messages.error(request, ngettext(
                "The meeting service test was run too many times in a short while. Try again in %(minutes)d "
                "minute.",
                "The meeting service test was run too many times in a short while. Try again in %(minutes)d "
                "minutes.", minutes) % {"minutes": minutes})
            response = self.render_to_response(self.get_context_data(test_form=form), status=429)
            response["Retry-After"] = str(throttled.seconds_left())
            return response
        report = meeting_service_test(organization=self.organization, email=form.cleaned_data["email"].lower(),
                                      actor=request.user)
        return self.render_to_response(self.get_context_data(test_form=form, report=report))
