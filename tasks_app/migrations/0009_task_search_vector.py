# Full-text search without per-row to_tsvector and without everybody's tasks in
# the way (benchmarks/task_list/README.md). A common prefix such as "groc"
# matched 17,000 tasks of one user (~480 ms p95): the GIN index on
# to_tsvector(title || ' ' || description) handed over the 171,000 matches of
# all users for PostgreSQL to AND with the owner's 100,000 tasks, and every
# match had its vector computed again to be ranked.
#
# - search_vector: the vector, stored (a generated column, so every write path
#   — save, update(), bulk_create, COPY, raw SQL — keeps it in sync). Ranking
#   reads it.
# - task_owner_vector(owner_id, vector): the same vector with each lexeme
#   prefixed by the owner's id ('groceri' → '42_groceri', positions kept);
#   task_owner_query(owner_id, query) does the same to a query. The GIN index
#   task_fulltext_gin is on the former, so a search reads one user's entries
#   only. plpgsql, never inlined, with to_tsvector's cost: the planner keeps
#   preferring the index over computing it per row, as before.
#
# All of it is outside the model state (the tag index of 0004 does the same):
# model instances and .values() never load the vector; queries name the column
# with tasks_app.models.SearchVectorColumn and the match with OwnerSearchMatch.
#
# Adding a stored generated column rewrites the table under an ACCESS EXCLUSIVE
# lock (about a minute for 1,000,000 tasks on the loaded benchmark machine);
# the index is then built CONCURRENTLY, hence atomic = False.

from django.db import migrations

VECTOR = "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))"
# Each quoted lexeme of a tsvector's or tsquery's text form ('it''s' included).
_PREFIX_LEXEMES = "regexp_replace({arg}::text, '''((?:[^'']|'''')*)''', '''' || owner || '_\\1''', 'g')"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION task_owner_vector(owner bigint, vector tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 100 AS $$
BEGIN
    RETURN {_PREFIX_LEXEMES.format(arg="vector")}::tsvector;
END $$;
CREATE OR REPLACE FUNCTION task_owner_query(owner bigint, query tsquery) RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 100 AS $$
BEGIN
    RETURN {_PREFIX_LEXEMES.format(arg="query")}::tsquery;
END $$;
"""


def forwards(apps, schema_editor):
    schema_editor.execute(
        "ALTER TABLE tasks_app_task ADD COLUMN IF NOT EXISTS search_vector tsvector "
        f"GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    schema_editor.execute(FUNCTIONS)
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_owner_search_gin")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY task_owner_search_gin "
        "ON tasks_app_task USING gin (task_owner_vector(owner_id, search_vector))"
    )
    # The expression index goes; the owner-scoped one takes its name.
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_fulltext_gin")
    schema_editor.execute("ALTER INDEX task_owner_search_gin RENAME TO task_fulltext_gin")


def backwards(apps, schema_editor):
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS task_fulltext_gin")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS task_fulltext_gin ON tasks_app_task USING gin (({VECTOR}))"
    )
    schema_editor.execute("DROP FUNCTION IF EXISTS task_owner_vector(bigint, tsvector)")
    schema_editor.execute("DROP FUNCTION IF EXISTS task_owner_query(bigint, tsquery)")
    schema_editor.execute("ALTER TABLE tasks_app_task DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('tasks_app', '0008_calendar_feed'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex(model_name='task', name='task_fulltext_gin')],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
