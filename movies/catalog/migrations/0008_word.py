"""The catalogue's vocabulary (catalog.vocabulary), filled from the catalogue.

Each movie's name and director are the first two lines of its search_text,
already normalised, and each genre's name is its search_name: the fill reads
those in chunks by id and counts their words in Python, then inserts the words
in multi-row INSERTs. On PostgreSQL the words get a trigram index (candidates
for a correction) and the words pg_trgm would split differently a partial
index by length.

The rules are copied here as they were when this migration was written:
migrations must not change when the code does.
"""

import re
from collections import Counter

import django.db.models.functions.text
from django.db import migrations, models

_WORD = re.compile(r"\w+")
CHUNK = 20_000
ROWS_PER_INSERT = 500


def words_of(line):
    return {word for word in _WORD.findall(line) if not any(c.isdigit() for c in word)}


def fill(apps, schema_editor):
    connection = schema_editor.connection
    counted = Counter()
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, search_text FROM catalog_movie WHERE id > %s ORDER BY id LIMIT %s",
                [last, CHUNK],
            )
            rows = cursor.fetchall()
            if not rows:
                break
            for _, text in rows:
                lines = text.split("\n")
                counted.update(words_of(lines[0]) | words_of(lines[1] if len(lines) > 1 else ""))
            last = rows[-1][0]
        cursor.execute("SELECT search_name FROM catalog_genre")
        for (name,) in cursor.fetchall():
            counted.update(words_of(name))
        rows = sorted(counted.items())
        for start in range(0, len(rows), ROWS_PER_INSERT):
            chunk = rows[start : start + ROWS_PER_INSERT]
            cursor.execute(
                "INSERT INTO catalog_word (word, movies) VALUES "
                + ", ".join(["(%s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )


def empty(apps, schema_editor):
    schema_editor.execute("DELETE FROM catalog_word")


POSTGRESQL_INDEXES = [
    "CREATE INDEX IF NOT EXISTS word_trgm ON catalog_word USING gin (word gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS word_not_plain_length ON catalog_word (length(word)) "
    "WHERE word !~ '^[a-z]+$'",
]
DROP_POSTGRESQL_INDEXES = [
    "DROP INDEX IF EXISTS word_trgm",
    "DROP INDEX IF EXISTS word_not_plain_length",
]


def postgresql_only(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_genre_names_out_of_search_text")]

    operations = [
        migrations.CreateModel(
            name="Word",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("word", models.TextField(unique=True)),
                ("movies", models.IntegerField()),
            ],
            options={
                "indexes": [
                    models.Index(django.db.models.functions.text.Length("word"), name="word_length")
                ],
            },
        ),
        migrations.RunPython(fill, empty),
        migrations.RunPython(
            postgresql_only(POSTGRESQL_INDEXES), postgresql_only(DROP_POSTGRESQL_INDEXES)
        ),
    ]
