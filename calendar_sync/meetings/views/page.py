"""The signed-in user's meetings list (One Button to Push) and the admin page for device tokens.

Thin: queries in ``calendar_sync.meetings.selectors``, what the rows look like in ``presenters``, the time-zone
write in ``services``. The page polls the list partial every ~10 s with ``If-None-Match``; unchanged → 304
without decrypting anything or reading a meeting.
"""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from calendar_sync.meetings import presenters
from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import device_token_create, device_token_revoke
from calendar_sync.meetings.forms import DeviceTokenForm, TimeZoneForm
from calendar_sync.meetings.models import DeviceToken
from calendar_sync.meetings.services import person_time_zone_set
from calendar_sync.presence.services import presence_refresh_if_stale
from controlhub.people.calendar import person_calendar_source
from controlhub.tenancy.views import OrgAdminRequiredMixin, OrgMemberRequiredMixin


class _MeetingsBase(OrgMemberRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        # One query for person, organization, source and membership, instead of membership, organization
        # and then the person: the membership check of the mixin reads the membership set here.
        self.linked_person = None
        if request.user.is_authenticated:
            person = sel.person_of_user(user=request.user)
            if person is not None:
                request.membership = person.user.membership
                self.linked_person = person
        return super().dispatch(request, *args, **kwargs)

    def setup_person(self, request):
        self.person = self.linked_person or sel.person_for_member(user=request.user, organization=self.organization)
        self.source = sel.source_of(self.person) if self.person else None
        self.show_past = request.GET.get("past") == "1"
        try:
            self.limit = max(1, min(int(request.GET.get("limit", sel.PAGE_ROWS)), sel.MAX_ROWS))
        except ValueError:
            self.limit = sel.PAGE_ROWS
        self.now = timezone.now()
        zone = self.person.effective_time_zone if self.person else self.organization.default_time_zone
        self.window = sel.window_for(time_zone=zone, now=self.now, show_past=self.show_past)
        self.read = None

    def etag(self):
        """The partial's ETag (the page embeds it for its first poll): no query, computed from what ``dispatch``
        loaded, before the rows are read (``selectors.meetings_etag``)."""
        if self.person is None:
            return None
        return sel.meetings_etag(
            person=self.person, source=self.source, window=self.window, now=self.now,
            variant=f"partial:{self.limit}:{get_language()}",
        )

    def list_context(self):
        person, source, window, now = self.person, self.source, self.window, self.now
        ctx = {"person": person, "source": source, "window": window, "show_past": self.show_past}
        if person is None:
            ctx["empty_reason"] = "no_person"
            return ctx
        self.read = read = sel.meetings_read(person=person, source=source, window=window, limit=self.limit)
        ctx.update(presenters.meetings_list_context(
            person=person, source=source, window=window, read=read, presence=sel.presence_for(person, read, now),
            now=now, show_past=self.show_past, limit=self.limit,
        ))
        return ctx


class MeetingsView(_MeetingsBase, TemplateView):
    template_name = "calendar_sync/meetings.html"

    def get(self, request, *args, **kwargs):
        self.setup_person(request)
        if self.person is not None:
            presence_refresh_if_stale(person=self.person)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(self.list_context())
        ctx["etag"] = self.etag() or ""
        query = "&".join(q for q in ("past=1" if self.show_past else "",
                                      f"limit={self.limit}" if self.limit != sel.PAGE_ROWS else "") if q)
        ctx["partial_url"] = reverse("meetings_partial") + (f"?{query}" if query else "")
        zone_pref = self.person.time_zone if self.person else ""
        ctx["time_zone_options"] = presenters.time_zone_options(zone_pref)
        ctx["time_zone_override"] = zone_pref
        return ctx


class MeetingsPartialView(_MeetingsBase, View):
    """The list fragment the page polls; 304 when nothing changed (nothing decrypted then)."""

    def get(self, request):
        self.setup_person(request)
        etag = self.etag()
        if etag and request.headers.get("If-None-Match") == etag:
            response = HttpResponseNotModified()
        else:
            html = render_to_string("calendar_sync/meetings_list.html", self.list_context(), request=request)
            response = HttpResponse(html)
        if etag:
            response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response


class MeetingsTimeZoneView(_MeetingsBase, View):
    def post(self, request):
        person = self.linked_person or sel.person_for_member(user=request.user, organization=self.organization)
        form = TimeZoneForm(request.POST)
        if person is None or not form.is_valid():
            messages.error(request, _("Unknown time zone."))
            return redirect("meetings")
        person_time_zone_set(person=person, time_zone=form.cleaned_data["time_zone"], actor=request.user)
        return redirect("meetings")


# --- device tokens (org admins; read-only admins look but cannot change) -------------------------------------
class DeviceTokensView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/device_tokens.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["tokens"] = self.org_queryset(DeviceToken).select_related("source", "created_by").order_by(
            "revoked_at", "-created_at"
        )
        ctx.setdefault("form", DeviceTokenForm(organization=self.organization))
        ctx["new_token"] = self.request.session.pop("device_token_once", None)
        return ctx

    def post(self, request):
        form = DeviceTokenForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        source = person_calendar_source(person=form.cleaned_data["person"], active=False)
        token, raw = device_token_create(
            organization=self.organization, source=source, name=form.cleaned_data["name"], actor=request.user,
        )
        request.session["device_token_once"] = {"id": token.pk, "raw": raw, "name": token.name}
        return redirect("device_tokens")


class DeviceTokenRevokeView(OrgAdminRequiredMixin, View):
    def post(self, request, pk):
        token = get_object_or_404(self.org_queryset(DeviceToken), pk=pk)
        device_token_revoke(token=token, actor=request.user)
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("device_tokens")
