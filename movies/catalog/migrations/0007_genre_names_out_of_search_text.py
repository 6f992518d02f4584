"""Genre names leave the movies' search_text; each genre stores its own.
Each movie stores its name's words (``Movie.name_words``) for ranking.

A term now matches a genre through ``Genre.search_name`` and the ids of the
movie's genres, kept on its row (``Movie.genre_ids``, catalog.search), so
renaming or deleting a genre rewrites no movie row. Each movie's search_text
keeps its first four lines (name, director, popularity, imdb_score) and loses
the genres' lines after them. At a million movies this rewrites every movie
that has a genre, once, with the order indexes dropped meanwhile.

The rules are copied here as they were when this migration was written:
migrations must not change when the code does.
"""

import re
import unicodedata

from django.db import migrations, models

MOVIE_LINES = 4
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def field_line(text):
    if text.isascii():
        folded = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _CONTROL_CHARACTERS.sub(" ", folded)


_WORDS = re.compile(r"\w+")


def words(text):
    return " ".join(_WORDS.findall(field_line(text)))


def movie_lines(text):
    return "\n".join(text.split("\n")[:MOVIE_LINES])


# One pass over every movie: its name's words (computed in Python, as the code
# computes them, and brought in through a temporary table on PostgreSQL), its
# text without genre lines and its genre ids (none without links).
_NAME_WORDS_TABLE = "CREATE TEMPORARY TABLE movie_name_words (id bigint PRIMARY KEY, words text)"
_SPLIT_POSTGRESQL = """
UPDATE catalog_movie AS movie
SET search_text = array_to_string((string_to_array(search_text, E'\\n'))[1:%s], E'\\n'),
    name_words = named.words,
    genre_ids = coalesce(linked.ids, '{}'::jsonb)
FROM movie_name_words AS named
LEFT JOIN (
    SELECT movie_id, jsonb_object_agg(genre_id::text, true) AS ids
    FROM catalog_movie_genres GROUP BY movie_id
) AS linked ON linked.movie_id = named.id
WHERE movie.id = named.id
"""
_SPLIT_SQLITE = """
UPDATE catalog_movie
SET search_text = catalog_movie_lines(search_text),
    name_words = catalog_words(name),
    genre_ids = coalesce((
        SELECT json_group_object(CAST(genre_id AS TEXT), json('true'))
        FROM catalog_movie_genres WHERE movie_id = catalog_movie.id
    ), '{}')
"""
GENRE_IDS_INDEX = [
    "CREATE INDEX IF NOT EXISTS movie_genre_ids_gin ON catalog_movie USING gin (genre_ids)"
]
DROP_GENRE_IDS_INDEX = ["DROP INDEX IF EXISTS movie_genre_ids_gin"]


def genre_names_out_of_search_text(apps, schema_editor):
    alias = schema_editor.connection.alias
    Genre = apps.get_model("catalog", "Genre")
    for genre in Genre.objects.using(alias).only("pk", "name"):
        Genre.objects.using(alias).filter(pk=genre.pk).update(search_name=field_line(genre.name))

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_NAME_WORDS_TABLE)
            cursor.execute("SELECT id, name FROM catalog_movie")
            named = [(pk, words(name)) for pk, name in cursor.fetchall()]
            with cursor.cursor.copy("COPY movie_name_words (id, words) FROM STDIN") as copy:
                for row in named:
                    copy.write_row(row)
            cursor.execute(_SPLIT_POSTGRESQL, [MOVIE_LINES])
            cursor.execute("DROP TABLE movie_name_words")
        else:
            connection.connection.create_function(
                "catalog_movie_lines", 1, movie_lines, deterministic=True
            )
            connection.connection.create_function("catalog_words", 1, words, deterministic=True)
            cursor.execute(_SPLIT_SQLITE)


def postgresql_only(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def genre_names_back_into_search_text(apps, schema_editor):
    """Each movie's genres' lines again, sorted by raw name, as the code before wrote them."""
    alias = schema_editor.connection.alias
    Movie = apps.get_model("catalog", "Movie")
    Link = Movie.genres.through
    names: dict[int, list[str]] = {}
    for movie_id, name in Link.objects.using(alias).values_list("movie_id", "genre__name"):
        names.setdefault(movie_id, []).append(name)
    ids = sorted(names)
    for start in range(0, len(ids), 2000):
        chunk = Movie.objects.using(alias).filter(pk__in=ids[start : start + 2000])
        movies = list(chunk.only("pk", "search_text"))
        for movie in movies:
            genre_lines = [field_line(name) for name in sorted(names[movie.pk])]
            movie.search_text = "\n".join([movie_lines(movie.search_text), *genre_lines])
        Movie.objects.using(alias).bulk_update(movies, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_genre_key_and_clean_text")]

    operations = [
        migrations.RemoveIndex(model_name="movie", name="movie_popularity_id"),
        migrations.RemoveIndex(model_name="movie", name="movie_imdb_score_id"),
        migrations.AddField(
            model_name="genre",
            name="search_name",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="movie",
            name="genre_ids",
            field=models.JSONField(default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="movie",
            name="name_words",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(
            genre_names_out_of_search_text, genre_names_back_into_search_text
        ),
        migrations.AddIndex(
            model_name="movie",
            index=models.Index(
                fields=["popularity", "id"],
                include=("search_text", "genre_ids"),
                name="movie_popularity_id",
            ),
        ),
        migrations.AddIndex(
            model_name="movie",
            index=models.Index(
                fields=["imdb_score", "id"],
                include=("search_text", "genre_ids"),
                name="movie_imdb_score_id",
            ),
        ),
        migrations.AddIndex(
            model_name="movie",
            index=models.Index(
                fields=["name_words"],
                include=("popularity", "id"),
                name="movie_name_words",
                opclasses=["text_pattern_ops"],
            ),
        ),
        migrations.RunPython(
            postgresql_only(GENRE_IDS_INDEX), postgresql_only(DROP_GENRE_IDS_INDEX)
        ),
    ]
