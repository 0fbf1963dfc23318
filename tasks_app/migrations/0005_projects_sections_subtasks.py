# Projects, sections and subtasks (docs/projects.md). Every existing user gets
# their Inbox and every existing task lands in it, in two set-based statements
# (no per-row Python: the task table may be large). No events are recorded for
# these Inboxes: they existed, from a client's point of view, all along.

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _create_inboxes(apps, schema_editor):
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    project_table = apps.get_model("tasks_app", "Project")._meta.db_table
    task_table = apps.get_model("tasks_app", "Task")._meta.db_table
    user_table = user_model._meta.db_table
    user_pk = user_model._meta.pk.column
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {project_table}
                (id, owner_id, name, color, position, is_inbox, is_archived, version, created_at, updated_at)
            SELECT gen_random_uuid(), u.{user_pk}, 'Inbox', '#808080', 0, true, false, 1, now(), now()
            FROM {user_table} AS u
            WHERE NOT EXISTS (SELECT 1 FROM {project_table} p WHERE p.owner_id = u.{user_pk} AND p.is_inbox)
            """  # noqa: S608 - table names from the model registry, no user input
        )
        cursor.execute(
            f"""
            UPDATE {task_table} AS t SET project_id = p.id
            FROM {project_table} AS p
            WHERE p.owner_id = t.owner_id AND p.is_inbox AND t.project_id IS NULL
            """  # noqa: S608 - as above
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0004_task_list_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="children",
                to="tasks_app.task",
            ),
        ),
        migrations.CreateModel(
            name="Project",
            fields=[
                (
                    "id",
                    models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                ),
                ("name", models.CharField(max_length=120)),
                ("color", models.CharField(default="#808080", max_length=7)),
                ("position", models.IntegerField(default=0)),
                ("is_inbox", models.BooleanField(default=False, editable=False)),
                ("is_archived", models.BooleanField(default=False)),
                ("archived_at", models.DateTimeField(blank=True, null=True)),
                ("version", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="projects",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "parent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="children",
                        to="tasks_app.project",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "created_at"],
            },
        ),
        migrations.AddField(
            model_name="task",
            name="project",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="tasks",
                to="tasks_app.project",
            ),
        ),
        migrations.CreateModel(
            name="Section",
            fields=[
                (
                    "id",
                    models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False),
                ),
                ("name", models.CharField(max_length=120)),
                ("position", models.IntegerField(default=0)),
                ("version", models.PositiveIntegerField(default=1)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sections",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sections",
                        to="tasks_app.project",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "created_at"],
            },
        ),
        migrations.AddField(
            model_name="task",
            name="section",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="tasks",
                to="tasks_app.section",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["owner", "project", "position"], name="task_owner_project_idx"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("parent__isnull", False)), fields=["parent"], name="task_parent_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("section__isnull", False)), fields=["section"], name="task_section_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="project",
            index=models.Index(fields=["owner", "position"], name="project_owner_position_idx"),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_inbox", True)), fields=("owner",), name="project_one_inbox_per_owner"
            ),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("is_inbox", False),
                    models.Q(("is_archived", False), ("parent__isnull", True)),
                    _connector="OR",
                ),
                name="project_inbox_top_level_unarchived",
            ),
        ),
        migrations.AddConstraint(
            model_name="project",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_archived", False), ("archived_at__isnull", False), _connector="OR"),
                name="project_archived_has_time",
            ),
        ),
        migrations.AddIndex(
            model_name="section",
            index=models.Index(fields=["project", "position"], name="section_project_position_idx"),
        ),
        migrations.RunPython(_create_inboxes, migrations.RunPython.noop),
    ]
