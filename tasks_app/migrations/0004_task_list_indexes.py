# Indexes for the task list of one owner (benchmarks/task_list/README.md): tag
# filters, sort_by=due_at, the COUNT of a status filter; the bare owner_id
# index goes (the composite ones serve owner lookups, and it lured the planner
# away from the tag index). Built CONCURRENTLY (hence atomic = False) so
# writes to a large task table go on.

import logging

import django.db.models.deletion
import django.db.models.functions.comparison
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import DatabaseError, migrations, models

import tasks_app.models

logger = logging.getLogger(__name__)


def _btree_gin_installed(schema_editor) -> bool:
    """btree_gin (GIN operator classes for owner_id), installed here if PostgreSQL ships it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")
        if cursor.fetchone() is None:
            return False
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except DatabaseError:  # no privilege to create it (it is trusted from PostgreSQL 13 on)
        return False
    return True


def owner_tag_index(apps, schema_editor):
    # Every tag filter is for one owner: one GIN index over both columns finds
    # one user's tagged tasks without visiting the rest of their tasks or
    # everybody else's tagged ones, and replaces the global tag_keys index.
    if not _btree_gin_installed(schema_editor):
        logger.warning(
            "btree_gin is not available: tag filters keep the index on tag_keys alone "
            "(task_tag_keys_gin); see docs/tasks.md"
        )
        return
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS task_owner_tag_keys_gin "
        "ON tasks_app_task USING gin (owner_id, tag_keys)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_tag_keys_gin")


def tag_keys_index(apps, schema_editor):
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS task_tag_keys_gin ON tasks_app_task USING gin (tag_keys)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_owner_tag_keys_gin")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tasks_app', '0003_task_series'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tag index depends on the server (btree_gin), so it is kept out of
        # the model state: the state forgets task_tag_keys_gin, the database
        # gets whichever index the server supports.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name='task', name='task_tag_keys_gin')],
            database_operations=[migrations.RunPython(owner_tag_index, tag_keys_index)],
        ),
        AddIndexConcurrently(
            model_name='task',
            index=models.Index(fields=['owner', 'is_completed'], name='task_owner_completed_idx'),
        ),
        AddIndexConcurrently(
            model_name='task',
            index=models.Index(models.F('owner'), models.OrderBy(django.db.models.functions.comparison.Coalesce('due_at', tasks_app.models.DateAtUtcMidnight('due_date'), output_field=models.DateTimeField()), nulls_last=True), models.OrderBy(models.Case(models.When(priority='high', then=models.Value(3)), models.When(priority='medium', then=models.Value(2)), default=models.Value(1), output_field=models.IntegerField()), descending=True, nulls_last=True), models.OrderBy(models.F('created_at')), models.OrderBy(models.F('id')), name='task_owner_due_sort_idx'),
        ),
        # Last, so owner lookups always have an index while the others are built.
        migrations.AlterField(
            model_name='task',
            name='owner',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to=settings.AUTH_USER_MODEL),
        ),
    ]
