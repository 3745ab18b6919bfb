"""The web server's entry point: ``uvicorn controlhub.asgi:application`` (``make run``), or in production
``gunicorn controlhub.asgi:application -k uvicorn_worker.UvicornWorker``.

Two handlers behind one address:
- ``/live/`` (the live-update stream, ``controlhub.views.live``) goes to Django's ASGI handler: each open page is a
  coroutine waiting for its topics, so thousands of open pages cost sockets, not threads;
- everything else goes to Django's WSGI handler on a fixed pool of ``WEB_THREADS`` threads (a2wsgi), exactly as
  under a threaded WSGI server: each thread keeps its database connection between requests (``CONN_MAX_AGE``),
  which Django's ASGI handler cannot do for synchronous views (it runs each request on a fresh thread).
"""

import asyncio
import os
import signal
import threading

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlhub.settings")

from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

LIVE_PREFIX = "/live/"

streams = get_asgi_application()  # sets Django up: project modules import from here on
pages = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)

from controlhub.tenancy import live  # noqa: E402


def _end_streams_on_exit_signals():
    """uvicorn (and gunicorn's uvicorn worker) wait for open responses before shutting down, and a live stream
    lasts minutes: on SIGINT/SIGTERM end the streams first, then let the server's own handler run."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum, frame, previous=previous):
            loop.call_soon_threadsafe(live.close_streams, loop)
            previous(signum, frame)

        signal.signal(sig, handler)


async def _lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _end_streams_on_exit_signals()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            live.close_streams()
            live.stop_subscription()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"].startswith(LIVE_PREFIX):
        await streams(scope, receive, send)
    else:
        await pages(scope, receive, send)
