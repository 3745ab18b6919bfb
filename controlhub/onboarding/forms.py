"""Forms of the Connect Google page."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from calendar_sync.google.errors import InvalidKeyFile
from calendar_sync.google.keys import parse_service_account_key
from controlhub.onboarding.services import key_defect_message
from controlhub.tenancy.google_connection import other_universes_allowed

MAX_KEY_BYTES = 64 * 1024
GOOGLE_TOKEN_URIS = ("https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token")


class OnboardingSettingsForm(forms.Form):
    directory_import_enabled = forms.BooleanField(
        label=_("Import users from the Google directory"), required=False,
        help_text=_("Adds the read-only Directory scope to the scopes line."),
    )
    delegation_changed_at = forms.DateTimeField(
        label=_("Delegation last changed in Google Admin"), required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Optional. Google can take up to 24 hours to apply a change; we remind you of it."),
    )


class OwnKeyUploadForm(forms.Form):
    key_file = forms.FileField(
        label=_("Service-account key (JSON)"),
        help_text=_("Google Cloud console → IAM & Admin → Service accounts → Keys → Add key → JSON."),
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean_key_file(self):
        upload = self.cleaned_data["key_file"]
        if upload.size > MAX_KEY_BYTES:
            raise forms.ValidationError(_("The file is too large for a service-account key (at most 64 KB)."))
        raw = upload.read()
        try:
            self.cleaned_data["key"] = parse_service_account_key(raw, allow_other_universe=other_universes_allowed())
        except InvalidKeyFile as exc:
            # The parser's messages name the defect and never include the private key.
            raise forms.ValidationError(key_defect_message(exc)) from None
        # We POST signed assertions to token_uri: an uploaded key must not point us at an arbitrary server.
        token_uri = str(self.cleaned_data["key"].info.get("token_uri", ""))
        allowed = GOOGLE_TOKEN_URIS
        if settings.GOOGLE_API_ENDPOINT:  # the emulator, in tests and the demo
            allowed += (settings.GOOGLE_API_ENDPOINT + "/",)
        if not token_uri.startswith(allowed):
            raise forms.ValidationError(
                _("\"token_uri\" must be Google's token endpoint (%(expected)s), not %(found)s."),
                params={"expected": GOOGLE_TOKEN_URIS[0], "found": token_uri},
            )
        return upload


class ConnectionTestForm(forms.Form):
    test_email = forms.EmailField(
        label=_("Test account"),
        help_text=_("A user of your Google Workspace (an admin if directory import is on)."),
        widget=forms.EmailInput(attrs={"placeholder": "someone@example.com", "autocomplete": "off"}),
    )
