"""Workspaces pages: the admin's list, import, room page (policy, displays, validation), and the room display.

Thin: reads in ``selectors``, writes in ``services``, ``booking`` and ``displays``. The display authenticates by
the token in its URL (no sign-in, no session): its POSTs are exempt from CSRF because the unguessable token in
the path is the credential, which a cross-site page cannot know.
"""

import json

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from calendar_sync.google import errors as google_errors
from calendar_sync.workspaces import booking, displays, health, services
from calendar_sync.workspaces import selectors as sel
from calendar_sync.workspaces.errors import room_error_info
from calendar_sync.workspaces.forms import DisplayForm, RoomAddForm, RoomPolicyForm, WorkspaceSettingsForm
from calendar_sync.workspaces.models import Room, RoomDisplay
from controlhub.tenancy.views import OrgAdminRequiredMixin

POLL_SECONDS = 5

# History entries are stored as written (the code column carries the machine-readable part); shown translated.
HISTORY_TEXT = {
    services.MSG_ADDED: gettext_lazy("Room added"),
    services.MSG_IMPORTED: gettext_lazy("Imported from the Google directory"),
    services.MSG_VALIDATION: gettext_lazy("Validation started"),
    services.MSG_ACTIVE: gettext_lazy("Validated: the room syncs"),
    services.MSG_REACTIVATE: gettext_lazy("Reactivation requested"),
    services.MSG_ACL_GRANTED: gettext_lazy("Room calendar shared with the scheduling account (writer)"),
    services.MSG_DELETED_IN_GOOGLE: gettext_lazy("No longer in the Google directory"),
    services.MSG_BACK_IN_GOOGLE: gettext_lazy("Back in the Google directory"),
    services.MSG_POLICY: gettext_lazy("Display policy changed"),
    services.MSG_REMOVING: gettext_lazy("Removal requested"),
    health.MSG_SYNC_RECOVERED: gettext_lazy("Room calendar sync recovered"),
}


def history_rows(room):
    rows = []
    for entry in room.history.select_related("actor")[:50]:
        if entry.message.startswith("Error: ") and entry.code:
            text = _("Error: %(title)s") % {"title": room_error_info(entry.code).title}
        elif entry.message.startswith(health.MSG_SYNC_FAILING) and entry.code:
            text = _("Room calendar sync failing: %(title)s") % {"title": room_error_info(entry.code).title}
        elif entry.message.startswith("Validation will be retried at "):
            text = _("Validation will be retried at %(when)s") % {
                "when": entry.message.removeprefix("Validation will be retried at ")}
        else:
            text = HISTORY_TEXT.get(entry.message, entry.message)
        rows.append((entry, text))
    return rows


# --- admin ---------------------------------------------------------------------------------------------------
class WorkspacesView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/workspaces/list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        config = services.workspace_settings(self.organization)
        rooms = list(sel.rooms_of(self.organization))
        ctx.update({
            "config": config,
            "can_change": self.membership.can_change,
            "rooms": [(room, room_error_info(room.error_code) if room.error_code else None) for room in rooms],
            "error_count": sum(1 for room in rooms if room.state == Room.State.ERROR),
        })
        ctx.setdefault("settings_form", WorkspaceSettingsForm(initial={
            "enabled": config.enabled, "scheduling_account": config.scheduling_account,
            "admin_account": config.admin_account}))
        ctx.setdefault("add_form", RoomAddForm())
        return ctx


class WorkspacesSettingsView(WorkspacesView):
    def post(self, request):
        form = WorkspaceSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.workspaces_configure(organization=self.organization, actor=request.user, **form.cleaned_data)
            except services.RoomInputError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Workspace settings saved."))
                return redirect("workspaces")
        return self.render_to_response(self.get_context_data(settings_form=form), status=400)


class RoomAddView(WorkspacesView):
    def post(self, request):
        form = RoomAddForm(request.POST)
        if form.is_valid():
            try:
                room = services.room_add(organization=self.organization, actor=request.user, **form.cleaned_data)
            except services.RoomInputError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(request, _("Room added; its validation has started."))
                return redirect("workspace_room", room.pk)
        return self.render_to_response(self.get_context_data(add_form=form), status=400)


class RoomImportView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/workspaces/import.html"

    def _listing(self):
        try:
            return services.directory_rooms_list(organization=self.organization), None
        except services.RoomInputError as exc:
            return [], {"title": str(exc), "explanation": "", "fix": ""}
        except google_errors.GoogleError as exc:
            return [], room_error_info(exc.error_code)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        listing, error = self._listing()
        known = dict(Room.objects.filter(organization=self.organization).values_list("email", "state"))
        ctx.update({"listing": [(r, known.get(r.email)) for r in listing], "error": error,
                    "can_change": self.membership.can_change})
        return ctx

    def post(self, request):
        listing, error = self._listing()
        if error is not None:
            return self.render_to_response(self.get_context_data(), status=502)
        selected = None if request.POST.get("all") else request.POST.getlist("rooms")
        outcome = services.rooms_import(organization=self.organization, directory=listing, selected=selected,
                                        actor=request.user)
        # Each count beside its label, so no count needs a plural form.
        messages.success(request, _("Rooms added: %(added)d · updated: %(updated)d · no longer in Google: "
                                    "%(flagged)d.") % {"added": len(outcome.added), "updated": len(outcome.updated),
                                                       "flagged": len(outcome.flagged)})
        return redirect("workspaces")


