"""Every view below the organization level inherits one of these mixins, so none can forget the scoping.

``get_queryset`` of an org-scoped view must start from ``self.org_queryset(Model)``; objects of another
organization are then simply not found (404), never forbidden (which would leak that they exist).
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class OrgMemberRequiredMixin(LoginRequiredMixin):
    """Signed-in member of an organization; ``self.organization`` and ``self.membership`` are set."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = request.membership
        if not membership:
            if request.user.is_staff:
                return redirect("admin:index")
            raise PermissionDenied(_("You are not a member of any organization."))
        self.membership = membership
        self.organization = membership.organization
        return super().dispatch(request, *args, **kwargs)

    def org_queryset(self, model):
        return model._default_manager.filter(organization=self.organization)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("organization", self.organization)
        ctx.setdefault("membership", self.membership)
        return ctx


class OrgAdminRequiredMixin(OrgMemberRequiredMixin):
    """Full and read-only admins may look; only full admins may change (anything but GET/HEAD/OPTIONS)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.membership:
            if not request.membership.is_admin:
                raise PermissionDenied(_("Only organization admins can open this page."))
            if request.method not in SAFE_METHODS and not request.membership.can_change:
                raise PermissionDenied(_("Read-only admins cannot make changes."))
        return super().dispatch(request, *args, **kwargs)
