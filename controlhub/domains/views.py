"""Domains: add, see the TXT record to publish, verify, remove (with the people it affects)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from controlhub.domains import services as service
from controlhub.domains.forms import DomainAddForm
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.models import Domain
from controlhub.tenancy.throttle import throttle_hit
from controlhub.tenancy.views import OrgAdminRequiredMixin

AFFECTED_SHOWN = 20


class DomainListView(OrgAdminRequiredMixin, TemplateView):
    template_name = "controlhub/domains.html"

    def get_context_data(self, form=None, **kwargs):
        ctx = super().get_context_data(**kwargs)
        domains = list(self.org_queryset(Domain).order_by("name"))
        for domain in domains:
            domain.failure_info = error_info(domain.failure_code) if domain.failure_code else None
            domain.failure_text = service.failure_text(domain) if domain.failure_code else ""
        ctx.update(domains=domains, form=form or DomainAddForm(), can_change=self.membership.can_change)
        return ctx

    def post(self, request):
        form = DomainAddForm(request.POST)
        if form.is_valid():
            try:
                domain = service.domain_add(organization=self.organization, name=form.cleaned_data["name"],
                                            actor=request.user)
            except ValidationError as exc:
                form.add_error("name", exc)
            else:
                messages.success(request, _("Domain added: publish its TXT record, then click Verify."))
                return redirect(f"{request.path}#domain-{domain.pk}")
        return self.render_to_response(self.get_context_data(form=form), status=400)


class DomainObjectMixin(OrgAdminRequiredMixin):
    def get_domain(self):
        return get_object_or_404(self.org_queryset(Domain), pk=self.kwargs["pk"])


class DomainVerifyView(DomainObjectMixin, View):
    def post(self, request, pk):
        domain = self.get_domain()
        throttled = throttle_hit(scope="domain_verify", key=f"{self.organization.pk}:{domain.pk}")
        if not throttled.allowed:
            minutes = throttled.minutes_left()
            messages.error(request, ngettext(
                "%(name)s was checked too many times in a short while. Try again in %(minutes)d minute.",
                "%(name)s was checked too many times in a short while. Try again in %(minutes)d minutes.",
                minutes) % {"name": domain.name, "minutes": minutes})
            return redirect(reverse("domains") + f"#domain-{domain.pk}")
        domain = service.domain_verify(domain=domain, actor=request.user)
        if domain.state == Domain.State.VERIFIED:
            messages.success(request, _("%(name)s is verified.") % {"name": domain.name})
        else:
            messages.error(request, _("%(name)s could not be verified: %(title)s.") % {
                "name": domain.name, "title": error_info(domain.failure_code).title})
        return redirect(reverse("domains") + f"#domain-{domain.pk}")


class DomainRemoveView(DomainObjectMixin, TemplateView):
    template_name = "controlhub/domain_remove.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        domain = self.get_domain()
        affected = service.domain_affected_people(domain=domain)
        ctx.update(domain=domain, affected=list(affected[:AFFECTED_SHOWN]), affected_count=affected.count(),
                   can_change=self.membership.can_change)
        return ctx

    def post(self, request, pk):
        domain = self.get_domain()
        name = domain.name
        service.domain_remove(domain=domain, actor=request.user)
        messages.success(request, _("%(name)s was removed.") % {"name": name})
        return redirect("domains")
