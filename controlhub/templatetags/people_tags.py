"""Display helpers for people pages.

History entries are stored in one language-neutral form (English text plus a machine code) so the audit trail
never changes with the viewer; they are translated here, at display time, into the viewer's language.
"""

import re
from datetime import UTC, datetime

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from controlhub.tenancy.errors import error_info

register = template.Library()

# The fixed messages services write (kept in sync with controlhub.people.activation / invitations).
FIXED = {
    gettext_noop("Service enabled"),
    gettext_noop("Validation started"),
    gettext_noop("Activated"),
    gettext_noop("Reactivation requested"),
    gettext_noop("Service disabled"),
    gettext_noop("Invitation sent"),
    gettext_noop("Email verified by sign-in"),
    gettext_noop("Calendar sync recovered"),
}
SYNC_FAILING = "Calendar sync failing: "  # controlhub.people.calendar_health, followed by the error code
_RETRY = re.compile(r"^Activation will be retried at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC$")


@register.filter
def history_text(entry):
    message = entry.message or ""
    if message in FIXED:
        return _(message)
    if message.startswith("Error: "):
        code = entry.code or message.removeprefix("Error: ")
        return _("Error: %(title)s (%(code)s)") % {"title": error_info(code).title, "code": code}
    if message.startswith(SYNC_FAILING):
        code = message.removeprefix(SYNC_FAILING)
        return _("Calendar sync failing: %(title)s (%(code)s)") % {"title": error_info(code).title, "code": code}
    match = _RETRY.match(message)
    if match:
        when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        local = formats.date_format(timezone.localtime(when), "DATETIME_FORMAT")
        return _("Activation will be retried at %(time)s") % {"time": local}
    return message
