"""Each movie's digit pairs, and PostgreSQL's index of them (catalog.search.digit_pairs).

The trigram index cannot serve a term shorter than three characters: for
``the,john,70,7`` it narrowed a million movies by ``the`` and ``john`` alone,
and 13,454 rows were read from the table to keep 402. A term of two
characters with a digit is now sought among the pieces of search_text that
hold a digit, through a GIN index of them (the whole query: 18 ms became 9).
"""

import re

from django.db import migrations, models

# search.digit_pairs as this migration was written, so that it fills the
# column the same whatever the code becomes.
_NOT_SEPARATOR = r"[^\s,\x00-\x1f\x7f-\x9f]"
_DIGIT_PAIR = re.compile(rf"(?=({_NOT_SEPARATOR}[0-9]|[0-9]{_NOT_SEPARATOR}))")
_BATCH = 2_000
_SET_DIGIT_PAIRS = "UPDATE catalog_movie SET digit_pairs = %s WHERE id = %s"


def digit_pairs(document: str) -> str:
    return " ".join(sorted(set(_DIGIT_PAIR.findall(document))))


def fill_digit_pairs(apps, schema_editor):
    Movie = apps.get_model("catalog", "Movie")
    movies = Movie.objects.using(schema_editor.connection.alias).order_by("pk")
    rows = movies.values_list("pk", "search_text")
    with schema_editor.connection.cursor() as cursor:
        batch = []
        for pk, search_text in rows.iterator(chunk_size=_BATCH):
            batch.append((digit_pairs(search_text), pk))
            if len(batch) == _BATCH:
                cursor.executemany(_SET_DIGIT_PAIRS, batch)
                batch = []
        if batch:
            cursor.executemany(_SET_DIGIT_PAIRS, batch)


POSTGRESQL = [
    "CREATE INDEX movie_digit_pairs ON catalog_movie "
    "USING gin (string_to_array(digit_pairs, ' '))",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS movie_digit_pairs"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


# Added in place on both databases: on SQLite, Django's AddField would rebuild
# the table, and with it drop the triggers that keep the word index (migration
# 0009). The default lets code that predates the column still insert.
ADD_COLUMN = "ALTER TABLE catalog_movie ADD COLUMN digit_pairs text NOT NULL DEFAULT ''"
DROP_COLUMN = "ALTER TABLE catalog_movie DROP COLUMN digit_pairs"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_popular_movie_words_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="movie",
                    name="digit_pairs",
                    field=models.TextField(default="", editable=False),
                )
            ],
            database_operations=[migrations.RunSQL(ADD_COLUMN, DROP_COLUMN)],
        ),
        migrations.RunPython(fill_digit_pairs, migrations.RunPython.noop),
        migrations.RunPython(run(POSTGRESQL), run(POSTGRESQL_DROP)),
    ]
