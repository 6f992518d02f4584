"""Set-based SQL for catalog.writes: genres resolved by key, counts moved, imports upserted.

Building a model instance per record costs more than the database's own
work, so an import goes through these statements: multi-row INSERTs on
SQLite, COPY on PostgreSQL, a constant number of statements per batch.
Every function here runs inside a catalog.writes transaction, which holds the
catalogue lock, and takes each derived value from catalog.derived.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog import derived, vocabulary
from catalog.importer import ImportResult, MovieRecord
from catalog.models import MOVIE_FIELDS, Genre, Movie, genre_key

Link = Movie.genres.through
BATCH_SIZE = 2000
Progress = Callable[[int], None]


# Genres


@dataclass(frozen=True)
class ResolvedGenres:
    by_key: dict[str, Genre]
    # Those this call inserted.
    created: list[Genre]

    def __getitem__(self, name: str) -> Genre:
        return self.by_key[genre_key(name)]


_INSERT_MISSING_GENRES = (
    "INSERT INTO catalog_genre (name, key, search_name, movie_count) VALUES {rows} "
    "ON CONFLICT (key) DO NOTHING RETURNING id, name, key, search_name"
)


def missing_genres(names: Iterable[str], using: str) -> list[str]:
    """The names (clean) that no genre has, by key; each once, the first spelling."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(genre_key(name), name)
    found = set(Genre.objects.using(using).filter(key__in=wanted).values_list("key", flat=True))
    return [name for key, name in wanted.items() if key not in found]


def resolve_genres(names: Iterable[str], using: str) -> ResolvedGenres:
    """The genres with these (clean) names, by key, creating the missing ones.

    A new genre is named by the first spelling of its key, and its words join
    the vocabulary.
    """
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(genre_key(name), name)
    genres = Genre.objects.using(using)
    by_key: dict[str, Genre] = {genre.key: genre for genre in genres.filter(key__in=wanted)}
    missing = {key: name for key, name in wanted.items() if key not in by_key}
    created: list[Genre] = []
    if missing:
        rows = ", ".join(["(%s, %s, %s, 0)"] * len(missing))
        params = []
        for name in missing.values():
            text = derived.genre_text(name)
            params += [name, text.key, text.search_name]
        with connections[using].cursor() as cursor:
            cursor.execute(_INSERT_MISSING_GENRES.format(rows=rows), params)
            for pk, name, key, search_name in cursor.fetchall():
                genre = Genre(pk=pk, name=name, key=key, search_name=search_name, movie_count=0)
                genre._state.adding = False
                genre._state.db = using
                created.append(genre)
        by_key.update((genre.key, genre) for genre in created)
        counted: Counter[str] = Counter()
        for genre in created:
            counted.update(derived.genre_words(genre.name))
        vocabulary.shift(counted, using)
    return ResolvedGenres(by_key, created)


# Movie counts


def shift_movie_counts(changes: Mapping[int, int], using: str) -> None:
    """Add each change to its genre's movie_count: one UPDATE per distinct amount."""
    by_amount: dict[int, list[int]] = defaultdict(list)
    for genre_id, amount in changes.items():
        if amount:
            by_amount[amount].append(genre_id)
    for amount, genre_ids in sorted(by_amount.items()):
        Genre.objects.using(using).filter(pk__in=sorted(genre_ids)).update(
            movie_count=F("movie_count") + amount
        )


def recount_movie_counts(genres: QuerySet[Genre]) -> int:
    """Set these genres' movie_count from their links, in one UPDATE."""
    links = Link.objects.using(genres.db).filter(genre=OuterRef("pk"))
    count = links.values("genre").annotate(links=Count("*")).values("links")  # type: ignore[misc]
    # One index scan per genre: a quarter of a second for 2.7 million links on PostgreSQL.
    return genres.update(movie_count=Coalesce(Subquery(count), 0))


# Imports


