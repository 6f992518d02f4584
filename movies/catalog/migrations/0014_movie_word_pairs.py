"""Each movie's pairs of adjacent words, and PostgreSQL's index of them (catalog.search.word_pairs).

A phrase was found through the trigram index by its words, which knows
nothing of their order: ``"the at"`` read 212,581 rows holding ``the`` to
count 1,001 matches (1,048 ms at a million movies). A phrase is now sought
first among the movies' pairs of adjacent words, through a GIN index of them.
"""

import re

from django.db import migrations, models

# search.word_pairs as this migration was written, so that it fills the
# column the same whatever the code becomes.
_WORDS = re.compile(r"\w+")
_BATCH = 2_000
_SET_WORD_PAIRS = "UPDATE catalog_movie SET word_pairs = %s WHERE id = %s"


def word_pairs(document: str) -> str:
    pairs = set()
    for line in document.split("\n"):
        found = _WORDS.findall(line)
        pairs.update(map("/".join, zip(found, found[1:])))
    return " ".join(sorted(pairs))


def fill_word_pairs(apps, schema_editor):
    Movie = apps.get_model("catalog", "Movie")
    movies = Movie.objects.using(schema_editor.connection.alias).order_by("pk")
    rows = movies.values_list("pk", "search_text")
    with schema_editor.connection.cursor() as cursor:
        batch = []
        for pk, search_text in rows.iterator(chunk_size=_BATCH):
            batch.append((word_pairs(search_text), pk))
            if len(batch) == _BATCH:
                cursor.executemany(_SET_WORD_PAIRS, batch)
                batch = []
        if batch:
            cursor.executemany(_SET_WORD_PAIRS, batch)


POSTGRESQL = [
    "CREATE INDEX movie_word_pairs ON catalog_movie "
    "USING gin (string_to_array(word_pairs, ' '))",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS movie_word_pairs"]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return apply


# Added in place on both databases, as digit_pairs was (migration 0011): on
# SQLite, Django's AddField would rebuild the table and drop the triggers of
# the word index. The default lets code that predates the column still insert.
ADD_COLUMN = "ALTER TABLE catalog_movie ADD COLUMN word_pairs text NOT NULL DEFAULT ''"
DROP_COLUMN = "ALTER TABLE catalog_movie DROP COLUMN word_pairs"


class Migration(migrations.Migration):
    dependencies = [("catalog", "0013_changes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="movie",
                    name="word_pairs",
                    field=models.TextField(default="", editable=False),
                )
            ],
            database_operations=[migrations.RunSQL(ADD_COLUMN, DROP_COLUMN)],
        ),
        migrations.RunPython(fill_word_pairs, migrations.RunPython.noop),
        migrations.RunPython(run(POSTGRESQL), run(POSTGRESQL_DROP)),
    ]
