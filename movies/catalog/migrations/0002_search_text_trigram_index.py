"""A trigram index on Movie.search_text, on PostgreSQL only.

It serves ``LIKE '%term%'`` for terms of three characters or more. SQLite has
no such index; the search semantics are the same there, only slower at scale.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS movie_search_text_trgm "
    "ON catalog_movie USING gin (search_text gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS movie_search_text_trgm"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
