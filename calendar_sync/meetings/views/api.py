"""``GET /api/v1/meetings``: one calendar source's meetings as JSON (a person's, or a room's), for room devices, integrations and the meetings page.

Auth: ``Authorization: Bearer <device token>`` (see ``services.device_tokens``) or the signed-in session.
Cheap polling: the ETag comes from what authentication loaded (``selectors.meetings_etag``: no query, nothing
decrypted), so a 304 costs the token query alone; otherwise one more query reads the rows.
Query: ``past=1`` adds the past 7 days; ``limit`` (default 100, max 1000) caps the meetings returned (and
decrypted); ``truncated`` says when more exist.
"""

from django.http import HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from calendar_sync.meetings import presenters
from calendar_sync.meetings import selectors as sel
from calendar_sync.meetings.device_tokens import bearer_token, device_token_authenticate


def _error(status, code, message):
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="calendar-hub"'
    return response


def _person_of(request):
    raw = bearer_token(request)
    if raw:
        token = device_token_authenticate(raw)
        return (sel.viewer_of_source(token.source) if token else None), bool(token)
    if request.user.is_authenticated:
        person = sel.person_of_user(user=request.user)  # person + membership in one query
        if person is not None:
            return person, True
        if request.membership:
            return sel.person_for_member(user=request.user, organization=request.membership.organization), True
    return None, False


@require_GET
def meetings_api(request):
    person, authenticated = _person_of(request)
    if not authenticated:
        return _error(401, "unauthorized", "A valid bearer token or a signed-in session is required.")
    if person is None:
        return _error(404, "no_person", "This account is not a user of the organization's calendar service.")
    now = timezone.now()
    try:
        limit = max(1, min(int(request.GET.get("limit", sel.PAGE_ROWS)), sel.MAX_ROWS))
    except ValueError:
        return _error(400, "bad_limit", "limit must be an integer.")
    source = sel.source_of(person)
    window = sel.window_for(time_zone=person.effective_time_zone, now=now, show_past=request.GET.get("past") == "1")
    # The same function, the same inputs, computed before the rows are read, for the 304 and for the full response.
    etag = sel.meetings_etag(person=person, source=source, window=window, variant=f"api:{limit}",
                             now=now)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        read = sel.meetings_read(person=person, source=source, window=window, limit=limit)
        presence = sel.presence_for(person, read, now)
        body = presenters.meetings_json(person=person, window=window, read=read, presence=presence, now=now, extra={
            "calendar_state": person.calendar_state,
            "stale": sel.source_is_stale(source, now=now) if source else None,
            "truncated": read.truncated,
        })
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Authorization, Cookie"
    return response
