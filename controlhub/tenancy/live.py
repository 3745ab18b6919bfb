"""Live updates: ``publish(topic)`` after a commit, and every open page that follows the topic hears of it within
a fraction of a second, on both deployments, with no thread held per open page.

A topic names a thing a page shows: ``source:<id>`` (a calendar's mirrored meetings), ``person:<id>``,
``job:<id>`` (a bulk job), ``test:<id>`` (a Test connection), ``org:<id>:people`` and ``org:<id>:setup``. An event
carries only the topic's name, never data: the page then asks for what changed the way it always does (the
meetings list with ``If-None-Match``, so an unchanged list is a 304), through the ordinary views and their
permission checks.

Why this design
- **Server-Sent Events**, not WebSockets or long-polling: one long HTTP response per page, a browser API that
  reconnects by itself and resumes with ``Last-Event-ID``, same origin (CSP ``connect-src 'self'``), nothing to
  upgrade at a proxy. Pages only need to be told "this changed"; the browser never sends on this channel.
- **Served by coroutines** (Django's ASGI handler, under uvicorn): an open page costs a socket, a small object and
  a wake-up per heartbeat, never a thread or a database connection. The ordinary pages keep running on a fixed
  pool of threads, exactly as under WSGI (``controlhub/asgi.py``). A WSGI server (``runserver``, the test live
  server) answers the stream with 204 and the page falls back to polling.
- **One subscriber per web process**, not one per page: a ``Hub`` per event loop watches the backend and wakes the
  pages whose topics changed. A burst of changes to one topic wakes a page once.
- **Two backends, chosen by the deployment**: with ``REDIS_URL`` (the scaled deployment, several workers and
  hosts) a publish is a Redis ``PUBLISH`` on one channel plus a timestamp key per topic (for resuming); each web
  process keeps one pub/sub connection. Without Redis (the embedded deployment: SQLite and django-q2's database
  broker) a publish bumps a version row per topic (``LiveTopic``, stamped with the database's own clock, so hosts
  need not agree on the time), and each web process polls the recently changed rows every ``POLL_SECONDS`` —
  one indexed query per process, whatever the number of open pages.
- **Topics are never chosen by the browser**: a page embeds a signed token (``django.core.signing``) listing the
  topics it may follow, bound to the viewer and their organization; the stream checks the signature, the viewer,
  their membership and the topics' organization again on every connect.
- **Streams end after ``LIFETIME_SECONDS``** (with jitter) and the browser reconnects: a deploy, a revoked
  membership or a rebalanced load balancer takes effect within minutes, and no response lives forever.

Resuming: every message carries an ``id`` (the stream's clock, ms). On reconnect the browser sends it back as
``Last-Event-ID``, and the stream first replays the topics that changed since then (minus ``MARGIN_MS``); a first
connect starts from the time the page was rendered (in the token). A replayed change costs at most one refetch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import threading
import time
import weakref
from collections import defaultdict

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.core import signing
from django.db import DatabaseError, connection, transaction
from redis.exceptions import RedisError

from controlhub.tenancy.models import LiveTopic

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # database backend: how often each web process looks for changed topics
MARGIN_MS = 2000  # replay window: commit-order and clock slack between writers and readers
HEARTBEAT_SECONDS = 15  # a comment line keeps proxies and the browser from timing the stream out
LIFETIME_SECONDS = 300  # then the stream ends and the browser reconnects (with Last-Event-ID)
RETRY_MS = 1000  # the browser's reconnection delay
IDLE_LINGER_SECONDS = 30  # a process's subscription outlives its last page by this much (reconnects are cheap)
TOKEN_MAX_AGE = 7 * 24 * 3600
MAX_TOKENS = 4
MAX_TOPICS = 50
FORGET_AFTER_MS = 24 * 3600 * 1000  # Redis keeps a topic's last change this long; older cursors replay everything
SALT = "calendarhub.live"

TOPIC_RE = re.compile(
    r"^(?:(?P<kind>source|person|job|test):(?P<id>\d{1,18})|org:(?P<org>\d{1,18}):(?P<org_kind>people|setup))$"
)


def now_ms():
    return int(time.time() * 1000)


class LiveTokenInvalid(Exception):
    """A token that is not ours, expired, or names a topic that does not exist."""


# --- publishing -------------------------------------------------------------------------------------------------
class _Publish:
    """An on-commit callback sending a set of topics; publishes in the same transaction (and savepoint) join it,
    so a burst of changes goes out once per topic, and a rolled-back transaction's callback is dropped with it."""

    __slots__ = ("topics",)

    def __init__(self, topics):
        self.topics = set(topics)

    def __call__(self):
        topics = sorted(self.topics)
        try:
            backend().send(topics)
        except Exception:  # noqa: BLE001 - a page missing one event is no reason to fail the work that changed
            logger.warning("could not publish %d live topic(s)", len(topics), exc_info=True)


