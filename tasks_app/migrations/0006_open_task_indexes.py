# Partial indexes over open tasks for the everyday views (tasks_app/agenda/):
# Today/Upcoming/Overdue in due order, the Inbox and per-project counts.
# Built CONCURRENTLY (hence atomic = False) so writes to a large task table go on.

import django.db.models.functions.comparison
import tasks_app.models
from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tasks_app', '0005_projects_sections_subtasks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='task',
            index=models.Index(models.F('owner'), models.OrderBy(django.db.models.functions.comparison.Coalesce('due_at', tasks_app.models.DateAtUtcMidnight('due_date'), output_field=models.DateTimeField()), nulls_last=True), models.OrderBy(models.Case(models.When(priority='high', then=models.Value(3)), models.When(priority='medium', then=models.Value(2)), default=models.Value(1), output_field=models.IntegerField()), descending=True, nulls_last=True), models.OrderBy(models.F('created_at')), models.OrderBy(models.F('id')), condition=models.Q(('is_completed', False), ('is_skipped', False)), name='task_open_due_idx'),
        ),
        AddIndexConcurrently(
            model_name='task',
            index=models.Index(condition=models.Q(('is_completed', False), ('is_skipped', False)), fields=['owner', 'project', 'position'], name='task_open_project_idx'),
        ),
    ]
