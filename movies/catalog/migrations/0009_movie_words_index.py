"""A word index of each movie's name and director, for suggestions.

Suggestions look movies up by whole words and by the prefix of the word being
typed (catalog.suggestions). PostgreSQL: a stored generated column of the
words' tsvector ('simple': no stemming, no stop words) from name_words and the
director's line of search_text, kept by PostgreSQL itself, with a GIN index;
stored, so that a search neither recomputes it per row nor guesses how many
rows it matches. The column is PostgreSQL's own: the model does not read it. SQLite: an FTS5
table of the same words, kept by triggers on catalog_movie, so that every
write path (the ORM, the importer's multi-row INSERTs) keeps it.
"""

from django.db import migrations

POSTGRESQL = [
    "ALTER TABLE catalog_movie ADD COLUMN words tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, name_words || ' ' || split_part(search_text, E'\\n', 2))) "
    "STORED",
    "CREATE INDEX movie_words ON catalog_movie USING gin (words)",
]
POSTGRESQL_DROP = ["ALTER TABLE catalog_movie DROP COLUMN words"]

# The director's line of search_text: what follows the first line break, up to the next.
_AFTER_NAME = "substr({row}.search_text, instr({row}.search_text, char(10)) + 1)"
_DIRECTOR = (
    f"substr({_AFTER_NAME}, 1, instr({_AFTER_NAME} || char(10), char(10)) - 1)"
)
_WORDS = "{row}.name_words || ' ' || " + _DIRECTOR


def _words(row: str) -> str:
    return _WORDS.replace("{row}", row)


SQLITE = [
    "CREATE VIRTUAL TABLE catalog_movie_words USING fts5("
    "words, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')",
    f"INSERT INTO catalog_movie_words (rowid, words) SELECT id, {_words('catalog_movie')} "
    "FROM catalog_movie",
    "CREATE TRIGGER catalog_movie_words_insert AFTER INSERT ON catalog_movie BEGIN "
    f"INSERT INTO catalog_movie_words (rowid, words) VALUES (new.id, {_words('new')}); END",
    "CREATE TRIGGER catalog_movie_words_update AFTER UPDATE OF name_words, search_text "
    "ON catalog_movie BEGIN "
    f"UPDATE catalog_movie_words SET words = {_words('new')} WHERE rowid = new.id; END",
    "CREATE TRIGGER catalog_movie_words_delete AFTER DELETE ON catalog_movie BEGIN "
    "DELETE FROM catalog_movie_words WHERE rowid = old.id; END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS catalog_movie_words_insert",
    "DROP TRIGGER IF EXISTS catalog_movie_words_update",
    "DROP TRIGGER IF EXISTS catalog_movie_words_delete",
    "DROP TABLE IF EXISTS catalog_movie_words",
]


def run(by_vendor):
    def apply(apps, schema_editor):
        for statement in by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_word")]

    operations = [
        migrations.RunPython(
            run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            run({"postgresql": POSTGRESQL_DROP, "sqlite": SQLITE_DROP}),
        )
    ]
