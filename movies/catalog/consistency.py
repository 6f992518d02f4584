"""Whether the catalogue's derived data is what its rows make it, and its repair.

Every derived value is recomputed from the rows by catalog.derived, the
functions the writes use, and compared with what is stored:

- each movie's search_text, name_words, digit_pairs, word_pairs and genre_ids (from its
  links; the id of a genre that no longer exists may stay, see catalog.writes);
- each genre's key, search_name and movie_count;
- the vocabulary: each word's number of movies and genres;
- on SQLite, the word index of names and directors (migration 0009), which
  triggers keep; PostgreSQL's is a generated column and cannot differ.

Writes keep all of it right (catalog.writes); a difference means a change
made behind them: SQL by hand, code that predates a derived column during a
rolling deploy, a restore of part of the tables. Movies are read in batches,
so memory holds one batch and the vocabulary, whatever the catalogue's size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction

from catalog import changes, derived, writes
from catalog.models import Genre, Movie, Word
from catalog.search import DocumentTooLong, name_and_director_lines

Link = Movie.genres.through
BATCH_SIZE = 10_000
_SHOWN_CHARACTERS = 60

MOVIE_COLUMNS = ("search_text", "name_words", "digit_pairs", "word_pairs", "genre_ids")
# A movie's mended columns; those that were right are given as NULL and kept.
_REPAIR_MOVIE = (
    "UPDATE catalog_movie SET search_text = COALESCE(%s, search_text), "
    "name_words = COALESCE(%s, name_words), digit_pairs = COALESCE(%s, digit_pairs), "
    "word_pairs = COALESCE(%s, word_pairs), "
    "genre_ids = COALESCE(%s, genre_ids) WHERE id = %s"
)
# On PostgreSQL a batch goes in by COPY and is mended in one statement.
_MENDED_MOVIES = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS mended_movies (search_text text, name_words text, "
    "digit_pairs text, word_pairs text, genre_ids jsonb, id bigint) ON COMMIT DROP"
)
_COPY_MENDED_MOVIES = "COPY mended_movies FROM STDIN"
_REPAIR_MOVIES = (
    "UPDATE catalog_movie m SET search_text = COALESCE(f.search_text, m.search_text), "
    "name_words = COALESCE(f.name_words, m.name_words), "
    "digit_pairs = COALESCE(f.digit_pairs, m.digit_pairs), "
    "word_pairs = COALESCE(f.word_pairs, m.word_pairs), "
    "genre_ids = COALESCE(f.genre_ids, m.genre_ids) FROM mended_movies f WHERE m.id = f.id"
)
_REPAIR_GENRE = (
    "UPDATE catalog_genre SET key = %s, search_name = %s, movie_count = %s WHERE id = %s"
)
_SET_WORD = (
    "INSERT INTO catalog_word (word, movies) VALUES (%s, %s) "
    "ON CONFLICT (word) DO UPDATE SET movies = excluded.movies"
)
_DELETE_WORD = "DELETE FROM catalog_word WHERE word = %s"
_INDEXED_WORDS = "SELECT rowid, words FROM catalog_movie_words WHERE rowid BETWEEN %s AND %s"
_ORPHAN_INDEX_ROWS = (
    "SELECT rowid FROM catalog_movie_words "
    "WHERE rowid NOT IN (SELECT id FROM catalog_movie) ORDER BY rowid"
)
_DELETE_INDEX_ROW = "DELETE FROM catalog_movie_words WHERE rowid = %s"
_INSERT_INDEX_ROW = "INSERT INTO catalog_movie_words (rowid, words) VALUES (%s, %s)"


@dataclass(frozen=True)
class Difference:
    """One stored value that is not what the rows make it.

    ``subject`` is "movie", "genre", "word", "word index" or "change"; ``key``
    the movie's or genre's id, the word, or for a change "movie 12" or
    "genre 3" (the changes feed's record of it). ``expected`` None: the row
    should not be there.
    """

    subject: str
    key: int | str
    field: str
    stored: Any
    expected: Any

    def __str__(self) -> str:
        return (
            f"{self.subject} {self.key}: {self.field} is {_shown(self.stored)}, "
            f"expected {_shown(self.expected)}"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > _SHOWN_CHARACTERS:
        text = text[: _SHOWN_CHARACTERS - 1] + "…"
    return text


@dataclass
class Report:
    """How many differences of each subject a check found (and a repair mended)."""

    differences: Counter[str]
    movies: int = 0
    genres: int = 0
    repaired: bool = False

    @property
    def total(self) -> int:
        return sum(self.differences.values())


def differences(using: str | None = None) -> Iterator[Difference]:
    """Every difference between the stored derived data and what the rows make it.

    Call it in a transaction that sees one state of the catalogue (check and
    repair do).
    """
    using = using or router.db_for_write(Movie)
    words: Counter[str] = Counter()
    links_per_genre: Counter[int] = Counter()
    genres = {
        pk: (name, key, search_name, movie_count)
        for pk, name, key, search_name, movie_count in Genre.objects.using(using)
        .order_by("pk")
        .values_list("pk", "name", "key", "search_name", "movie_count")
    }
    indexed = connections[using].vendor == "sqlite"
    movies = Movie.objects.using(using).order_by("pk")
    last = 0
    while True:
        batch = list(
            movies.filter(pk__gt=last).values_list(
                "pk", "name", "director", "popularity", "imdb_score", *MOVIE_COLUMNS
            )[:BATCH_SIZE]
        )
        if not batch:
            break
        first, last = batch[0][0], batch[-1][0]
        links: dict[int, set[int]] = {}
        in_batch = Link.objects.using(using).filter(movie_id__gte=first, movie_id__lte=last)
        for movie_id, genre_id in in_batch.values_list("movie_id", "genre_id"):
            links.setdefault(movie_id, set()).add(genre_id)
            links_per_genre[genre_id] += 1
        index = _indexed_words(using, first, last) if indexed else None
        for row in batch:
            yield from _movie_differences(row, links.get(row[0], set()), genres, words, index)
    for pk, (name, key, search_name, movie_count) in genres.items():
        text = derived.genre_text(name)
        stored = {"key": key, "search_name": search_name, "movie_count": movie_count}
        wanted = {
            "key": text.key,
            "search_name": text.search_name,
            "movie_count": links_per_genre[pk],
        }
        for field, value in wanted.items():
            if stored[field] != value:
                yield Difference("genre", pk, field, stored[field], value)
        words.update(derived.genre_words(name))
    yield from _vocabulary_differences(words, using)
    if indexed:
        yield from _orphan_index_rows(using)
    yield from _change_differences(using)


def _movie_differences(
    row: tuple,
    links: set[int],
    genres: dict[int, tuple],
    words: Counter[str],
    index: dict[int, str] | None,
) -> Iterator[Difference]:
    pk, name, director, popularity, imdb_score, *stored = row
    try:
        text = derived.movie_text(
            name=name, director=director, popularity=popularity, imdb_score=imdb_score
        )
    except DocumentTooLong as error:
        yield Difference("movie", pk, "search_text", stored[0], f"none: {error}")
        return
    search_text, name_words, digit_pairs, word_pairs, genre_ids = stored
    # The id of a genre since deleted may stay in genre_ids (catalog.writes).
    linked = {int(key) for key in genre_ids if int(key) in genres}
    wanted_genre_ids = derived.genre_ids_of(links)
    expected = {
        "search_text": text.search_text,
        "name_words": text.name_words,
        "digit_pairs": text.digit_pairs,
        "word_pairs": text.word_pairs,
        "genre_ids": genre_ids if linked == links else wanted_genre_ids,
    }
    for field, value in zip(MOVIE_COLUMNS, stored, strict=True):
        if value != expected[field]:
            yield Difference("movie", pk, field, value, expected[field])
    words.update(derived.movie_words(name, director, text.name_words))
    if index is not None and index.get(pk) != (wanted := index_words(text)):
        yield Difference("word index", pk, "words", index.get(pk), wanted)


def index_words(text: derived.MovieText) -> str:
    """What the SQLite word index holds for a movie (migration 0009's triggers)."""
    _, director_line = name_and_director_lines(text.search_text)
    return f"{text.name_words} {director_line}"


def _indexed_words(using: str, first: int, last: int) -> dict[int, str]:
    with connections[using].cursor() as cursor:
        cursor.execute(_INDEXED_WORDS, [first, last])
        return dict(cursor.fetchall())


def _orphan_index_rows(using: str) -> Iterator[Difference]:
    with connections[using].cursor() as cursor:
        cursor.execute(_ORPHAN_INDEX_ROWS)
        rows = cursor.fetchall()
    for (rowid,) in rows:
        yield Difference("word index", rowid, "words", "(a movie that does not exist)", None)


_UNRECORDED = (
    "SELECT id FROM {table} WHERE NOT EXISTS (SELECT 1 FROM catalog_change c "
    "WHERE c.kind = %s AND c.key = {table}.id AND c.deleted = %s) ORDER BY id"
)
_GONE_UNRECORDED = (
    "SELECT key FROM catalog_change c WHERE c.kind = %s AND c.deleted = %s "
    "AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.id = c.key) ORDER BY key"
)


def _change_differences(using: str) -> Iterator[Difference]:
    """Movies and genres the changes feed never gave, and ones it gives that are gone."""
    with connections[using].cursor() as cursor:
        for kind, model in ((changes.MOVIE, Movie), (changes.GENRE, Genre)):
            table = model._meta.db_table
            cursor.execute(_UNRECORDED.format(table=table), [kind, False])
            for (pk,) in cursor.fetchall():
                yield Difference("change", f"{kind} {pk}", "recorded", None, "written")
            cursor.execute(_GONE_UNRECORDED.format(table=table), [kind, False])
            for (pk,) in cursor.fetchall():
                yield Difference("change", f"{kind} {pk}", "recorded", "written", "deleted")


def _vocabulary_differences(expected: Counter[str], using: str) -> Iterator[Difference]:
    # In batches by word, not a server-side cursor (which transaction pooling refuses).
    stored = Word.objects.using(using).order_by("word").values_list("word", "movies")
    seen: set[str] = set()
    last = ""
    while batch := list(stored.filter(word__gt=last)[:BATCH_SIZE]):
        for word, movies in batch:
            seen.add(word)
            wanted = expected.get(word)
            if wanted != movies:
                yield Difference("word", word, "movies", movies, wanted)
        last = batch[-1][0]
    for word in sorted(set(expected) - seen):
        yield Difference("word", word, "movies", None, expected[word])


def check(using: str | None = None) -> Iterator[Difference]:
    """differences() in one consistent snapshot, writers not held up (PostgreSQL)."""
    using = using or router.db_for_write(Movie)
    connection = connections[using]
    # Inside a transaction already, the check sees what that transaction sees.
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(using=using):
        if snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield from differences(using)


def repair(using: str | None = None) -> Iterator[Difference]:
    """differences(), each mended as it is found, in one write under the catalogue lock.

    Yields what it mends; the repair commits when the iteration ends.
    """
    with writes.catalogue_write(using) as alias:
        mend = _Mending(alias)
        for difference in differences(alias):
            mend.add(difference)
            yield difference
        mend.flush()


class _Mending:
    """Fixes gathered by row and written a batch at a time."""

    def __init__(self, using: str) -> None:
        self.using = using
        self.movies: dict[int, dict[str, Any]] = {}
        self.genres: dict[int, dict[str, Any]] = {}
        self.words: list[tuple[str, int | None]] = []
        self.index: list[tuple[int, str | None]] = []
        self.changes: dict[tuple[str, bool], list[int]] = {}

    def add(self, difference: Difference) -> None:
        if difference.subject == "movie" and isinstance(difference.key, int):
            self.movies.setdefault(difference.key, {})[difference.field] = difference.expected
        elif difference.subject == "genre" and isinstance(difference.key, int):
            self.genres.setdefault(difference.key, {})[difference.field] = difference.expected
        elif difference.subject == "word":
            self.words.append((str(difference.key), difference.expected))
        elif difference.subject == "word index" and isinstance(difference.key, int):
            self.index.append((difference.key, difference.expected))
        elif difference.subject == "change":
            kind, pk = str(difference.key).split()
            gone = difference.expected == "deleted"
            self.changes.setdefault((kind, gone), []).append(int(pk))
        waiting = sum(map(len, self.changes.values()))
        if len(self.movies) + len(self.words) + len(self.index) + waiting >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        with connections[self.using].cursor() as cursor:
            self._movies(cursor)
            self._genres(cursor)
            kept = [(word, movies) for word, movies in self.words if movies is not None]
            gone = [(word,) for word, movies in self.words if movies is None]
            if kept:
                cursor.executemany(_SET_WORD, kept)
            if gone:
                cursor.executemany(_DELETE_WORD, gone)
            for rowid, words in self.index:
                cursor.execute(_DELETE_INDEX_ROW, [rowid])
                if words is not None:
                    cursor.execute(_INSERT_INDEX_ROW, [rowid, words])
        for (kind, deleted), keys in self.changes.items():
            changes.record(kind, keys, using=self.using, deleted=deleted)
        self.movies, self.genres, self.words, self.index = {}, {}, [], []
        self.changes = {}

    def _movies(self, cursor) -> None:
        if not self.movies:
            return
        rows = []
        for pk, fixed in self.movies.items():
            if "genre_ids" in fixed:
                fixed["genre_ids"] = derived.genre_ids_json(int(key) for key in fixed["genre_ids"])
            rows.append((*(fixed.get(column) for column in MOVIE_COLUMNS), pk))
        if cursor.db.vendor != "postgresql":
            cursor.executemany(_REPAIR_MOVIE, rows)
            return
        cursor.execute(_MENDED_MOVIES)
        cursor.execute("TRUNCATE mended_movies")
        with cursor.cursor.copy(_COPY_MENDED_MOVIES) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_REPAIR_MOVIES)

    def _genres(self, cursor) -> None:
        if not self.genres:
            return
        stored = Genre.objects.using(self.using).filter(pk__in=self.genres)
        rows = []
        for pk, key, search_name, movie_count in stored.values_list(
            "pk", "key", "search_name", "movie_count"
        ):
            fixed = {"key": key, "search_name": search_name, "movie_count": movie_count}
            fixed |= self.genres[pk]
            rows.append((fixed["key"], fixed["search_name"], fixed["movie_count"], pk))
        cursor.executemany(_REPAIR_GENRE, rows)
