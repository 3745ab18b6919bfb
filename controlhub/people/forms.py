"""Forms of the people pages: add one person, upload a CSV, import from the directory, bulk actions."""

import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from controlhub.people.csv_import import MAX_BYTES
from controlhub.people.models import BulkJob, Person
from controlhub.people.services import (
    NAME_MAX_LENGTH,
    email_is_valid,
    email_normalize,
    name_problem_message,
    name_problems,
)


class PersonAddForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=320)
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH, required=False)
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("From Google Calendar"))] + list(settings.LANGUAGES)
    )
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, required=False,
                                help_text=_("Leave empty to use the Google Calendar setting."))

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_email(self):
        email = email_normalize(self.cleaned_data["email"])
        if not email_is_valid(email):
            raise forms.ValidationError(_("Enter a valid email address."))
        if self.organization and Person.objects.filter(organization=self.organization, email=email).exists():
            raise forms.ValidationError(_("This person is already in your organization."))
        return email

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        problems = name_problems(name)  # the same checks as the CSV and directory imports
        if problems:
            raise forms.ValidationError([name_problem_message(p) for p in problems])
        return name

    def clean_time_zone(self):
        tz = self.cleaned_data["time_zone"].strip()
        if tz and tz not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone; use an IANA name like Europe/Paris."))
        return tz


class CsvUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Columns: email, name, and optionally language, "
                                                           "time_zone. UTF-8."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(mb).1f MB; the limit is %(limit)d MB. Split it into smaller files.")
                % {"mb": upload.size / 1048576, "limit": MAX_BYTES // 1048576}
            )
        return upload


class DirectoryImportForm(forms.Form):
    admin_email = forms.CharField(
        label=_("Google Workspace admin email"), max_length=320, required=False,
        help_text=_("An admin of your Workspace; by default the account of your last successful Test connection."),
    )

    def clean_admin_email(self):
        email = email_normalize(self.cleaned_data["admin_email"])
        if email and not email_is_valid(email):
            raise forms.ValidationError(_("Enter a valid email address."))
        return email


class BulkActionForm(forms.Form):
    ACTIONS = [
        (BulkJob.Kind.ACTIVATE, _("Activate")),
        (BulkJob.Kind.REACTIVATE, _("Reactivate")),
        (BulkJob.Kind.DEACTIVATE, _("Deactivate")),
    ]
    SELECTIONS = [("ids", _("Selected")), ("error", _("All in error")), ("all", _("All"))]
    action = forms.ChoiceField(choices=ACTIONS)
    selection = forms.ChoiceField(choices=SELECTIONS)
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked against the organization by the job itself; any integer is accepted here.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if data.get("selection") == "ids" and not data.get("ids"):
            raise forms.ValidationError(_("Select at least one person, or choose All / All in error."))
        return data


class SignInLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your work email"), max_length=320)
