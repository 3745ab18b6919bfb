"""``{% live_follow … %}``: makes the element it sits in a live region (``static/js/live.js``).

    {% load live_tags %}
    <div id="person-live"{% live_follow person=person.pk %}>…</div>
    <span id="setup-state"{% live_follow setup=True %}>…</span>

renders ``data-live-topics`` (the topics, for the page's script to route events), ``data-live-token`` (the same
topics signed for this viewer and organization; the stream accepts nothing else) and ``data-live-src``. When a
topic changes, the page fetches itself again and swaps the element with the one of the same id, unless a script
of the page handles the ``live:change`` event itself (the meetings list fetches its partial with its ETag).

Keywords: ``source``, ``person``, ``job``, ``test`` (an object's id; ``None`` is left out), ``people`` and
``setup`` (the viewer's organization, when true). Renders nothing for a signed-out viewer or a page with no topic.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from controlhub.tenancy import live

register = template.Library()

_OBJECT_TOPICS = {"source": "source:{}", "person": "person:{}", "job": "job:{}", "test": "test:{}"}
_ORG_TOPICS = {"people": "org:{}:people", "setup": "org:{}:setup"}


@register.simple_tag(takes_context=True)
def live_follow(context, **kinds):
    request = context.get("request")
    user = getattr(request, "user", None)
    organization = context.get("organization") or getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return ""
    topics = []
    for kind, value in kinds.items():
        if kind in _OBJECT_TOPICS:
            if value not in (None, ""):
                topics.append(_OBJECT_TOPICS[kind].format(int(value)))
        elif kind in _ORG_TOPICS:
            if value:
                topics.append(_ORG_TOPICS[kind].format(organization.pk))
        else:
            raise template.TemplateSyntaxError(f"live_follow: unknown topic kind {kind!r}")
    if not topics:
        return ""
    token = live.token_make(user_id=user.pk, organization_id=organization.pk, topics=topics)
    return format_html(' data-live-topics="{}" data-live-token="{}" data-live-src="{}"',
                       " ".join(sorted(set(topics))), token, reverse("live_events"))
