"""Admin pages for people: list with filters and counts, person page, add, CSV and directory import, bulk
actions with progress, and the streaming CSV status report. Thin: the rules live in the people services (``controlhub.people``)."""

import csv
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from controlhub.people import activation, csv_import, directory_import, invitations, jobs
from controlhub.people import services as people
from controlhub.people.forms import BulkActionForm, CsvUploadForm, DirectoryImportForm, PersonAddForm
from controlhub.people.models import BulkJob, Person
from controlhub.tenancy.errors import CATALOGUE, error_info
from controlhub.tenancy.views import OrgAdminRequiredMixin

PAGE_SIZE = 50


def _filters(request):
    state = request.GET.get("state", "")
    state = state if state in Person.CalendarState.values else ""
    code = request.GET.get("error_code", "")
    code = code if code in CATALOGUE else ""
    return {"state": state, "error_code": code, "q": request.GET.get("q", "").strip()[:200]}


class PeopleListView(OrgAdminRequiredMixin, TemplateView):
    template_name = "controlhub/people.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        filters = _filters(self.request)
        qs = people.people_filter(self.org_queryset(Person), **filters).order_by("email")
        page = Paginator(qs.only("id", "email", "name", "calendar_state", "error_code", "state_changed_at",
                                 "email_verified_at", "next_retry_at"), PAGE_SIZE).get_page(
            self.request.GET.get("page"))
        counts = people.people_state_counts(self.organization)
        error_codes = (
            self.org_queryset(Person).filter(calendar_state=Person.CalendarState.ERROR).exclude(error_code="")
            .values_list("error_code", flat=True).distinct().order_by("error_code")
        )
        query = self.request.GET.copy()
        query.pop("page", None)
        ctx.update(
            filters=filters,
            page_obj=page,
            people=[(p, error_info(p.error_code) if p.error_code else None) for p in page.object_list],
            counts=[(value, label, counts[value]) for value, label in Person.CalendarState.choices],
            total=sum(counts.values()),
            error_count=counts[Person.CalendarState.ERROR],
            error_codes=[(c, error_info(c).title) for c in error_codes],
            querystring=query.urlencode(),
            add_form=kwargs.get("add_form") or PersonAddForm(organization=self.organization),
            csv_form=kwargs.get("csv_form") or CsvUploadForm(),
            directory_form=DirectoryImportForm(),
            directory_default=directory_import.directory_admin_subject(self.organization),
            jobs=self.org_queryset(BulkJob).order_by("-created_at")[:5],
            states=Person.CalendarState,
            bulk_confirm=_bulk_confirm(counts),
        )
        return ctx


def _deactivate_question(n):
    return ngettext("Deactivate %(n)s person? Their meetings stop syncing.",
                    "Deactivate %(n)s people? Their meetings stop syncing.", n) % {"n": n}


def _bulk_confirm(counts):
    """The questions (JSON, for ``data-confirm-questions``) static/js/app.js asks before a bulk Deactivate, with how many it changes: per selection, and
    for "Selected people" per number of ticked boxes (at most a page), so each language gets its plural."""
    off = counts[Person.CalendarState.OFF]
    return json.dumps({"deactivate": {
        "error": _deactivate_question(counts[Person.CalendarState.ERROR]),
        "all": _deactivate_question(sum(counts.values()) - off),
        "ids": {str(n): _deactivate_question(n) for n in range(1, PAGE_SIZE + 1)},
    }}, ensure_ascii=False)


class PersonAddView(OrgAdminRequiredMixin, View):
    def post(self, request):
        form = PersonAddForm(request.POST, organization=self.organization)
        if not form.is_valid():
            view = PeopleListView()
            view.setup(request)
            view.membership, view.organization = self.membership, self.organization
            return view.render_to_response(view.get_context_data(add_form=form))
        try:
            person = people.person_create(organization=self.organization, actor=request.user, **form.cleaned_data)
        except people.PersonExists:
            messages.error(request, _("This person is already in your organization."))
            return redirect("people")
        if request.POST.get("invite"):
            invitations.invitation_send(person_id=person.pk, actor=request.user,
                                        base_url=request.build_absolute_uri("/"))
        messages.success(request, _("%(email)s added.") % {"email": person.email})
        return redirect("person", pk=person.pk)


class PersonDetailView(OrgAdminRequiredMixin, TemplateView):
    template_name = "controlhub/person.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        person = get_object_or_404(self.org_queryset(Person), pk=kwargs["pk"])
        ctx.update(
            person=person,
            error=error_info(person.error_code) if person.error_code else None,
            blocker=activation.activation_blocker(person) if person.calendar_state == Person.CalendarState.OFF
            else "",
            history=person.history.select_related("actor")[:100],
            states=Person.CalendarState,
        )
        if ctx["blocker"]:
            ctx["blocker_info"] = error_info(ctx["blocker"])
        return ctx


