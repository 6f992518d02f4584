"""A word index of the popular movies alone, for suggestions on PostgreSQL.

Suggestions want the most popular movies holding the typed words. Sorting all
of them reads the table for each (3,600 rows for ``star wa`` among a million),
and a short prefix makes the whole index's lookup slow too. The same index
over the movies of popularity 80 or more is several times smaller: when it
holds enough matches, they are the most popular of all (catalog.suggestions).
"""

from django.db import migrations

POSTGRESQL = [
    "CREATE INDEX movie_words_popular ON catalog_movie USING gin (words) WHERE popularity >= 80",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS movie_words_popular"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_movie_words_index")]

    operations = [migrations.RunPython(run(POSTGRESQL), run(POSTGRESQL_DROP))]
