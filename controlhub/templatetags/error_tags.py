"""A stored error detail in the viewer's language: our own sentences translated, Google's words labelled as such."""

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from controlhub.tenancy.errors import detail_for_display

register = template.Library()


@register.simple_tag
def error_detail(detail, label=True):
    """``detail`` (a person's or room's ``error_detail``, a calendar's ``last_error``) as HTML: one of our forms
    translated; anything else as Google's words (in monospace, after "Google said:" unless ``label`` is false)."""
    if not detail:
        return ""
    shown = detail_for_display(detail)
    if shown.ours:
        return format_html('<span class="error-detail">{}</span>', shown.text)
    if not label:
        return format_html('<span class="error-detail mono">{}</span>', shown.text)
    return format_html('<span class="error-detail">{} <span class="mono">{}</span></span>', _("Google said:"),
                       shown.text)
