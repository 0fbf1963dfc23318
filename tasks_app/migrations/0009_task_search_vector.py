# A stored copy of the full-text vector (benchmarks/task_list/README.md): a
# search ranked its matches with to_tsvector(title || ' ' || description)
# computed again for every one (a common prefix such as "groc" matched 17,000
# tasks of one user: ~480 ms). PostgreSQL now keeps the vector in a generated
# column, search_vector, that every write path keeps in sync; the filter still
# uses the expression index task_fulltext_gin.
#
# Kept outside the model state (the tag index of 0004 does the same): model
# instances and .values() never load the vector, and queries name the column
# with tasks_app.models.SearchVectorColumn.
#
# Adding a stored generated column rewrites the table under an ACCESS EXCLUSIVE
# lock: about a minute for 1,000,000 tasks on the (loaded) benchmark machine.

from django.db import migrations

VECTOR = "to_tsvector('english'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))"


class Migration(migrations.Migration):

    dependencies = [
        ('tasks_app', '0008_calendar_feed'),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE tasks_app_task ADD COLUMN IF NOT EXISTS search_vector tsvector "
            f"GENERATED ALWAYS AS ({VECTOR}) STORED",
            "ALTER TABLE tasks_app_task DROP COLUMN IF EXISTS search_vector",
        ),
    ]
