"""Forms of the Workspaces admin pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from calendar_sync.workspaces.services import ALLOWED_LENGTHS, MAX_RELEASE_MINUTES


class WorkspaceSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=_("Workspaces on"), required=False)
    scheduling_account = forms.EmailField(
        label=_("Scheduling account"), max_length=320, required=False,
        help_text=_("A user of your Google Workspace: room calendars are read and written as this account."))
    admin_account = forms.EmailField(
        label=_("Admin account"), max_length=320, required=False,
        help_text=_("A Workspace admin that reads the room directory and shares room calendars with the "
                    "scheduling account. Leave empty if the scheduling account is an admin."))


class RoomAddForm(forms.Form):
    email = forms.EmailField(label=_("Room calendar address"), max_length=320,
                             help_text=_("Its resource email, ending in @resource.calendar.google.com."))
    name = forms.CharField(label=_("Name"), max_length=200, required=False)


class RoomPolicyForm(forms.Form):
    show_titles = forms.BooleanField(label=_("Show meeting titles on the display"), required=False,
                                     help_text=_("Private events always show as “Private”."))
    booking_lengths = forms.TypedMultipleChoiceField(
        label=_("Book now lengths (minutes)"), coerce=int, widget=forms.CheckboxSelectMultiple,
        choices=[(n, str(n)) for n in ALLOWED_LENGTHS])
    checkin_required = forms.BooleanField(label=_("Check-in required"), required=False,
                                          help_text=_("Meetings nobody checks in to are released."))
    release_minutes = forms.IntegerField(label=_("Release after (minutes)"), min_value=1,
                                         max_value=MAX_RELEASE_MINUTES)
    honour_acceptance = forms.BooleanField(
        label=_("Honour Google's acceptance"), required=False,
        help_text=_("A meeting the room declined in Google does not book the room."))


class DisplayForm(forms.Form):
    name = forms.CharField(label=_("Display name"), max_length=100, required=False,
                           help_text=_("For example “Tablet at the door”."))
