"""``/notify-sw.js``: the service worker behind meeting reminders with a Join action.

Notification action buttons only exist for notifications shown through a service worker registration
(https://developer.mozilla.org/docs/Web/API/ServiceWorkerRegistration/showNotification). A worker's scope is
limited to its own path unless the response allows more, so the script is served from the site root with
``Service-Worker-Allowed: /``. It carries no user data: the same bytes for everyone, no sign-in needed.
"""

from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

SCRIPT = "js/notify-sw.js"


@lru_cache(maxsize=1)
def _script():
    path = finders.find(SCRIPT)
    if not path:
        return None
    with open(path, "rb") as fh:
        return fh.read()


@require_GET
def notify_service_worker(request):
    body = _script()
    if body is None:
        raise Http404("service worker script missing")
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"  # browsers re-check workers anyway; a deploy takes effect at once
    return response