class _GenreIds:
    """Genres by genre_key, fetched (and created) only when a batch names a new one.

    Those of the last batch are kept, up to GENRES_KEPT: a catalogue names few
    genres, and a file that names a million is read in bounded memory too.
    """

    GENRES_KEPT = 10_000

    def __init__(self, using: str) -> None:
        self.using = using
        self.by_key: dict[str, Genre] = {}
        self.created = 0

    def ensure(self, names: Iterable[str]) -> None:
        # In the file's order: a genre is named as it first appears, and a file
        # gives its genres the same ids every time.
        names = list(names)
        new = [name for name in names if genre_key(name) not in self.by_key]
        if not new:
            return
        if len(self.by_key) + len(new) > self.GENRES_KEPT:
            keep = {genre_key(name) for name in names}
            self.by_key = {key: genre for key, genre in self.by_key.items() if key in keep}
        resolved = resolve_genres(new, self.using)
        self.by_key.update(resolved.by_key)
        self.created += len(resolved.created)

    def ids(self, names: Iterable[str]) -> list[int]:
        return [self.by_key[genre_key(name)].pk for name in names]


class _NewWords:
    """Words of the created movies, written to the vocabulary when many have gathered.

    Counting each batch's words into the vocabulary would rewrite its common
    words' rows once per batch; gathered, a million movies make a handful of
    statements, in memory bounded by FLUSH_AT distinct words.
    """

    FLUSH_AT = 100_000

    def __init__(self, using: str) -> None:
        self.using = using
        self.counted: Counter[str] = Counter()

    def add(self, words: frozenset[str]) -> None:
        self.counted.update(words)
        if len(self.counted) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        vocabulary.shift(self.counted, self.using)
        self.counted = Counter()