class RoomDetailView(OrgAdminRequiredMixin, TemplateView):
    template_name = "calendar_sync/workspaces/room.html"

    def dispatch(self, request, *args, **kwargs):
        self.pk = kwargs["pk"]
        return super().dispatch(request, *args, **kwargs)

    def room(self):
        return get_object_or_404(self.org_queryset(Room).select_related("source"), pk=self.pk)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        room = kwargs.get("room") or self.room()
        new_display = self.request.session.pop("room_display_once", None)
        if new_display and new_display.get("room") == room.pk:
            url = displays.display_url(new_display["raw"])
            new_display = {**new_display, "url": url, "qr": displays.qr_svg(url)}
        else:
            new_display = None
        ctx.update({
            "room": room, "error": room_error_info(room.error_code) if room.error_code else None,
            "history": history_rows(room), "can_change": self.membership.can_change,
            "displays": room.displays.order_by("revoked_at", "-created_at"), "new_display": new_display,
            "source": room.source,
        })
        ctx.setdefault("policy_form", RoomPolicyForm(initial={
            "show_titles": room.show_titles, "booking_lengths": room.booking_lengths,
            "checkin_required": room.checkin_required, "release_minutes": room.release_minutes,
            "honour_acceptance": room.honour_acceptance}))
        ctx.setdefault("display_form", DisplayForm())
        return ctx


class RoomPolicyView(RoomDetailView):
    def post(self, request, pk):
        room = self.room()
        form = RoomPolicyForm(request.POST)
        if form.is_valid():
            try:
                services.room_policy_update(room=room, actor=request.user, **form.cleaned_data)
            except services.RoomInputError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Display policy saved."))
                return redirect("workspace_room", room.pk)
        return self.render_to_response(self.get_context_data(room=room, policy_form=form), status=400)


class RoomActionView(RoomDetailView):
    def post(self, request, pk, action):
        room = self.room()
        if action == "reactivate":
            services.room_reactivate(room=room, actor=request.user)
            messages.success(request, _("Validation started again."))
            return redirect("workspace_room", room.pk)
        if action == "remove":
            services.room_remove(room=room, actor=request.user)
            messages.success(request, _("Room “%(name)s” is being removed.") % {"name": room.name})
            return redirect("workspaces")
        raise Http404


class RoomDisplayCreateView(RoomDetailView):
    def post(self, request, pk):
        room = self.room()
        form = DisplayForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(room=room, display_form=form), status=400)
        display, raw = displays.display_create(room=room, name=form.cleaned_data["name"], actor=request.user)
        request.session["room_display_once"] = {"room": room.pk, "raw": raw, "name": display.name}
        return redirect("workspace_room", room.pk)


class RoomDisplayActionView(RoomDetailView):
    def post(self, request, pk, display_pk, action):
        room = self.room()
        display = get_object_or_404(RoomDisplay.objects.filter(room=room, revoked_at__isnull=True), pk=display_pk)
        if action == "revoke":
            displays.display_revoke(display=display, actor=request.user)
            messages.success(request, _("Display “%(name)s” unpaired.") % {"name": display.name})
        elif action == "rotate":
            new, raw = displays.display_rotate(display=display, actor=request.user)
            request.session["room_display_once"] = {"room": room.pk, "raw": raw, "name": new.name}
        else:
            raise Http404
        return redirect("workspace_room", room.pk)


# --- the room display (no sign-in: the token in the URL) -----------------------------------------------------
def _display_or_404(token):
    display = displays.display_authenticate(token)
    if display is None:
        raise Http404
    return display


def _state_response(display, request, *, status=200, error=None):
    room, now = display.room, timezone.now()
    etag = sel.display_etag(room=room, source=room.source, now=now, language=get_language())
    if error is None and request.method == "GET" and request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        payload = sel.display_payload(room=room, now=now, etag=etag)
        if error is not None:
            payload["error"] = error
        response = HttpResponse(json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                                content_type="application/json", status=status)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def room_display(request, token):
    display = displays.display_authenticate(token)
    if display is None:
        return render(request, "calendar_sync/workspaces/display_gone.html", status=404)
    room = display.room
    now = timezone.now()
    etag = sel.display_etag(room=room, source=room.source, now=now, language=get_language())
    initial = json.dumps(sel.display_payload(room=room, now=now, etag=etag), ensure_ascii=False,
                         separators=(",", ":"))
    return render(request, "calendar_sync/workspaces/display.html", {
        "room": room, "initial": initial, "poll_ms": POLL_SECONDS * 1000,
        "state_url": reverse("room_display_state", args=[token]),
        "action_url": reverse("room_display_action", args=[token, "ACTION"]),
    })


def room_display_state(request, token):
    if request.method != "GET":
        return JsonResponse({"error": {"code": "method", "message": "GET only"}}, status=405)
    return _state_response(_display_or_404(token), request)


ACTIONS = {"book", "extend", "end", "check-in"}


@method_decorator(csrf_exempt, name="dispatch")
class RoomDisplayActionApi(View):
    def post(self, request, token, action):
        if action not in ACTIONS:
            raise Http404
        display = _display_or_404(token)
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"error": {"code": "bad_request", "message": _("Bad request.")}}, status=400)
        room = display.room
        try:
            if action == "book":
                try:
                    minutes = int(body.get("minutes"))
                except (TypeError, ValueError):
                    return JsonResponse({"error": {"code": "bad_request", "message": _("Bad request.")}},
                                        status=400)
                booking.book_now(room=room, minutes=minutes)
            else:
                event_id = str(body.get("event") or "")[:1024]
                if not event_id:
                    return JsonResponse({"error": {"code": "bad_request", "message": _("Bad request.")}},
                                        status=400)
                {"extend": booking.extend, "end": booking.end_early, "check-in": booking.check_in}[action](
                    room=room, event_id=event_id)
        except booking.RoomActionRefused as refused:
            display.room.refresh_from_db()
            return _state_response(display, request, status=refused.status,
                                   error={"code": refused.code, "message": refused.message})
        display.room.refresh_from_db()
        return _state_response(display, request)
