"""The web server's entry point: ``uvicorn controlhub.asgi:application`` (``make run``), or in production
``gunicorn controlhub.asgi:application -k uvicorn_worker.UvicornWorker``.

Two handlers behind one address:
- ``/live/`` (the live-update stream, ``controlhub.views.live``) goes to Django's ASGI handler: each open page is a
  coroutine waiting for its topics, so thousands of open pages cost sockets, not threads;
- everything else goes to Django's WSGI handler on a fixed pool of ``WEB_THREADS`` threads (a2wsgi), exactly as
  under a threaded WSGI server: each thread keeps its database connection between requests (``CONN_MAX_AGE``),
  which Django's ASGI handler cannot do for synchronous views (it runs each request on a fresh thread).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")

from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from controlhub.tenancy import live  # noqa: E402

LIVE_PREFIX = "/live/"

streams = get_asgi_application()
pages = WSGIMiddleware(get_wsgi_application(), workers=getattr(settings, "WEB_THREADS", 8))


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            live.close_streams()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith(LIVE_PREFIX):
        await streams(scope, receive, send)
    else:
        await pages(scope, receive, send)
