"""Template tags showing meeting service facts on pages of other packages (a person's Webex site)."""

from django import template

from calendar_sync.scheduling.models import MeetingService
from calendar_sync.scheduling.services import meeting_service_of, webex_host_site, webex_site_shown

register = template.Library()


@register.simple_tag
def webex_site_of(person):
    """(site, "directory" | "default") of the Webex site ``person``'s meetings are made on; ("", "") when the org
    does not use Webex. The directory record is read when it was not read in the last hours."""
    service = meeting_service_of(person.organization)
    if service.kind != MeetingService.Kind.WEBEX:
        return "", ""
    webex_host_site(service, person.email)
    return webex_site_shown(person.organization, person.email)
