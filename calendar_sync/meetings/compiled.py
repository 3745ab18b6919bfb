"""Querysets compiled once per database, for the three queries every poll of the meetings read path runs.

Why: the page is polled every ~10 s by every open tab and devices poll the API; each request runs the "who"
query (the signed-in person with organization, source and membership, or the device token with source,
organization and person) and, unless it ends in a 304, the window's rows. Building and compiling those querysets
costs several times more than running them on SQLite, so each shape is compiled once with placeholder values and
later calls only bind the real ones (converted exactly as the ORM converts them).

Measured with ``python -m bench.bench_meetings`` (part 1b, "compiled queries vs the ORM": CPU µs per call of
this thread, 300 meetings, SQLite, min / median of 9 interleaved rounds of 300 calls, 100 for the rows; the
project's 2-core machine):

=====================================  ================  ==========================
query                                  compiled (µs)     the ORM building it (µs)
=====================================  ================  ==========================
person of the signed-in user           117 / 132         1345 / 1601
device token (+ source, org, person)   94 / 101          801 / 1042
window rows, limit 101 (values_list)   282 / 294         1228 / 1316
window rows, limit 301                 814 / 1020        2877 / 4135
=====================================  ================  ==========================

The API's 304 costs ~0.5-0.75 ms in all (part 1 of the bench): through the ORM its one query would more than
double it; every page, partial and API 200 would cost 1-2.5 ms more.

Only SQL is cached, never a result: the token check, the membership and the rows are read on every call.
"""

import itertools
import re
from datetime import datetime

from django.db import connections, router
from django.db.models.query import get_related_populators

_MAX_SHAPES = 4096  # (build, database, shape) entries; ``limit`` is part of a rows shape
_FORMAT_PARAM = re.compile(r"(?<!%)%s")  # Django's own pattern for "format" placeholders
_instance_plans = {}
_row_plans = {}


def _named(sql, count):
    """``%s`` placeholders as ``%(p0)s``, ``%(p1)s``...: with a dict of parameters, Django's SQLite cursor maps names
    with one ``%`` instead of running a regular expression over the statement on every call (~40 µs for the
    3-join token query, a third of its cost); other backends take named parameters as they are."""
    names = itertools.count()
    named = _FORMAT_PARAM.sub(lambda _: f"%(p{next(names)})s", sql)
    if next(names) != count:
        raise RuntimeError("compiled query: placeholders and parameters do not match")
    return named


def _binding(name, params, placeholders, ops):
    """For each parameter of the compiled statement: ``(slot, adapt, None)`` where it is the placeholder at
    ``slot`` (``adapt``: a datetime, bound as the ORM adapts it), else ``(None, False, constant)``."""
    slots = {}
    for i, value in enumerate(placeholders):
        if isinstance(value, datetime):
            slots[ops.adapt_datetimefield_value(value)] = (i, True)
        else:
            slots[value] = (i, False)
    binding = tuple(slots[p] + (None,) if p in slots else (None, False, p) for p in params)
    if {slot for slot, _, _ in binding} - {None} != set(range(len(placeholders))):  # Django changed how it binds
        raise RuntimeError(f"{name}: a placeholder value is missing from the compiled query")
    return binding


def _params(binding, values, ops):
    adapt = ops.adapt_datetimefield_value
    return {
        f"p{i}": (adapt(values[slot]) if dt else values[slot]) if slot is not None else constant
        for i, (slot, dt, constant) in enumerate(binding)
    }


def _instance_plan(build, alias, placeholders):
    key = (build, alias, connections[alias].vendor)
    plan = _instance_plans.get(key)
    if plan is None:
        compiler = build(alias, *placeholders).query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        binding = _binding(build.__name__, params, placeholders, connections[alias].ops)
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        plan = _instance_plans[key] = (
            _named(sql, len(binding)), binding, klass_info["model"],
            [f[0].target.attname for f in select[start:end]], start, end,
            get_related_populators(klass_info, select, alias),
            tuple(compiler.get_converters([f[0] for f in select[:compiler.col_count]]).items()),
        )
    return plan


def compiled_first(build, placeholders, values, *, model):
    """The first instance of ``build(alias, *values)`` (a queryset, ``select_related`` welcome), like
    ``.first()`` without ordering, but the query is built and compiled once per database with ``placeholders``
    (distinct values that occur nowhere else in the query) and later calls only bind ``values``; the instances
    are built as ``ModelIterable`` builds them (the same converters and related populators)."""
    alias = router.db_for_read(model)
    sql, binding, model_cls, init_list, start, end, populators, converters = _instance_plan(build, alias,
                                                                                              placeholders)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(binding, values, connection.ops))
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for pos, (convs, expression) in converters:
        value = row[pos]
        for convert in convs:
            value = convert(value, expression, connection)
        row[pos] = value
    obj = model_cls.from_db(alias, init_list, row[start:end])
    for populator in populators:
        populator.populate(row, obj)
    return obj


def compiled_rows(build, placeholders, values, *, model, shape=()):
    """The rows of ``build(alias, *values, *shape)`` (a ``values_list`` queryset) as the driver returns them: no
    model instances, no converters (SQLite's registered ones give datetimes, dates and booleans; the caller
    handles the rest). Compiled once per database and ``shape`` (arguments that change the statement, such as a
    ``limit``) with ``placeholders``, as ``compiled_first``."""
    alias = router.db_for_read(model)
    connection = connections[alias]
    key = (build, alias, connection.vendor, shape)
    plan = _row_plans.get(key)
    if plan is None:
        sql, params = build(alias, *placeholders, *shape).query.sql_with_params()
        binding = _binding(build.__name__, params, placeholders, connection.ops)
        if len(_row_plans) >= _MAX_SHAPES:
            _row_plans.clear()
        plan = _row_plans[key] = (_named(sql, len(binding)), binding)
    sql, binding = plan
    with connection.cursor() as cursor:
        cursor.execute(sql, _params(binding, values, connection.ops))
        return cursor.fetchall()
