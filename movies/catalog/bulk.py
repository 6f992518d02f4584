"""Bulk reads and writes of movies in plain SQL, for the importer.

Building a model instance per record costs more than the database's own
work, so the importer's hot path goes through these statements: multi-row
INSERTs on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_INSERT_MOVIES = (
    "INSERT INTO catalog_movie (name, director, popularity, imdb_score, search_text, "
    "name_words, digit_pairs, genre_ids, created_at, updated_at) VALUES {rows} "
    "RETURNING id, name, director"
)
UPDATE_MOVIE = (
    "UPDATE catalog_movie SET popularity = %s, imdb_score = %s, search_text = %s, "
    "digit_pairs = %s, genre_ids = %s, updated_at = %s WHERE id = %s"
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
    "name_words, digit_pairs, genre_ids, created_at, updated_at) FROM STDIN"
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


_LINK_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'catalog_movie_genres'::regclass AND contype = 'f'"
)


@contextmanager
def secondary_indexes_rebuilt_after(*, catalogue_was_empty: bool) -> Iterator[None]:
    """On PostgreSQL, fill an empty catalogue first and build its indexes after.

    Maintaining the trigram and covering indexes row by row costs several
    times more than building them once. Unique indexes stay: the import reads
    through them. The links' foreign keys go too and come back checked in one
    join each, instead of a trigger per link (24 s for 2.7 million links).
    The DDL is part of the import's transaction, so a failed import restores
    them untouched; readers of an empty catalogue wait for it.
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
        cursor.execute(_LINK_FOREIGN_KEYS)
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE catalog_movie_genres DROP CONSTRAINT "{name}"')
    yield
    with connection.cursor() as cursor:
        # Deferred foreign-key checks must run before the tables can be indexed.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for name, definition in foreign_keys:
            add = f'ALTER TABLE catalog_movie_genres ADD CONSTRAINT "{name}" {definition}'
            cursor.execute(add)
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE catalog_movie")
        cursor.execute("ANALYZE catalog_movie_genres")


def existing_movies(keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """(id, popularity, imdb_score, search_text) by (name, director), for these keys.

    A join against the keys: one unique-index lookup per key on both SQLite
    and PostgreSQL (an IN list on name alone drags in every movie sharing a
    common title). PostgreSQL takes them as two arrays: as many placeholders
    as keys cost the driver more than the lookups (a third of an import).
    """
    if connection.vendor == "postgresql":
        wanted = "SELECT * FROM unnest(%s::text[], %s::text[])"
        params: list = [[name for name, _ in keys], [director for _, director in keys]]
    else:
        wanted = "VALUES " + ", ".join(["(%s, %s)"] * len(keys))
        params = [value for key in keys for value in key]
    query = (
        f"WITH wanted(name, director) AS ({wanted}) "
        "SELECT m.name, m.director, m.id, m.popularity, m.imdb_score, m.search_text "
        "FROM wanted JOIN catalog_movie m "
        "ON m.name = wanted.name AND m.director = wanted.director"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {(name, director): rest for name, director, *rest in cursor.fetchall()}


# Rows an import writes past which it vacuums the catalogue's tables itself.
VACUUM_AFTER = 50_000


def vacuum_catalogue(*, analyzed: bool = False) -> None:
    """VACUUM (ANALYZE) the catalogue's tables on PostgreSQL, after a large import.

    Until a vacuum marks their pages all-visible, index-only scans, which the
    searches rely on, visit the table for every entry: a search at offset
    5,000 took 128 ms instead of 34 right after loading a million movies.
    Autovacuum gets there eventually; a large import does it at once. VACUUM
    cannot run in a transaction: inside one (an import within an outer
    transaction) it is left to autovacuum. ``analyzed``: the movies and their
    links were analysed as their indexes were built, so only the vocabulary
    is (3 s less at a million movies).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for table in ("catalog_movie", "catalog_movie_genres", "catalog_word"):
            analyze = table == "catalog_word" or not analyzed
            cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{table}")
