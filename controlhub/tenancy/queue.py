"""The one way to start background work: a module-level function and ids, enqueued once the current transaction
commits (the task then reads the committed rows, and a rolled-back transaction enqueues nothing).

Functions, not dotted strings: a renamed or moved task fails at import, in every test, instead of in a worker
at 3 a.m. The broker stores the function's dotted path and the arguments as plaintext pickles, so arguments are
ids only, never meeting data.
"""

import os
import threading
from importlib import import_module

from django.db import transaction
from django_q.brokers import get_broker
from django_q.brokers.redis_broker import Redis as RedisBroker
from django_q.conf import Conf
from django_q.tasks import async_task

_broker_lock = threading.Lock()
_shared = {}


def queue_broker():
    """The broker tasks are enqueued through. With Redis, one per process, shared by its threads (redis-py clients
    are thread-safe): django-q2 otherwise makes a new client for every task, with a new pool, TCP connection and
    handshake, which was a third of the cost of taking a push notification. Other brokers are made per call, as
    django-q2 does (the ORM broker works on the calling thread's database connection and holds nothing)."""
    key = (os.getpid(), str(Conf.REDIS), Conf.CLUSTER_NAME)  # a forked worker makes its own (pools are per process)
    broker = _shared.get(key)
    if broker is not None:
        return broker
    broker = get_broker()
    if isinstance(broker, RedisBroker):
        with _broker_lock:
            broker = _shared.setdefault(key, broker)
    return broker


def task_name(func):
    """The dotted path django-q2 stores for ``func``; refuses anything a worker could not import by that path."""
    module, qualname = getattr(func, "__module__", ""), getattr(func, "__qualname__", "")
    if not module or not qualname or "." in qualname or "<" in qualname:
        raise ValueError(f"{func!r} is not a module-level function: a worker could not import it")
    if getattr(import_module(module), qualname, None) is not func:
        raise ValueError(f"{module}.{qualname} does not name {func!r}")
    return f"{module}.{qualname}"


def enqueue_after_commit(func, *args, group=None, save=True):
    """Run ``func(*args)`` in a worker after the current transaction commits (at once outside a transaction).

    ``save=False``: django-q2 records only a failure of it, not each success (for the most frequent tasks: a
    success row is one more database write per task, in the monitor, beside the task's own writes)."""
    name = task_name(func)
    options = {"group": group} if group else {}
    if not save:
        options["save"] = False
    transaction.on_commit(lambda: async_task(name, *args, broker=queue_broker(), **options))


def enqueue_each_after_commit(func, ids):
    """One ``func(id)`` task per id after commit, all through one broker and, with the ORM broker, one commit
    (instead of a connection and a commit per task)."""
    ids = list(ids)
    if not ids:
        return
    name = task_name(func)

    def run():
        broker = queue_broker()
        with transaction.atomic():
            for pk in ids:
                async_task(name, pk, broker=broker)

    transaction.on_commit(run)
