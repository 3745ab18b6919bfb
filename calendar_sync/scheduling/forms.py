"""Forms of the Meeting service page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from calendar_sync.scheduling.meeting_services.bigbluebutton import ALGORITHMS, api_base
from calendar_sync.scheduling.meeting_services.errors import NotConfigured
from calendar_sync.scheduling.meeting_services.jitsi import jitsi_base
from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import secret_of, site_field_parts, site_url_normalize

_KEEP = _("Stored. Leave empty to keep it.")


def _secret(label, help_text):
    return forms.CharField(label=label, required=False, max_length=4000, strip=True, help_text=help_text,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))


class MeetingServiceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Meeting service"), choices=MeetingService.Kind.choices,
                             widget=forms.RadioSelect)
    webex_site_url = forms.CharField(label=_("Webex site"), max_length=255, required=False,
                                     help_text=_("For example acme.webex.com: where meetings are made unless a "
                                                 "person's directory record names another site."))
    webex_client_id = forms.CharField(label=_("Service app client ID"), max_length=255, required=False)
    webex_client_secret = _secret(_("Service app client secret"), "")
    webex_refresh_token = _secret(_("Service app refresh token"),
                                  _("From the service app's authorization in the Webex Developer Portal."))
    webex_site_field = forms.CharField(
        label=_("Directory field with a person's Webex site"), max_length=130, required=False,
        help_text=_("Optional: SchemaName.fieldName of a custom schema of Google user records, for example "
                    "Webex.SiteUrl. A site found there overrides the default site for that person."))
    directory_admin_email = forms.EmailField(label=_("Directory admin account"), max_length=320, required=False,
                                             help_text=_("A Workspace admin the directory is read as."))
    jitsi_host = forms.CharField(label=_("Jitsi host"), max_length=255, required=False,
                                 help_text=_("For example meet.example.org or meet.jit.si."))
    jitsi_app_id = forms.CharField(label=_("Jitsi app ID"), max_length=255, required=False,
                                   help_text=_("Optional, with the secret: tokens for invited people."))
    jitsi_secret = _secret(_("Jitsi app secret"), "")
    bbb_api_url = forms.CharField(label=_("BigBlueButton API URL"), max_length=500, required=False,
                                  help_text=_("For example https://bbb.example.org/bigbluebutton/api/"))
    bbb_secret = _secret(_("BigBlueButton shared secret"), _("What `bbb-conf --secret` shows on the server."))
    bbb_algorithm = forms.ChoiceField(label=_("Checksum algorithm"), choices=[(a, a) for a in ALGORITHMS],
                                      initial="sha256", required=False)

    def __init__(self, *args, service=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.service = service
        for name in ("webex_client_secret", "webex_refresh_token", "jitsi_secret", "bbb_secret"):
            if service is not None and service.pk and secret_of(service, name):
                self.fields[name].help_text = _KEEP
                self.fields[name].stored = True

    def _stored(self, name):
        return bool(getattr(self.fields[name], "stored", False))

    def clean_webex_site_url(self):
        try:
            return site_url_normalize(self.cleaned_data["webex_site_url"])
        except ValueError as exc:
            raise forms.ValidationError(_("Enter a site address such as acme.webex.com.")) from exc

    def clean_webex_site_field(self):
        value = self.cleaned_data["webex_site_field"].strip()
        if value:
            try:
                site_field_parts(value)
            except ValueError as exc:
                raise forms.ValidationError(_("Enter SchemaName.fieldName, for example Webex.SiteUrl.")) from exc
        return value

    def clean_jitsi_host(self):
        value = self.cleaned_data["jitsi_host"].strip()
        if value:
            try:
                jitsi_base(value)
            except NotConfigured as exc:
                raise forms.ValidationError(_("Enter a host name such as meet.example.org.")) from exc
        return value

    def clean_bbb_api_url(self):
        value = self.cleaned_data["bbb_api_url"].strip()
        if value:
            try:
                return api_base(value)
            except NotConfigured as exc:
                raise forms.ValidationError(_("Enter the API URL, starting with https://.")) from exc
        return value

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        required = {
            MeetingService.Kind.WEBEX: ("webex_site_url", "webex_client_id", "webex_client_secret",
                                        "webex_refresh_token"),
            MeetingService.Kind.JITSI: ("jitsi_host",),
            MeetingService.Kind.BIGBLUEBUTTON: ("bbb_api_url", "bbb_secret"),
        }.get(kind, ())
        for name in required:
            if not data.get(name) and not self._stored(name) and name not in self.errors:
                self.add_error(name, _("Needed for this meeting service."))
        if kind == MeetingService.Kind.WEBEX and data.get("webex_site_field") and not data.get(
                "directory_admin_email"):
            self.add_error("directory_admin_email", _("Needed to read the directory field."))
        if kind == MeetingService.Kind.JITSI and bool(data.get("jitsi_app_id")) != bool(
                data.get("jitsi_secret") or self._stored("jitsi_secret")):
            self.add_error("jitsi_app_id", _("Give both the app ID and the secret, or neither."))
        return data


class MeetingServiceTestForm(forms.Form):
    email = forms.EmailField(label=_("Test as"), max_length=320,
                             help_text=_("A person of your organization: a meeting is made as them, then deleted."))
