"""Forms of the meetings page and the device-token admin page."""

from functools import lru_cache
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from controlhub.people.models import Person


@lru_cache(maxsize=1)
def time_zone_names():
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))
                 ) + ("UTC",)


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(label=_("Time zone"), max_length=64, required=False,
                                help_text=_("Leave empty to use your Google Calendar setting."))

    def clean_time_zone(self):
        value = (self.cleaned_data.get("time_zone") or "").strip()
        if value and value not in time_zone_names():
            raise forms.ValidationError(_("Unknown time zone."))
        return value


class DeviceTokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Where the token is used, e.g. \"Room 4 display\"."))
    person = forms.ModelChoiceField(label=_("Calendar of"), queryset=Person.objects.none())

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = Person.objects.filter(organization=organization).order_by("email")
        self.fields["person"].label_from_instance = lambda p: f"{p.name} <{p.email}>" if p.name else p.email
