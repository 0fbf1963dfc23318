"""Bulk inserts for the hot write paths (outbox, audit)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def copy_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs`` with one ``COPY … FROM STDIN`` in the caller's transaction.

    Not ``bulk_create``: on PostgreSQL, Django 5.2 inserts many rows through
    ``UNNEST`` of one text array per column, and psycopg escapes text arrays
    in Python, one regex substitution per quote character of every JSON
    document; for event-sized JSON that was the largest single cost of a
    dispatch batch (cProfile, benchmarks/recurrence). COPY has no ON CONFLICT:
    callers insert only rows that cannot conflict (fresh ids) or have checked
    under a lock. Database-generated primary keys are left to the database and
    not read back; ``auto_now_add`` and defaults are applied as ``save`` would.
    """
    if not objs:
        return
    fields = [field for field in model._meta.concrete_fields if not field.db_returning]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
                )
