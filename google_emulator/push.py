"""Background delivery of Calendar push notifications (web_hook channels)."""

from __future__ import annotations

import collections
import http.client
import ssl
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from .util import rfc1123

RETRY_STATUSES = {500, 502, 503, 504}
OK_STATUSES = {102, 200, 201, 202, 204}


class PushDeliverer:
    """Delivers messages per channel in order; channels are delivered concurrently by a small pool."""

    def __init__(self, state, workers: int = 16, backoff: float = 0.2, max_tries: int = 5, timeout: float = 5.0):
        self.state = state
        self.backoff = backoff
        self.max_tries = max_tries
        self.timeout = timeout
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque] = {}
        self._active: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push")
        self._closed = False
        self._pending = 0
        self._idle = threading.Condition(self._lock)

    def enqueue(self, channel: dict, number: int, resource_state: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._queues.setdefault(channel["id"], collections.deque()).append((channel, number, resource_state))
            self._pending += 1
            if channel["id"] not in self._active:
                self._active.add(channel["id"])
                self._pool.submit(self._drain, channel["id"])

    def _drain(self, cid: str) -> None:
        while True:
            with self._lock:
                q = self._queues.get(cid)
                if not q or self._closed:
                    self._active.discard(cid)
                    self._queues.pop(cid, None)
                    self._pending -= len(q or ())
                    self._idle.notify_all()
                    return
                item = q.popleft()
            try:
                self._deliver(*item)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _still_active(self, channel: dict) -> bool:
        with self.state.lock:
            current = self.state.channels.get(channel["id"])
            if current is None or current.get("uid") != channel.get("uid"):
                return False
            return current["expiration"] > self.state.now() * 1000

    def _deliver(self, channel: dict, number: int, resource_state: str) -> None:
        headers = {
            "X-Goog-Channel-ID": channel["id"],
            "X-Goog-Message-Number": str(number),
            "X-Goog-Resource-ID": channel["resourceId"],
            "X-Goog-Resource-State": resource_state,
            "X-Goog-Resource-URI": channel["resourceUri"],
            "User-Agent": "APIs-Google",
            "Content-Length": "0",
            "Accept": "*/*",
        }
        if channel.get("expiration"):
            headers["X-Goog-Channel-Expiration"] = rfc1123(channel["expiration"] / 1000)
        if channel.get("token") is not None:
            headers["X-Goog-Channel-Token"] = channel["token"]
        delay = self.backoff
        for attempt in range(self.max_tries):
            if self._closed or not self._still_active(channel):
                return
            status = self._post(channel["address"], headers)
            with self.state.lock:
                self.state.stats["push_attempts"] += 1
                if status in OK_STATUSES:
                    self.state.stats["pushes_sent"] += 1
                    return
            if status is not None and status not in RETRY_STATUSES:
                break
            if attempt + 1 < self.max_tries:
                time.sleep(delay)
                delay *= 2
        with self.state.lock:
            self.state.stats["push_failures"] += 1

    def _post(self, address: str, headers: dict) -> int | None:
        parts = urllib.parse.urlsplit(address)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=self.timeout,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
            try:
                conn.request("POST", path, body=b"", headers=headers)
                resp = conn.getresponse()
                resp.read()
                return resp.status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            return None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queues.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
