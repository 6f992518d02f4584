"""Bulk reads and writes of movies in plain SQL, for the importer.

Building a model instance per record costs more than the database's own
work, so the importer's hot path goes through these statements: multi-row
INSERTs on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections

from catalog.search import FIELD_SEPARATOR

_INSERT_MOVIES = (
    "INSERT INTO catalog_movie (name, director, popularity, imdb_score, search_text, "
    "created_at, updated_at) VALUES {rows} RETURNING id, name, director"
)
UPDATE_MOVIE = (
    "UPDATE catalog_movie SET popularity = %s, imdb_score = %s, search_text = %s, "
    "updated_at = %s WHERE id = %s"
)
_INSERT_LINKS = "INSERT INTO catalog_movie_genres (movie_id, genre_id) VALUES {rows}"
# Rows per multi-row INSERT: well under SQLite's and PostgreSQL's parameter limits.
_ROWS_PER_INSERT = 1000


def _insert_rows(cursor, statement: str, rows: list[tuple]) -> list[tuple]:
    """Multi-row INSERTs, returning whatever the statement returns."""
    returned: list[tuple] = []
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        placeholders = "(" + ", ".join(["%s"] * len(chunk[0])) + ")"
        cursor.execute(
            statement.format(rows=", ".join([placeholders] * len(chunk))),
            [value for row in chunk for value in row],
        )
        if cursor.description:
            returned.extend(cursor.fetchall())
    return returned


_COPY_MOVIES = (
    "COPY catalog_movie (id, name, director, popularity, imdb_score, search_text, "
    "created_at, updated_at) FROM STDIN"
)
_COPY_LINKS = "COPY catalog_movie_genres (movie_id, genre_id) FROM STDIN"
_NEXT_MOVIE_IDS = (
    "SELECT nextval(pg_get_serial_sequence('catalog_movie', 'id')) FROM generate_series(1, %s)"
)


def insert_movies(cursor, rows: list[tuple]) -> list[tuple]:
    """Insert movie rows; returns (id, name, director) for each."""
    if connection.vendor != "postgresql":
        return _insert_rows(cursor, _INSERT_MOVIES, rows)
    # COPY is PostgreSQL's fastest way in; ids are drawn from the sequence first.
    cursor.execute(_NEXT_MOVIE_IDS, [len(rows)])
    ids = [pk for (pk,) in cursor.fetchall()]
    with cursor.cursor.copy(_COPY_MOVIES) as copy:
        for pk, row in zip(ids, rows, strict=True):
            copy.write_row((pk, *row))
    return [(pk, row[0], row[1]) for pk, row in zip(ids, rows, strict=True)]


def insert_links(cursor, links: list[tuple[int, int]]) -> None:
    if connection.vendor != "postgresql":
        _insert_rows(cursor, _INSERT_LINKS, links)
        return
    with cursor.cursor.copy(_COPY_LINKS) as copy:
        for link in links:
            copy.write_row(link)


@contextmanager
def secondary_indexes_rebuilt_after(*, catalogue_was_empty: bool) -> Iterator[None]:
    """On PostgreSQL, fill an empty catalogue first and build its indexes after.

    Maintaining the trigram and covering indexes row by row costs several
    times more than building them once. Unique indexes stay: the import reads
    through them. The DDL is part of the import's transaction, so a failed
    import restores them untouched; readers of an empty catalogue wait for it.
    """
    if connection.vendor != "postgresql" or not catalogue_was_empty:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('catalog_movie', 'catalog_movie_genres') "
            "AND indexdef NOT LIKE 'CREATE UNIQUE INDEX%%'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with connection.cursor() as cursor:
        # Deferred foreign-key checks must run before the tables can be indexed.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE catalog_movie")
        cursor.execute("ANALYZE catalog_movie_genres")


def existing_movies(keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """(id, popularity, imdb_score, search_text) by (name, director), for these keys.

    A join against the keys as a VALUES list: one unique-index lookup per key on
    both SQLite and PostgreSQL (an IN list on name alone drags in every movie
    sharing a common title).
    """
    wanted = ", ".join(["(%s, %s)"] * len(keys))
    query = (
        f"WITH wanted(name, director) AS (VALUES {wanted}) "
        "SELECT m.name, m.director, m.id, m.popularity, m.imdb_score, m.search_text "
        "FROM wanted JOIN catalog_movie m "
        "ON m.name = wanted.name AND m.director = wanted.director"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [value for key in keys for value in key])
        return {(name, director): rest for name, director, *rest in cursor.fetchall()}


# search_text starts with the movie's own fields, one a line: name, director,
# popularity and imdb_score. No genre change touches them, so the rebuild
# keeps them from the stored text and writes the genres' lines after them.
MOVIE_LINES = 4

# The rebuild's UPDATE on PostgreSQL. The genres come as two arrays, ids and
# lines, in search_document's order; the movies to rebuild as a subquery. The
# kept lines are read from the row being updated, so a movie saved meanwhile
# keeps its new fields. Rows whose text would not change are not written.
_MOVIE_PART = ", ".join(
    f"split_part(movie.search_text, E'\\n', {line})" for line in range(1, MOVIE_LINES + 1)
)
_REBUILT_TEXT = f"concat_ws(E'\\n', {_MOVIE_PART}, lines.genres)"
_REBUILD_POSTGRESQL = f"""
WITH genre (id, line, rank) AS (
    SELECT * FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY
), target (movie_id) AS (
    {{movies}}
), lines (movie_id, genres) AS (
    SELECT link.movie_id, string_agg(genre.line, E'\\n' ORDER BY genre.rank)
    FROM target
    JOIN catalog_movie_genres AS link ON link.movie_id = target.movie_id
    JOIN genre ON genre.id = link.genre_id
    GROUP BY link.movie_id
)
UPDATE catalog_movie AS movie
SET search_text = {_REBUILT_TEXT}
FROM target LEFT JOIN lines ON lines.movie_id = target.movie_id
WHERE movie.id = target.movie_id AND movie.search_text <> {_REBUILT_TEXT}
"""
# SQLite has no split_part, nor an ordered group_concat before 3.44: a Python
# function, registered on the connection for the statement, rebuilds each text
# from the stored one and the movie's genre ids.
_REBUILD_SQLITE = """
UPDATE catalog_movie SET search_text = rebuilt.text
FROM (
    SELECT id, catalog_rebuilt_search_text(search_text, (
        SELECT group_concat(genre_id) FROM catalog_movie_genres WHERE movie_id = catalog_movie.id
    )) AS text
    FROM catalog_movie WHERE id IN ({movies})
) AS rebuilt
WHERE catalog_movie.id = rebuilt.id AND catalog_movie.search_text <> rebuilt.text
"""
MOVIES_OF_GENRE = "SELECT movie_id FROM catalog_movie_genres WHERE genre_id = %s"
MOVIES_BY_ID = {
    "postgresql": "SELECT DISTINCT unnest(%s::bigint[])",
    "sqlite": "SELECT value FROM json_each(%s)",
}


def rebuild_genre_lines(
    using: str, movies: str, params: list, lines: list[tuple[int, str]]
) -> int:
    """Rewrite the genres' part of search_text for the movies ``movies`` selects.

    ``lines`` are (genre id, line) in search_document's order; returns the
    number of movies whose text changed.
    """
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids = [pk for pk, _ in lines]
            texts = [line for _, line in lines]
            cursor.execute(_REBUILD_POSTGRESQL.format(movies=movies), [ids, texts, *params])
        else:
            connection.connection.create_function(
                "catalog_rebuilt_search_text", 2, _sqlite_rebuilder(lines), deterministic=True
            )
            cursor.execute(_REBUILD_SQLITE.format(movies=movies), params)
        return cursor.rowcount


def _sqlite_rebuilder(lines: list[tuple[int, str]]):
    ranked = {pk: (rank, line) for rank, (pk, line) in enumerate(lines)}

    def rebuilt(text: str, genre_ids: str | None) -> str:
        fields = text.split(FIELD_SEPARATOR, MOVIE_LINES)[:MOVIE_LINES]
        fields += [""] * (MOVIE_LINES - len(fields))  # as split_part does
        if genre_ids:
            found = (ranked.get(int(pk)) for pk in str(genre_ids).split(","))
            fields += [line for _, line in sorted(genre for genre in found if genre)]
        return FIELD_SEPARATOR.join(fields)

    return rebuilt
