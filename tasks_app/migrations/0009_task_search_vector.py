# Full-text search on a stored column (benchmarks/task_list/README.md): the
# search used to compute to_tsvector(title || ' ' || description) for every
# candidate row, to recheck and rank it (a common prefix such as "groc" matched
# 17,000 rows of one user: ~380 ms). Now PostgreSQL stores the vector in a
# generated column, search_vector, that every write path keeps in sync, and
# task_fulltext_gin indexes the column instead of the expression.
#
# Both are kept outside the model state (the tag index of 0004 does the same):
# model instances and .values() never load the vector, and queries name the
# column with tasks_app.models.SearchVectorColumn.
#
# Adding a stored generated column rewrites the table under an ACCESS EXCLUSIVE
# lock (about 10 s per million tasks on the benchmark machine); the index is
# then built CONCURRENTLY, hence atomic = False.

from django.db import migrations

VECTOR = "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))"


def add_search_vector(apps, schema_editor):
    schema_editor.execute(
        "ALTER TABLE tasks_app_task ADD COLUMN IF NOT EXISTS search_vector tsvector "
        f"GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS task_search_vector_gin "
        "ON tasks_app_task USING gin (search_vector)"
    )
    # The expression index goes; the column's index takes its name.
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_fulltext_gin")
    schema_editor.execute("ALTER INDEX task_search_vector_gin RENAME TO task_fulltext_gin")


def drop_search_vector(apps, schema_editor):
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_fulltext_gin")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS task_fulltext_gin ON tasks_app_task USING gin (({VECTOR}))"
    )
    schema_editor.execute("ALTER TABLE tasks_app_task DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tasks_app', '0008_calendar_feed'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name='task', name='task_fulltext_gin')],
            database_operations=[migrations.RunPython(add_search_vector, drop_search_vector)],
        ),
    ]
