"""The live-update stream of ``controlhub.tenancy.live``: ``GET /live/events?t=<token>[&t=…]`` answers
``text/event-stream`` with one ``change`` event per topic that changed.

Served by Django's ASGI handler (``controlhub/asgi.py`` routes ``/live/`` there), as a coroutine: an open page
holds no thread and, once the checks below are done, no database connection. Under a WSGI server (``runserver``,
the test suite's live server) it answers 204, which stops the browser's EventSource, and the page polls instead.

Every connect checks again what the token says: the signature, that it was made for this viewer, that the viewer
is still a member of that organization, that each object topic names an object of that organization, and that a
user who is not an admin follows only their own calendar and person.
"""

from asgiref.sync import sync_to_async
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from calendar_sync.sync.models import CalendarSource
from controlhub.onboarding.models import ConnectionTest
from controlhub.people.models import BulkJob, Person
from controlhub.tenancy import live
from controlhub.tenancy.models import Membership

_OBJECTS = {"source": CalendarSource, "person": Person, "job": BulkJob, "test": ConnectionTest}


def _text(status, message):
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def authorize(user, tokens):
    """``(topics, rendered_ms)`` the viewer may follow now. Raises ``LiveTokenInvalid`` (a bad token) or
    ``PermissionDenied`` (a topic the viewer may no longer see)."""
    payloads = [live.token_read(token, user_id=user.pk) for token in tokens]
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        raise PermissionDenied("not a member")
    topics = set()
    for payload in payloads:
        if payload["o"] != membership.organization_id:
            raise PermissionDenied("not a member of that organization")
        topics.update(payload["t"])
    org_id = membership.organization_id
    own = None
    by_kind = {}
    for topic in topics:
        named = live.topic_object(topic)
        if named is None:
            if not membership.is_admin:
                raise PermissionDenied("organization topics are for admins")
            continue
        by_kind.setdefault(named[0], set()).add(named[1])
    for kind, ids in by_kind.items():
        model = _OBJECTS[kind]
        if model.objects.filter(pk__in=ids, organization_id=org_id).count() != len(ids):
            raise PermissionDenied(f"a {kind} of another organization")
        if not membership.is_admin:
            if own is None:
                own = Person.objects.filter(user=user, organization_id=org_id).values_list("pk", "source_id").first()
            allowed = {"person": {own[0]} if own else set(), "source": {own[1]} if own and own[1] else set()}
            if not ids <= allowed.get(kind, set()):
                raise PermissionDenied("only your own calendar")
    return sorted(topics), min(payload["s"] for payload in payloads)


def _close_connection():
    connection.close()


@require_GET
async def events(request):
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)  # a WSGI server would hold a thread per page: the page polls instead
    user = await request.auser()
    if not user.is_authenticated:
        return _text(403, "Sign in first.")
    tokens = request.GET.getlist("t")
    if not tokens or len(tokens) > live.MAX_TOKENS:
        return _text(400, f"Give 1 to {live.MAX_TOKENS} live tokens (t=…).")
    try:
        topics, rendered = await sync_to_async(authorize)(user, tokens)
    except live.LiveTokenInvalid as exc:
        return _text(400, f"{exc}.")
    except PermissionDenied as exc:
        return _text(403, f"{exc}.")
    finally:
        await sync_to_async(_close_connection)()  # the stream holds no connection while it waits
    since = live.cursor_from(request.headers.get("Last-Event-ID"), fallback=rendered)
    response = StreamingHttpResponse(live.stream(topics, since), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