def publish(*topics):
    """Tell the pages following ``topics`` that they changed, once the current transaction commits (at once
    outside one). Never raises: a failure to publish is logged, and the pages catch up on their next event or
    reconnect."""
    topics = {t for t in topics if t}
    if not topics:
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        sids = set(conn.savepoint_ids)
        for entry in conn.run_on_commit[-64:][::-1]:
            if isinstance(entry[1], _Publish) and entry[0] == sids:
                entry[1].topics.update(topics)
                return
    transaction.on_commit(_Publish(topics))


# --- backends ---------------------------------------------------------------------------------------------------
_DB_NOW_MS = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
}


class DatabaseBackend:
    """Version rows in the database, polled by each web process (the embedded deployment)."""

    name = "database"

    def send(self, topics):
        table = connection.ops.quote_name(LiveTopic._meta.db_table)
        now_sql = _DB_NOW_MS.get(connection.vendor)
        for start in range(0, len(topics), 200):
            chunk = topics[start:start + 200]
            if now_sql:
                values = ", ".join([f"(%s, 1, {now_sql})"] * len(chunk))
                params = list(chunk)
            else:
                values = ", ".join(["(%s, 1, %s)"] * len(chunk))
                stamp = now_ms()
                params = [p for topic in chunk for p in (topic, stamp)]
            sql = (f"INSERT INTO {table} (topic, version, changed_ms) VALUES {values} "
                   f"ON CONFLICT (topic) DO UPDATE SET version = {table}.version + 1, "
                   "changed_ms = excluded.changed_ms")
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    # Plain SQL on the hot path: the poll runs five times a second in every web process, and the ORM's own work
    # would cost several times the query.
    def _query(self, sql, params):
        table = connection.ops.quote_name(LiveTopic._meta.db_table)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.format(table=table), params)
                return cursor.fetchall()
        finally:
            _release_connection()

    def changed_since(self, topics, since_ms):
        """The topics among ``topics`` changed after ``since_ms`` (a stream's replay on connect)."""
        topics = list(topics)
        marks = ", ".join(["%s"] * len(topics))
        rows = self._query(f"SELECT topic FROM {{table}} WHERE changed_ms > %s AND topic IN ({marks})",
                           [since_ms, *topics])
        return {row[0] for row in rows}

    def newest_ms(self):
        rows = self._query("SELECT MAX(changed_ms) FROM {table}", [])
        return (rows[0][0] if rows else None) or 0

    def changes_after(self, cursor_ms):
        return self._query("SELECT topic, version, changed_ms FROM {table} WHERE changed_ms > %s "
                           "ORDER BY changed_ms LIMIT 5000", [cursor_ms])

    async def run(self, hub):
        """Poll the rows changed since the newest one seen (minus the margin), until the hub is idle."""
        cursor = None
        seen = {}  # topic -> (version, changed_ms) of the rows inside the window
        while not hub.idle:
            try:
                if cursor is None:
                    cursor = await _in_thread(self.newest_ms) - MARGIN_MS
                    hub.mark_ready()
                rows = await _in_thread(self.changes_after, cursor)
            except DatabaseError:
                logger.warning("live: cannot read changed topics; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            newest = cursor + MARGIN_MS
            for topic, version, changed in rows:
                if seen.get(topic, (None,))[0] != version:
                    seen[topic] = (version, changed)
                    hub.deliver(topic)
                newest = max(newest, changed)
            cursor = max(cursor, newest - MARGIN_MS)
            if len(seen) > 1000:
                seen = {t: v for t, v in seen.items() if v[1] > cursor}
            await asyncio.sleep(POLL_SECONDS)


def _release_connection():
    """Close this thread's connection when the settings say connections are not kept (CONN_MAX_AGE=0) or it broke;
    else keep it, as a request would."""
    connection.close_if_unusable_or_obsolete()


async def _in_thread(func, *args):
    # Not thread-sensitive: the default executor's few threads each keep their own connection.
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


class RedisBackend:
    """Redis pub/sub on one channel, plus a key per topic holding its last change (the scaled deployment)."""

    name = "redis"

    def __init__(self, url):
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        db = self.client.connection_pool.connection_kwargs.get("db", 0)
        # PUBLISH ignores the database number: the channel carries it, so deployments sharing a server stay apart.
        prefix = getattr(settings, "LIVE_REDIS_PREFIX", "calendarhub:live")
        self.channel = f"{prefix}:{db}"
        self.key_prefix = f"{prefix}:at:"

    def send(self, topics):
        stamp = now_ms()
        pipe = self.client.pipeline(transaction=False)
        for topic in topics:
            pipe.set(self.key_prefix + topic, stamp, px=FORGET_AFTER_MS)
        pipe.publish(self.channel, json.dumps({"at": stamp, "topics": topics}))
        pipe.execute()

    def changed_since(self, topics, since_ms):
        topics = list(topics)
        if now_ms() - since_ms > FORGET_AFTER_MS:
            return set(topics)
        values = self.client.mget([self.key_prefix + t for t in topics])
        return {t for t, v in zip(topics, values, strict=True) if v is not None and int(v) > since_ms}

    async def run(self, hub):
        first = True
        while not hub.idle:
            client = aioredis.Redis.from_url(self.url, socket_connect_timeout=2)
            pubsub = client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                hub.mark_ready()
                if not first:
                    hub.deliver_all()  # messages were lost while disconnected: every page refetches once
                first = False
                while not hub.idle:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message and message.get("type") == "message":
                        try:
                            payload = json.loads(message["data"])
                        except (TypeError, ValueError):
                            continue
                        for topic in payload.get("topics") or ():
                            hub.deliver(str(topic))
            except (RedisError, OSError):
                logger.warning("live: Redis subscription lost; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                try:
                    await pubsub.aclose()
                    await client.aclose()
                except (RedisError, OSError):
                    pass


_backend = None
_backend_lock = threading.Lock()


def backend():
    """The deployment's backend: Redis when ``REDIS_URL`` is set, else the database."""
    global _backend
    url = getattr(settings, "REDIS_URL", "")
    current = _backend
    if current is not None and getattr(current, "url", "") == url:
        return current
    with _backend_lock:
        if _backend is None or getattr(_backend, "url", "") != url:
            _backend = RedisBackend(url) if url else DatabaseBackend()
            _backend.url = url
        return _backend


# --- subscribing ------------------------------------------------------------------------------------------------
class Listener:
    """One open stream: the topics it follows, those that changed since it last looked, and its wake-up."""

    __slots__ = ("topics", "changed", "wake")

    def __init__(self, topics):
        self.topics = frozenset(topics)
        self.changed = set()
        self.wake = asyncio.Event()

    def notify(self, topics):
        self.changed.update(topics)
        self.wake.set()

    def take(self):
        changed, self.changed = self.changed, set()
        self.wake.clear()
        return sorted(changed)


class Hub:
    """A web process's one subscription (per event loop), fanned out to its open streams."""

    def __init__(self, backend_):
        self.backend = backend_
        self._by_topic = defaultdict(set)
        self._count = 0
        self._empty_since = time.monotonic()
        self._task = None
        self._ready = asyncio.Event()
        self.closing = asyncio.Event()

    @property
    def idle(self):
        return self._count == 0 and time.monotonic() - self._empty_since > IDLE_LINGER_SECONDS

    @property
    def listeners(self):
        return self._count

    def mark_ready(self):
        self._ready.set()

    async def ready(self, timeout=2.0):
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            logger.warning("live: the %s subscription is not ready; streaming anyway", self.backend.name)

    def add(self, listener):
        for topic in listener.topics:
            self._by_topic[topic].add(listener)
        self._count += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, listener):
        for topic in listener.topics:
            group = self._by_topic.get(topic)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self._by_topic[topic]
        self._count -= 1
        if self._count == 0:
            self._empty_since = time.monotonic()

    def deliver(self, topic):
        for listener in self._by_topic.get(topic, ()):
            listener.notify((topic,))

    def deliver_all(self):
        for topic, group in self._by_topic.items():
            for listener in group:
                listener.notify((topic,))

    async def _run(self):
        try:
            while True:
                try:
                    await self.backend.run(self)
                except Exception:  # noqa: BLE001 - the subscription must come back whatever went wrong
                    logger.exception("live: %s subscription failed; restarting", self.backend.name)
                    await asyncio.sleep(1.0)
                if self.idle:
                    return
        finally:
            self._task = None
            self._ready.clear()


_hubs = weakref.WeakKeyDictionary()


def hub():
    """The running event loop's hub (one per web process under uvicorn)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None or current.backend is not backend():
        current = _hubs[loop] = Hub(backend())
    return current


def close_streams(loop=None):
    """End every open stream of ``loop`` (the running one by default) at server shutdown: the responses complete,
    the server closes their connections at once, and the browsers reconnect (to another worker)."""
    current = _hubs.get(loop or asyncio.get_running_loop())
    if current is not None:
        current.closing.set()


def stop_subscription():
    """Stop the running loop's subscription (the server is shutting down, its streams are closed)."""
    current = _hubs.get(asyncio.get_running_loop())
    if current is not None and current._task is not None:
        current._task.cancel()


def _sse(*, event=None, data=None, event_id=None, comment=None, retry=None):
    lines = []
    if comment is not None:
        lines.append(f": {comment}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines.append(f"data: {data}")
    return ("\n".join(lines) + "\n\n").encode()


async def stream(topics, since_ms, *, lifetime=None, heartbeat=None):
    """The ``text/event-stream`` body for ``topics``: the changes since ``since_ms`` first, then each change as it
    happens (``event: change``, ``data: <topic>``), a heartbeat every ``heartbeat`` seconds, until ``lifetime``."""
    lifetime = LIFETIME_SECONDS if lifetime is None else lifetime
    heartbeat = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
    current = hub()
    listener = Listener(topics)
    current.add(listener)
    try:
        await current.ready()
        opened = now_ms()
        missed = await _in_thread(current.backend.changed_since, listener.topics, since_ms - MARGIN_MS)
        listener.notify(missed)
        yield _sse(retry=RETRY_MS, event_id=opened, comment="live")
        deadline = time.monotonic() + lifetime * random.uniform(0.8, 1.0)
        closing = asyncio.ensure_future(current.closing.wait())
        woke = None
        try:
            while not current.closing.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if woke is None or woke.done():
                    woke = asyncio.ensure_future(listener.wake.wait())
                done, _ = await asyncio.wait({woke, closing}, timeout=min(heartbeat, left),
                                             return_when=asyncio.FIRST_COMPLETED)
                stamp = now_ms()
                changed = listener.take()
                if changed:
                    yield b"".join(_sse(event="change", data=topic, event_id=stamp) for topic in changed)
                elif not done:
                    yield _sse(comment="ping", event_id=stamp)
        finally:
            closing.cancel()
            if woke is not None:
                woke.cancel()
    finally:
        current.remove(listener)


# --- tokens -----------------------------------------------------------------------------------------------------
def topic_organization(topic):
    """The organization id an ``org:<id>:…`` topic names, else None; raises ``LiveTokenInvalid`` on a bad name."""
    match = TOPIC_RE.match(topic)
    if not match:
        raise LiveTokenInvalid(f"not a live topic: {topic[:40]!r}")
    return int(match["org"]) if match["org"] else None


def topic_object(topic):
    """``(kind, id)`` of an object topic (``person:5`` → ``("person", 5)``), else None."""
    match = TOPIC_RE.match(topic)
    if not match:
        raise LiveTokenInvalid(f"not a live topic: {topic[:40]!r}")
    return (match["kind"], int(match["id"])) if match["kind"] else None


def token_make(*, user_id, organization_id, topics, rendered_ms=None):
    """The signed list of topics a page may follow, for this viewer and organization."""
    topics = sorted(set(topics))
    if len(topics) > MAX_TOPICS:
        raise ValueError("too many live topics for one page")
    for topic in topics:
        topic_organization(topic)
    payload = {"u": user_id, "o": organization_id, "t": topics, "s": rendered_ms or now_ms()}
    return signing.dumps(payload, salt=SALT, compress=True)


def token_read(token, *, user_id):
    """The payload of a token signed for ``user_id`` (``{"o": org id, "t": [topics], "s": rendered ms}``)."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature as exc:
        raise LiveTokenInvalid("bad or expired live token") from exc
    if not isinstance(payload, dict) or payload.get("u") != user_id:
        raise LiveTokenInvalid("live token of another viewer")
    topics = payload.get("t")
    if not isinstance(topics, list) or not topics or len(topics) > MAX_TOPICS:
        raise LiveTokenInvalid("live token without topics")
    organization_id = payload.get("o")
    for topic in topics:
        named = topic_organization(topic)
        if named is not None and named != organization_id:
            raise LiveTokenInvalid("live topic of another organization")
    return payload


def cursor_from(last_event_id, *, fallback):
    """The replay point: the browser's ``Last-Event-ID`` when it is one of ours (a recent ms stamp), else
    ``fallback`` (the time the page was rendered)."""
    try:
        value = int(last_event_id)
    except (TypeError, ValueError):
        return fallback
    now = now_ms()
    if value > now + 60_000 or value < now - TOKEN_MAX_AGE * 1000:
        return fallback
    return max(value, fallback)
