"""Bulk inserts for the hot write paths (outbox, audit, generated occurrences)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import psycopg
from django.db import connection, models

# Field types whose Python values psycopg writes exactly as Django's
# get_db_prep_save would hand them over (on PostgreSQL with psycopg 3 those
# return the value unchanged); skipping the per-value call was a quarter of
# the time of writing a batch of outbox rows. Other types (JSON above all) go
# through get_db_prep_save.
_AS_IS = frozenset(
    {
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
        "UUIDField",
    }
)


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs`` with one ``COPY … FROM STDIN`` in the caller's transaction.

    Not ``bulk_create``: on PostgreSQL, Django 5.2 inserts many rows through
    ``UNNEST`` of one text array per column, and psycopg escapes text arrays
    in Python, one regex substitution per quote character of every JSON
    document; for event-sized JSON that was the largest single cost of a
    dispatch batch (cProfile, benchmarks/recurrence). COPY has no ON CONFLICT:
    callers insert only rows that cannot conflict (fresh ids) or have checked
    under a lock. Otherwise it behaves like ``bulk_create``: ``auto_now_add``
    and defaults are applied as ``save`` would, errors arrive as Django's
    (``IntegrityError`` …), the statement shows in ``connection.queries``
    when queries are logged, and the objects count as saved afterwards.
    Database-generated primary keys are left to the database and not read
    back; models with ``db_default`` fields are refused rather than written
    without them.
    """
    if not objs:
        return
    meta = model._meta
    if any(field.has_db_default() for field in meta.concrete_fields):
        raise NotImplementedError(f"copy_insert does not handle db_default fields ({meta.label})")
    fields = [field for field in meta.concrete_fields if not field.db_returning]
    columns = ", ".join(connection.ops.quote_name(cast(str, field.column)) for field in fields)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    prepared = [(field, field.get_internal_type() in _AS_IS) for field in fields]
    started = time.monotonic()
    try:
        with connection.cursor() as cursor, connection.wrap_database_errors:
            with cursor.cursor.copy(sql) as copy:
                for obj in objs:
                    copy.write_row(
                        [
                            value if raw else field.get_db_prep_save(value, connection)
                            for field, raw in prepared
                            for value in (field.pre_save(obj, True),)
                        ]
                    )
    finally:
        if connection.queries_logged:
            connection.queries_log.append(
                {"sql": f"{sql} -- {len(objs)} rows", "time": f"{time.monotonic() - started:.3f}"}
            )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def fetch_bound(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run one statement with server-side parameters in binary, return its rows.

    Django's PostgreSQL backend binds parameters on the client
    (``ClientCursor``): each array element is quoted into the SQL text in
    Python, which for the reminder scan's columns (thousands of ids, times
    and titles per statement) cost more than the statement's own planning.
    Here psycopg sends them as binary parameters instead. Pyformat
    placeholders (``%(name)s``) as with ``cursor.execute``; in the caller's
    transaction; logged like any query when queries are logged.
    """
    started = time.monotonic()
    try:
        connection.ensure_connection()
        with connection.wrap_database_errors:
            raw = connection.connection
            assert raw is not None  # ensure_connection() above
            with psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, binary=True)
                return cursor.fetchall() if cursor.description else []
    finally:
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