class _CreatedKeys:
    """Which movies an import that began on an empty catalogue may have written already.

    Only a key it created can exist, so a batch looks up only the keys whose
    hash is marked in a bitmap of those it created: a repeat, or one in about
    a hundred at a million movies. That is a few lookups instead of 25 s of
    them, for 8 MB. Without ``fresh`` every key is looked up.
    """

    BITS = 1 << 26

    def __init__(self, *, fresh: bool) -> None:
        self.bitmap: bytearray | None = bytearray(self.BITS // 8) if fresh else None

    def maybe_existing(self, keys: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        if self.bitmap is None:
            return list(keys)
        return [key for key in keys if self._marked(self.bitmap, key)]

    def add(self, keys: Iterable[tuple[str, str]]) -> None:
        if self.bitmap is not None:
            for key in keys:
                byte, bit = self._at(key)
                self.bitmap[byte] |= bit

    def _marked(self, bitmap: bytearray, key: tuple[str, str]) -> bool:
        byte, bit = self._at(key)
        return bool(bitmap[byte] & bit)

    def _at(self, key: tuple[str, str]) -> tuple[int, int]:
        """The byte of the bitmap that marks ``key``, and its bit, from one hash."""
        position = hash(key) % self.BITS
        return position >> 3, 1 << (position & 7)


@dataclass
class _Upsert:
    """What one import carries from batch to batch."""

    using: str
    genres: _GenreIds
    new_words: _NewWords
    created_keys: _CreatedKeys
    result: ImportResult = field(default_factory=ImportResult)


def upsert_movies(
    records: Iterable[MovieRecord],
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: Progress | None = None,
    using: str,
) -> ImportResult:
    """Upsert movies by (name, director), each taking its record's genres, in batches.

    A movie repeated in the records: the last occurrence wins. Genre counts
    are left to the caller (one recount at the end).
    """
    empty = not Movie.objects.using(using).exists()
    state = _Upsert(
        using=using,
        genres=_GenreIds(using),
        new_words=_NewWords(using),
        created_keys=_CreatedKeys(fresh=empty),
    )
    state.result.indexes_rebuilt = empty and connections[using].vendor == "postgresql"
    with secondary_indexes_rebuilt_after(using, catalogue_was_empty=empty):
        batch: dict[tuple[str, str], MovieRecord] = {}
        for record in records:
            batch.pop(record.key, None)
            batch[record.key] = record
            if len(batch) >= batch_size:
                _write_batch(batch, state)
                batch = {}
                if on_batch:
                    on_batch(state.result.total)
        if batch:
            _write_batch(batch, state)
        state.new_words.flush()
    state.result.genres_created = state.genres.created
    return state.result


def _write_batch(records: dict[tuple[str, str], MovieRecord], state: _Upsert) -> None:
    """Upsert one batch with a handful of statements, whatever its size."""
    using, result = state.using, state.result
    state.genres.ensure(name for record in records.values() for name in record.genres)
    lookup = state.created_keys.maybe_existing(records)
    existing = existing_movies(lookup, using) if lookup else {}
    current_links: dict[int, set[int]] = {row[0]: set() for row in existing.values()}
    links_now = Link.objects.using(using).filter(movie_id__in=current_links)
    for movie_id, genre_id in links_now.values_list("movie_id", "genre_id"):
        current_links[movie_id].add(genre_id)

    now = connections[using].ops.adapt_datetimefield_value(timezone.now())
    new_rows: list[tuple] = []
    new_genres: dict[tuple[str, str], list[int]] = {}
    new_words: dict[tuple[str, str], frozenset[str]] = {}
    updates: list[tuple] = []
    relink: dict[int, list[int]] = {}
    for key, record in records.items():
        genre_ids = state.genres.ids(record.genres)
        ids_json = derived.genre_ids_json(genre_ids)
        text = record.text()
        row = existing.get(key)
        if row is None:
            new_rows.append(
                (
                    *(getattr(record, name) for name in MOVIE_FIELDS),
                    text.search_text,
                    text.name_words,
                    text.digit_pairs,
                    text.word_pairs,
                    ids_json,
                    now,
                    now,
                )
            )
            new_genres[key] = genre_ids
            new_words[key] = derived.movie_words(record.name, record.director, text.name_words)
            continue
        pk, *stored, old_text = row
        fields = [getattr(record, name) for name in UPDATED_FIELDS]
        genres_changed = current_links[pk] != set(genre_ids)
        same_fields = (*stored, old_text) == (*fields, text.search_text)
        if same_fields and not genres_changed:
            result.unchanged += 1
            continue
        # The key is the name and director: an update never changes the
        # movie's words, nor so the vocabulary.
        updates.append(
            (
                *fields,
                text.search_text,
                text.name_words,
                text.digit_pairs,
                text.word_pairs,
                ids_json,
                now,
                pk,
            )
        )
        if genres_changed:
            relink[pk] = genre_ids

    with connections[using].cursor() as cursor:
        created = insert_movies(cursor, new_rows) if new_rows else []
        if updates:
            cursor.executemany(UPDATE_MOVIE, updates)
        if relink:
            Link.objects.using(using).filter(movie_id__in=relink).delete()
        links = [
            (pk, genre_id)
            for pk, name, director in created
            for genre_id in new_genres[(name, director)]
        ]
        links += [(pk, genre_id) for pk, genre_ids in relink.items() for genre_id in genre_ids]
        if links:
            insert_links(cursor, links)
    for _, name, director in created:
        state.new_words.add(new_words[(name, director)])
    state.created_keys.add((name, director) for _, name, director in created)
    result.created += len(created)
    result.updated += len(updates)


# The statements

# A movie's columns as a batch writes them: its own fields (catalog.models.MOVIE_FIELDS,
# its key first), what derives from them, the times. An update finds a movie by its key.
KEY_FIELDS = ("name", "director")
UPDATED_FIELDS = tuple(name for name in MOVIE_FIELDS if name not in KEY_FIELDS)
_DERIVED_COLUMNS = ("search_text", "name_words", "digit_pairs", "word_pairs", "genre_ids")
_INSERTED = ", ".join((*MOVIE_FIELDS, *_DERIVED_COLUMNS, "created_at", "updated_at"))
_INSERT_MOVIES = (
    f"INSERT INTO catalog_movie ({_INSERTED}) VALUES {{rows}} RETURNING id, name, director"
)
UPDATE_MOVIE = (
    "UPDATE catalog_movie SET "
    + ", ".join(f"{name} = %s" for name in (*UPDATED_FIELDS, *_DERIVED_COLUMNS, "updated_at"))
    + " WHERE id = %s"
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


_COPY_MOVIES = f"COPY catalog_movie (id, {_INSERTED}) FROM STDIN"
_COPY_LINKS = "COPY catalog_movie_genres (movie_id, genre_id) FROM STDIN"
_NEXT_MOVIE_IDS = (
    "SELECT nextval(pg_get_serial_sequence('catalog_movie', 'id')) FROM generate_series(1, %s)"
)


def insert_movies(cursor, rows: list[tuple]) -> list[tuple]:
    """Insert movie rows; returns (id, name, director) for each."""
    if cursor.db.vendor != "postgresql":
        return _insert_rows(cursor, _INSERT_MOVIES, rows)
    # COPY is PostgreSQL's fastest way in; ids are drawn from the sequence first.
    cursor.execute(_NEXT_MOVIE_IDS, [len(rows)])
    ids = [pk for (pk,) in cursor.fetchall()]
    with cursor.cursor.copy(_COPY_MOVIES) as copy:
        for pk, row in zip(ids, rows, strict=True):
            copy.write_row((pk, *row))
    return [(pk, row[0], row[1]) for pk, row in zip(ids, rows, strict=True)]


def insert_links(cursor, links: list[tuple[int, int]]) -> None:
    if cursor.db.vendor != "postgresql":
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
def secondary_indexes_rebuilt_after(using: str, *, catalogue_was_empty: bool) -> Iterator[None]:
    """On PostgreSQL, fill an empty catalogue first and build its indexes after.

    Maintaining the trigram and covering indexes row by row costs several
    times more than building them once. Unique indexes stay: the import reads
    through them. The links' foreign keys go too and come back checked in one
    join each, instead of a trigger per link (24 s for 2.7 million links).
    The DDL is part of the import's transaction, so a failed import restores
    them untouched; readers of an empty catalogue wait for it.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not catalogue_was_empty:
        yield
        return
    with connection.cursor() as cursor:
        # Foreign-key checks this transaction deferred (links it deleted before
        # the import) must run before their table can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
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


def existing_movies(keys: list[tuple[str, str]], using: str) -> dict[tuple[str, str], tuple]:
    """(id, *UPDATED_FIELDS, search_text) by (name, director), for these keys.

    A join against the keys: one unique-index lookup per key on both SQLite
    and PostgreSQL (an IN list on name alone drags in every movie sharing a
    common title). PostgreSQL takes them as two arrays: as many placeholders
    as keys cost the driver more than the lookups (a third of an import).
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        wanted = "SELECT * FROM unnest(%s::text[], %s::text[])"
        params: list = [[name for name, _ in keys], [director for _, director in keys]]
    else:
        wanted = "VALUES " + ", ".join(["(%s, %s)"] * len(keys))
        params = [value for key in keys for value in key]
    query = (
        f"WITH wanted(name, director) AS ({wanted}) "
        "SELECT m.name, m.director, m.id, "
        + "".join(f"m.{name}, " for name in UPDATED_FIELDS)
        + "m.search_text "
        "FROM wanted JOIN catalog_movie m "
        "ON m.name = wanted.name AND m.director = wanted.director"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {(name, director): rest for name, director, *rest in cursor.fetchall()}


# Rows an import writes past which it vacuums the catalogue's tables itself.
VACUUM_AFTER = 50_000


def vacuum_catalogue(using: str, *, analyzed: bool = False) -> None:
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
    connection = connections[using]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for table in ("catalog_movie", "catalog_movie_genres", "catalog_word"):
            analyze = table == "catalog_word" or not analyzed
            cursor.execute(f"VACUUM {'(ANALYZE) ' if analyze else ''}{table}")