class PersonActionView(OrgAdminRequiredMixin, View):
    ACTIONS = {
        "activate": activation.person_activate,
        "reactivate": activation.person_reactivate,
        "deactivate": activation.person_deactivate,
    }

    def post(self, request, pk, action):
        person = get_object_or_404(self.org_queryset(Person), pk=pk)
        if action == "invite":
            invitations.invitation_send(person_id=person.pk, actor=request.user,
                                        base_url=request.build_absolute_uri("/"))
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": person.email})
        elif action in self.ACTIONS:
            self.ACTIONS[action](person=person, actor=request.user)
        else:
            raise Http404
        return redirect("person", pk=person.pk)


class PeopleBulkView(OrgAdminRequiredMixin, View):
    def post(self, request):
        form = BulkActionForm(request.POST)
        if not form.is_valid():
            for error in form.non_field_errors() or [_("Choose an action and who it applies to.")]:
                messages.error(request, error)
            return redirect(request.POST.get("next") or "people")
        job = activation.bulk_job_start(
            organization=self.organization, kind=form.cleaned_data["action"],
            selection=form.cleaned_data["selection"], ids=form.cleaned_data["ids"], actor=request.user,
        )
        return redirect("people_job", pk=job.pk)


class CsvUploadView(OrgAdminRequiredMixin, View):
    def post(self, request):
        form = CsvUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, _("Nothing was imported. %(reason)s") % {"reason": error})
            return redirect("people")
        upload = form.cleaned_data["file"]
        try:
            job = csv_import.csv_import_prepare(
                organization=self.organization, raw=upload.read(), filename=upload.name, actor=request.user
            )
        except csv_import.CsvFileError as exc:
            messages.error(request, _("Nothing was imported. %(reason)s") % {"reason": exc})
            return redirect("people")
        return redirect("people_job", pk=job.pk)


class DirectoryImportView(OrgAdminRequiredMixin, View):
    def post(self, request):
        form = DirectoryImportForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter a valid admin email."))
            return redirect("people")
        try:
            job = directory_import.directory_import_start(
                organization=self.organization, admin_email=form.cleaned_data["admin_email"], actor=request.user
            )
        except ValueError:
            messages.error(request, _("Enter the email of a Google Workspace admin (no Test connection has "
                                      "succeeded yet to take it from)."))
            return redirect("people")
        return redirect("people_job", pk=job.pk)


class BulkJobView(OrgAdminRequiredMixin, TemplateView):
    template_name = "controlhub/people_job.html"

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["controlhub/people_job_progress.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        job = get_object_or_404(self.org_queryset(BulkJob), pk=kwargs["pk"])
        issues = job.result.get("issues", []) if job.kind == BulkJob.Kind.CSV_IMPORT else []
        shown = issues[:1000]
        for issue in shown:
            issue["level"] = csv_import.ISSUES[issue["code"]][0]
            issue["message"] = csv_import.issue_message(issue)
        ctx.update(
            job=job,
            dry_run=job.kind == BulkJob.Kind.CSV_IMPORT and not job.payload.get("confirmed"),
            counts=job.result.get("counts", {}),
            issues=shown,
            issues_total=len(issues),
            outcome=jobs.bulk_job_outcome(job=job),
            domains=directory_import.directory_import_domains(job)
            if job.kind == BulkJob.Kind.DIRECTORY_IMPORT else [],
            running=job.state in (BulkJob.State.QUEUED, BulkJob.State.RUNNING)
            and not (job.kind == BulkJob.Kind.CSV_IMPORT and not job.payload.get("confirmed")),
        )
        return ctx


class BulkJobConfirmView(OrgAdminRequiredMixin, View):
    def post(self, request, pk):
        job = get_object_or_404(self.org_queryset(BulkJob), pk=pk, kind=BulkJob.Kind.CSV_IMPORT)
        csv_import.csv_import_confirm(job=job, actor=request.user)
        return redirect("people_job", pk=job.pk)


def _safe_cell(value):
    """Spreadsheets run cells starting with = + - @ (and tab/CR) as formulas: prefix a quote (OWASP)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


class _Echo:
    def write(self, value):
        return value


class PeopleExportView(OrgAdminRequiredMixin, View):
    """The status report as CSV, streamed row by row (no 10,000-row list in memory)."""

    def get(self, request):
        qs = people.people_filter(self.org_queryset(Person), **_filters(request)).order_by("email")
        writer = csv.writer(_Echo())

        def rows():
            # Column names stay fixed (machine-readable, the import's own names), whatever the UI language.
            yield writer.writerow(["email", "name", "state", "error_code", "message", "last_change"])
            for email, name, state, code, changed in qs.values_list(
                "email", "name", "calendar_state", "error_code", "state_changed_at"
            ).iterator(chunk_size=2000):
                message = str(error_info(code).title) if code else ""
                yield writer.writerow([_safe_cell(v) for v in (
                    email, name, state, code, message,
                    timezone.localtime(changed).strftime("%Y-%m-%d %H:%M:%S %Z") if changed else "",
                )])

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="people-status-{stamp}.csv"'
        return response

