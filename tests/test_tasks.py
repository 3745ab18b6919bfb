"""Background work is started one way (``controlhub.tenancy.queue``) with functions, and every schedule names a
function a worker can import: a moved or renamed task fails here, not in a worker."""

import ast
import importlib
import pathlib

import pytest

from controlhub.management.commands.install_schedules import declared_schedules
from controlhub.tenancy.queue import enqueue_after_commit, task_name

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_schedule_names_an_importable_function():
    specs = list(declared_schedules())
    assert len(specs) >= 4
    for spec in specs:
        module, _, name = spec["func"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), spec["func"]


def test_nothing_enqueues_by_dotted_string_outside_the_queue_helper():
    offenders = []
    for top in ("controlhub", "calendar_sync", "demo"):
        for path in (ROOT / top).rglob("*.py"):
            if path.name == "queue.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                        "async_task", "schedule"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "use controlhub.tenancy.queue.enqueue_after_commit(function, ids...)"


def test_a_function_a_worker_could_not_import_is_refused(django_capture_on_commit_callbacks, db):
    def local_task(pk):
        return pk

    for bad in (local_task, lambda pk: pk):
        try:
            enqueue_after_commit(bad, 1)
        except ValueError as exc:
            assert "module-level" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")
    assert task_name(task_name) == "controlhub.tenancy.queue.task_name"


@pytest.mark.django_db
def test_tasks_go_through_one_redis_client_per_process_and_a_fresh_orm_broker_per_call():
    """django-q2 builds a broker (with Redis: a client, a pool and a TCP connection) for every task unless given
    one; the queue helper keeps one Redis broker per process. The ORM broker stays per call (it works on the
    calling thread's connection)."""
    from django_q.brokers.orm import ORM
    from django_q.brokers.redis_broker import Redis

    from controlhub.tenancy.queue import queue_broker

    first, second = queue_broker(), queue_broker()
    if isinstance(first, Redis):  # the PostgreSQL + Redis run of the suite
        assert second is first and second.connection is first.connection
        assert first.connection.ping()
    else:  # the SQLite run: django-q2's database broker
        assert isinstance(first, ORM) and isinstance(second, ORM) and second is not first
