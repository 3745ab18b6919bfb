"""The signed-in user's own page: their calendar state and, if not activated, why and what their admin does."""

from django.views.generic import TemplateView

from controlhub.people import activation
from controlhub.people.models import Person
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.views import OrgMemberRequiredMixin


class MeView(OrgMemberRequiredMixin, TemplateView):
    template_name = "controlhub/me.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        person = self.org_queryset(Person).filter(user=self.request.user).first()
        if person is None:
            person = self.org_queryset(Person).filter(email__iexact=self.request.user.email).first()
        code = ""
        if person is not None:
            code = person.error_code or (
                activation.activation_blocker(person) if person.calendar_state == Person.CalendarState.OFF else ""
            )
        ctx.update(person=person, states=Person.CalendarState, reason=error_info(code) if code else None,
                   code=code)
        return ctx
