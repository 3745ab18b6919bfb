"""The site served the way ``make run`` and production serve it: uvicorn running ``controlhub.asgi:application``
(pages on a thread pool, the live stream as coroutines), in a thread of the test process, on the test database.

pytest-django's ``live_server`` is a threaded WSGI server: there the live stream answers 204 and pages fall back to
polling. Tests of pushed updates use ``asgi_server`` instead (same ``.url`` attribute, so ``sign_in`` works).
Connections are not kept between requests (``CONN_MAX_AGE=0``) so the test database can be flushed and dropped.
"""

import asyncio
import socket
import threading
import time

import pytest


class AsgiServer:
    def __init__(self):
        import uvicorn

        from controlhub.asgi import application

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, log_level="warning", lifespan="on", access_log=False,
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="asgi-test-server", daemon=True)

    def _run(self):
        asyncio.run(self._serve())

    async def _serve(self):
        self.loop = asyncio.get_running_loop()
        await self.server.serve(sockets=[self.sock])

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI test server did not start")
            time.sleep(0.02)
        return self

    def stop(self):
        from controlhub.tenancy import live

        self.loop.call_soon_threadsafe(live.close_streams, self.loop)  # as a signal does under `make run`
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def asgi_server(transactional_db, settings):
    from django.db import connections

    kept = {alias: connections.settings[alias].get("CONN_MAX_AGE") for alias in connections.settings}
    for alias in kept:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    server = AsgiServer().start()
    try:
        yield server
    finally:
        server.stop()
        for alias, value in kept.items():
            connections.settings[alias]["CONN_MAX_AGE"] = value
