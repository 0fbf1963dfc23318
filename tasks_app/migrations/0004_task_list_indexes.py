# Indexes for the task list of one owner (benchmarks/task_list/README.md): tag
# filters, sort_by=due_at, the COUNT of a status filter; the bare owner_id
# index goes (the composite ones serve owner lookups, and it lured the planner
# away from the tag index). Built CONCURRENTLY (hence atomic = False) so
# writes to a large task table go on.

import django.contrib.postgres.indexes
import django.db.models.deletion
import django.db.models.functions.comparison
from django.conf import settings
from django.contrib.postgres.operations import (
    AddIndexConcurrently,
    BtreeGinExtension,
    RemoveIndexConcurrently,
)
from django.db import migrations, models

import tasks_app.models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tasks_app', '0003_task_series'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # GIN operator classes for scalar columns (owner_id) next to jsonb.
        BtreeGinExtension(),
        AddIndexConcurrently(
            model_name='task',
            index=django.contrib.postgres.indexes.GinIndex(fields=['owner', 'tag_keys'], name='task_owner_tag_keys_gin'),
        ),
        # Every tag filter is for one owner: the composite index replaces the global one.
        RemoveIndexConcurrently(
            model_name='task',
            name='task_tag_keys_gin',
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
