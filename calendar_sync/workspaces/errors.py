"""The errors of a room's validation and of its display, written for the admin: code, title, explanation, fix.

Codes that mean the same for a room as for a person (scope missing, API disabled, client not authorized,
Google unreachable...) come from the one catalogue, ``controlhub.tenancy.errors``; the ones only a room can
have are here, in the same shape, and ``room_error_info`` reads both.
"""

from django.utils.translation import gettext_lazy as _

from controlhub.tenancy.errors import CATALOGUE, ErrorInfo

_ENTRIES = [
    ErrorInfo(
        "workspaces_off",
        _("Workspaces are turned off"),
        _("Rooms are validated and synced only while workspaces are on for your organization."),
        _("Turn workspaces on at the top of the Workspaces page, then reactivate the room."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "scheduling_account_unset",
        _("No scheduling account"),
        _("A room is not a user: Calendar Hub reads and writes its calendar as your organization's scheduling "
          "account, and none is set."),
        _("Name a user of your Google Workspace as the scheduling account on the Workspaces page, then "
          "reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "room_not_found",
        _("Room unknown to Google"),
        _("Google's directory has no room or resource calendar with this address (it may be misspelled, or the "
          "room was deleted in Google Admin)."),
        _("Check the address in Google Admin → Directory → Buildings and resources, then reactivate, or remove "
          "the room."),
    ),
    ErrorInfo(
        "scheduling_account_missing",
        _("Scheduling account unknown to Google"),
        _("Google does not know the scheduling account (\"Invalid email or User ID\"), or it was deleted."),
        _("Use the primary address of an existing user of your Google Workspace as the scheduling account, "
          "then reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "scheduling_account_suspended",
        _("Scheduling account suspended"),
        _("Google says the scheduling account cannot use Calendar: it is suspended, or Calendar is off for its "
          "organizational unit."),
        _("Unsuspend the account (or turn Calendar on for it) in Google Admin, or choose another scheduling "
          "account, then reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "admin_account_missing",
        _("Admin account unknown to Google"),
        _("Google does not know the account used to read the room directory and share room calendars."),
        _("Set the admin account on the Workspaces page to an existing Workspace admin, then reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "admin_account_not_admin",
        _("Admin account is not a Workspace admin"),
        _("Reading the room directory and sharing room calendars needs a Google Workspace admin, and Google "
          "refused the account (\"Not Authorized to access this resource/api\")."),
        _("Set the admin account on the Workspaces page to a Workspace admin (or make the scheduling account one), "
          "then reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "acl_refused",
        _("Sharing the room calendar was refused"),
        _("The scheduling account cannot write the room's calendar, and Google refused to share it with the "
          "account as writer (acl.insert)."),
        _("In Google Calendar, share the room's calendar with the scheduling account (\"Make changes to "
          "events\"), or set a Workspace admin as the admin account on the Workspaces page; then reactivate."),
        fix_url_name="workspaces",
    ),
    ErrorInfo(
        "room_calendar_unreachable",
        _("Room calendar not readable"),
        _("The room is in the directory and shared with the scheduling account, yet Google does not let the "
          "account read its calendar."),
        _("Check the room calendar's sharing in Google Calendar, wait a few minutes, then reactivate."),
    ),
    ErrorInfo(
        "freebusy_unavailable",
        _("Free/busy unavailable"),
        _("Google did not give the room's free/busy, so the display cannot say whether the room is free."),
        _("Nothing to do if it passes; otherwise reactivate the room to check its access."),
        transient=True,
    ),
]

ROOM_CATALOGUE = {entry.code: entry for entry in _ENTRIES}


def room_error_info(code):
    """The entry for ``code`` from the rooms' errors or the one catalogue (the generic entry if unknown)."""
    return ROOM_CATALOGUE.get(code) or CATALOGUE.get(code) or CATALOGUE["google_error"]
