"""The signed-in user's meetings list (One Button to Push) and the admin page for device tokens.

Thin: selectors in ``calendar_sync.meetings.selectors``, writes in services. The page polls the list partial
every ~10 s with ``If-None-Match``; unchanged → 304 without decrypting anything or reading a meeting.
"""

from functools import lru_cache

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import device_token_create, device_token_revoke
from calendar_sync.meetings.forms import DeviceTokenForm, TimeZoneForm, time_zone_names
from calendar_sync.meetings.models import DeviceToken
from calendar_sync.presence.services import presence_refresh_if_stale
from controlhub.people.calendar import person_calendar_source
from controlhub.people.models import Person
from controlhub.tenancy.errors import error_info
from controlhub.tenancy.views import OrgAdminRequiredMixin, OrgMemberRequiredMixin


@lru_cache(maxsize=64)
def _time_zone_options(selected):
    """The ~430 <option>s of the time-zone selector, built once per selected value (template loops are slow)."""
    parts = []
    for name in time_zone_names():
        sel_attr = " selected" if name == selected else ""
        parts.append(f'<option value="{escape(name)}"{sel_attr}>{escape(name.replace("_", " "))}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped above


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
        loaded, before the rows are read (``meetings_list.meetings_etag``)."""
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
        self.read = read = sel.meetings_read(person=person, source=source, window=window,
                                             limit=self.limit)
        presence = sel.presence_for(person, read, now)
        stale = sel.source_is_stale(source, now=now) if source else False
        ctx.update(
            days_html=rows_html(sel.group_by_day(read.entries, window), window.zone),
            more_url=_more_url(self.show_past, self.limit) if read.truncated else "",
            meeting_count=len(read.entries),
            presence=presence,
            presence_until=_local(presence.end, window.zone) if presence.out_of_office and presence.end else "",
            stale=stale,
            stale_since=_local(source.last_synced_at, window.zone) if stale and source.last_synced_at
            else "",
            subscription_failing=bool(source and source.state == source.State.FAILING),
        )
        if person.calendar_state != Person.CalendarState.ACTIVATED:
            ctx["empty_reason"] = "not_activated"
            ctx["error"] = error_info(person.error_code) if person.error_code else None
        elif not read.entries:
            ctx["empty_reason"] = "no_subscription" if source is None else "no_meetings"
        return ctx


def _more_url(show_past, limit):
    query = f"limit={min(limit * 2, sel.MAX_ROWS)}" + ("&past=1" if show_past else "")
    return reverse("meetings") + "?" + query


def _esc(text):
    """Escape for HTML text and double-quoted attribute values: the same five characters as Django's ``escape``,
    without its lazy-string and SafeString wrapping (several times faster on a 300-row page)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#x27;"))


SEP = '<span class="sep">·</span>'


def rows_html(days, zone):
    """The day sections, written in Python: a template loop over 300 rows costs tens of milliseconds.

    Every value from the calendar goes through ``_esc``; labels are translated once per call."""
    join_label, ooo_label, me_label = _esc(_("Join")), _esc(_("Out of office")), _esc(_("You organize"))
    all_day_label = _esc(_("All day"))
    ooo_chip = f'<span class="chip ooo">{ooo_label}</span> '
    me_meta = f'<span class="organizer">{me_label}</span>'
    providers = {}
    participants = {}
    out = []
    add = out.append
    for day in days:
        today = " today" if day.is_today else ""
        day_id = ' id="today"' if day.is_today else ""
        add(f'<section class="day{today}" data-day="{day.day.isoformat()}"{day_id}>'
            f'<div class="day-head"><h2>{_esc(day.weekday)}</h2><span class="date">{_esc(day.label)}</span></div>'
            '<ul class="mtgs">')
        for (mid, title, start, end, all_day, start_date, _end_date, _last_day, _org_email, org_name, count, names,
             provider, join_url, ooo, mine) in day.rows:
            title = _esc(title)
            start_ms = int(start.timestamp() * 1000)
            if start_date is not None:
                time_label = all_day_label
            else:
                s, e = start.astimezone(zone), end.astimezone(zone)
                time_label = f"{s.hour:02d}:{s.minute:02d} – {e.hour:02d}:{e.minute:02d}"
            meta = []
            if ooo:
                pass
            elif mine:
                meta.append(me_meta)
            elif org_name:
                meta.append(f'<span class="organizer">{_esc(org_name)}</span>')
            if count:
                label = participants.get(count)
                if label is None:
                    label = participants[count] = _esc(
                        ngettext("%(n)s participant", "%(n)s participants", count) % {"n": count})
                more = f" +{len(names) - sel.NAMES_SHOWN}" if len(names) > sel.NAMES_SHOWN else ""
                meta.append(f'<span class="people" title="{_esc(", ".join(names))}">{label}: '
                            f'{_esc(", ".join(names[:sel.NAMES_SHOWN]))}{more}</span>')
            provider_html = ""
            if provider:
                provider_html = providers.get(provider)
                if provider_html is None:
                    provider_html = providers[provider] = (
                        f'<img src="{_esc(static(f"img/provider-{provider}.svg"))}" alt="" width="20" height="20">'
                        f'<span>{_esc(str(sel.PROVIDER_LABELS.get(provider, "")))}</span>')
            join = ""
            if join_url:
                join = (f'<button type="button" class="btn join" data-join-url="{_esc(join_url)}" '
                        f'data-join-from="{start_ms - sel.JOIN_EARLY_MS}" disabled>{join_label}</button>')
            add(f'<li class="mtg{" allday" if all_day else ""}{" ooo" if ooo else ""}" data-id="{mid}" '
                f'data-start="{start_ms}" data-end="{int(end.timestamp() * 1000)}" data-title="{title}">'
                f'<div class="mtg-time"><span class="range">{time_label}</span><span class="state"></span></div>'
                f'<div class="mtg-main"><div class="mtg-title" title="{title}">{ooo_chip if ooo else ""}{title}</div>'
                f'<div class="mtg-meta">{SEP.join(meta)}</div></div><div class="mtg-provider">{provider_html}</div>'
                f'<div class="mtg-action">{join}</div></li>')
        add("</ul></section>")
    return mark_safe("".join(out))  # noqa: S308 - built from escaped values only


def _local(value, zone):
    local = value.astimezone(zone)
    today = timezone.now().astimezone(zone).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")


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
        ctx["time_zone_options"] = _time_zone_options(zone_pref)
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
        sel.person_time_zone_set(person=person, time_zone=form.cleaned_data["time_zone"], actor=request.user)
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
