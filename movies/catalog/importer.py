"""Reading, validating and writing catalogue files.

The catalogue format is the legacy service's, unchanged: a JSON array of
objects with the keys ``99popularity``, ``director``, ``genre`` (a list of
names, possibly padded with spaces), ``imdb_score`` and ``name``.

An import is one transaction: the file is streamed (memory does not grow with
it), validated record by record and written in batches with a constant number
of queries per batch; the first invalid record aborts it and nothing is
written. Movies are upserted by (name, director) and take the file's genres;
the genres' movie counts are recounted once, at the end. The words of the
movies it creates are counted as it goes and join the vocabulary in a few
statements (an update never changes a movie's name or director, so never its
words).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from catalog import bulk, reading, search, upkeep, vocabulary
from catalog.models import (
    GENRE_NAME_MAX_LENGTH,
    IMDB_SCORE_RANGE,
    MAX_GENRES,
    MOVIE_TEXT_MAX_LENGTH,
    POPULARITY_RANGE,
    Genre,
    Movie,
    genre_key,
)
from catalog.text import InvalidText, clean_text

BATCH_SIZE = 2000
FILE_NOT_FOUND = "Catalogue file not found: {path}"
NOT_A_FILE = "Catalogue path is not a readable file: {path}"
NOT_AN_OBJECT = "record {index}: expected a JSON object, got {kind}"
MISSING_FIELD = 'record {index}: field "{field}" is missing'
NOT_A_STRING = 'record {index}: field "{field}" must be a non-empty string'
TOO_LONG = 'record {index}: field "{field}" is longer than {max_length} characters'
NOT_A_NUMBER = (
    'record {index}: field "{field}" must be a number from {low:g} to {high:g}, got {value!r}'
)
NOT_A_GENRE_LIST = 'record {index}: field "genre" must be a list of non-empty strings'
GENRE_TOO_LONG = (
    'record {index}: field "genre": item {item} is longer than {max_length} characters'
)
TOO_MANY_GENRES = f'record {{index}}: field "genre" has more than {MAX_GENRES} names'
INVALID_TEXT = 'record {index}: field "{field}": {reason}'
CONFLICT = "The catalogue changed while importing ({reason}); nothing was written. Try again."
REFUSED = "The database stopped the import ({reason}); nothing was written. Try again."


class CatalogueError(Exception):
    """A catalogue that cannot be imported; the message names the record and field."""


@dataclass(frozen=True)
class MovieRecord:
    index: int
    name: str
    director: str
    popularity: float
    imdb_score: float
    genres: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.director)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    genres_created: int = 0
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def _clean(value: str, index: int, field: str) -> str:
    try:
        return clean_text(value)
    except InvalidText as error:
        raise CatalogueError(INVALID_TEXT.format(index=index, field=field, reason=error)) from None


def _text(raw: Mapping[str, Any], index: int, name: str, max_length: int) -> str:
    value = raw[name]
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(NOT_A_STRING.format(index=index, field=name))
    value = _clean(value, index, name)
    if len(value) > max_length:
        raise CatalogueError(TOO_LONG.format(index=index, field=name, max_length=max_length))
    return value


def _number(raw: Mapping[str, Any], index: int, name: str, bounds: tuple[float, float]) -> float:
    value = raw[name]
    low, high = bounds
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise CatalogueError(
            NOT_A_NUMBER.format(index=index, field=name, low=low, high=high, value=value)
        )
    return float(value)


def _genres(raw: Mapping[str, Any], index: int) -> tuple[str, ...]:
    value = raw["genre"]
    if not isinstance(value, list) or not all(
        isinstance(item, str) and item.strip() for item in value
    ):
        raise CatalogueError(NOT_A_GENRE_LIST.format(index=index))
    if len(value) > MAX_GENRES:
        raise CatalogueError(TOO_MANY_GENRES.format(index=index))
    unique: dict[str, str] = {}
    for item, text in enumerate(value):
        name = _clean(text, index, "genre")
        if len(name) > GENRE_NAME_MAX_LENGTH:
            raise CatalogueError(
                GENRE_TOO_LONG.format(index=index, item=item, max_length=GENRE_NAME_MAX_LENGTH)
            )
        unique.setdefault(genre_key(name), name)
    return tuple(unique.values())


def validate_record(index: int, raw: Any) -> MovieRecord:
    """Check one raw record (its position in the file is ``index``)."""
    if not isinstance(raw, dict):
        raise CatalogueError(NOT_AN_OBJECT.format(index=index, kind=type(raw).__name__))
    for name in ("name", "director", "99popularity", "imdb_score", "genre"):
        if name not in raw:
            raise CatalogueError(MISSING_FIELD.format(index=index, field=name))
    return MovieRecord(
        index=index,
        name=_text(raw, index, "name", MOVIE_TEXT_MAX_LENGTH),
        director=_text(raw, index, "director", MOVIE_TEXT_MAX_LENGTH),
        popularity=_number(raw, index, "99popularity", POPULARITY_RANGE),
        imdb_score=_number(raw, index, "imdb_score", IMDB_SCORE_RANGE),
        genres=_genres(raw, index),
    )


def read_records(stream: IO[bytes]) -> Iterator[Any]:
    """Stream the raw elements of the top-level JSON array, read front to back.

    Raises CatalogueError naming the record (and field) that cannot be read;
    the bounds on a record's size and nesting are catalog.reading's.
    """
    try:
        for _index, raw in reading.read_records(stream):
            yield raw
    except reading.UnreadableCatalogue as error:
        raise CatalogueError(str(error)) from None


class _GenreIds:
    """Genres by genre_key, fetched (and created) only when a batch names a new one.

    Those of the last batch are kept, up to GENRES_KEPT: a catalogue names few
    genres, and a file that names a million is read in bounded memory too.
    """

    GENRES_KEPT = 10_000

    def __init__(self) -> None:
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
        resolved = Genre.objects.resolve(new)
        self.by_key.update(resolved.by_key)
        self.created += len(resolved.created)

    def resolve(self, names: Iterable[str]) -> list[Genre]:
        return [self.by_key[genre_key(name)] for name in names]


@dataclass
class _Batch:
    records: dict[tuple[str, str], MovieRecord] = field(default_factory=dict)

    def add(self, record: MovieRecord) -> None:
        # A movie repeated in the file: the last occurrence wins.
        self.records.pop(record.key, None)
        self.records[record.key] = record


class _NewWords:
    """Words of the created movies, written to the vocabulary when many have gathered.

    Counting each batch's words into the vocabulary would rewrite its common
    words' rows once per batch; gathered, a million movies make a handful of
    statements, in memory bounded by FLUSH_AT distinct words.
    """

    FLUSH_AT = 100_000

    def __init__(self) -> None:
        self.counted: Counter[str] = Counter()

    def add(self, name: str, director: str, name_words: str) -> None:
        self.counted.update(vocabulary.movie_words(name, director, name_words=name_words))
        if len(self.counted) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        vocabulary.shift(self.counted, connection.alias)
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


def _write_batch(
    batch: _Batch,
    genres: _GenreIds,
    new_words: _NewWords,
    created_keys: _CreatedKeys,
    result: ImportResult,
) -> None:
    """Upsert one batch with a handful of statements, whatever its size (see catalog.bulk)."""
    records = batch.records
    genres.ensure(name for record in records.values() for name in record.genres)
    lookup = created_keys.maybe_existing(records)
    existing = bulk.existing_movies(lookup) if lookup else {}
    Link = Movie.genres.through
    current_links: dict[int, set[int]] = {row[0]: set() for row in existing.values()}
    for movie_id, genre_id in Link.objects.filter(movie_id__in=current_links).values_list(
        "movie_id", "genre_id"
    ):
        current_links[movie_id].add(genre_id)

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    new_rows: list[tuple] = []
    new_genres: dict[tuple[str, str], list[int]] = {}
    new_name_words: dict[tuple[str, str], str] = {}
    updates: list[tuple] = []
    relink: dict[int, list[int]] = {}
    for key, record in records.items():
        genre_ids = [genre.pk for genre in genres.resolve(record.genres)]
        ids_json = json.dumps(upkeep.genre_ids_of(genre_ids))
        try:
            text = search.search_document(
                name=record.name,
                director=record.director,
                popularity=record.popularity,
                imdb_score=record.imdb_score,
            )
        except search.DocumentTooLong as error:
            raise CatalogueError(
                INVALID_TEXT.format(index=record.index, field=error.field, reason=error)
            ) from None
        row = existing.get(key)
        if row is None:
            name_words = search.words(record.name)
            new_rows.append(
                (
                    *key,
                    record.popularity,
                    record.imdb_score,
                    text,
                    name_words,
                    search.digit_pairs(text),
                    ids_json,
                    now,
                    now,
                )
            )
            new_genres[key] = genre_ids
            new_name_words[key] = name_words
            continue
        pk, popularity, imdb_score, old_text = row
        genres_changed = current_links[pk] != set(genre_ids)
        same_fields = (popularity, imdb_score, old_text) == (
            record.popularity,
            record.imdb_score,
            text,
        )
        if same_fields and not genres_changed:
            result.unchanged += 1
            continue
        pairs = search.digit_pairs(text)
        updates.append((record.popularity, record.imdb_score, text, pairs, ids_json, now, pk))
        if genres_changed:
            relink[pk] = genre_ids

    with connection.cursor() as cursor:
        created = bulk.insert_movies(cursor, new_rows) if new_rows else []
        if updates:
            cursor.executemany(bulk.UPDATE_MOVIE, updates)
        if relink:
            Link.objects.filter(movie_id__in=relink).delete()
        links = [
            (pk, genre_id)
            for pk, name, director in created
            for genre_id in new_genres[(name, director)]
        ]
        links += [(pk, genre_id) for pk, genre_ids in relink.items() for genre_id in genre_ids]
        if links:
            bulk.insert_links(cursor, links)
    for _, name, director in created:
        new_words.add(name, director, new_name_words[(name, director)])
    created_keys.add((name, director) for _, name, director in created)
    result.created += len(created)
    result.updated += len(updates)


def import_records(
    *,
    records: Iterable[Any],
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate and upsert raw catalogue records, all or nothing.

    Raises CatalogueError naming the first invalid record and field; the
    database is then exactly as it was.
    """
    started = time.perf_counter()
    result = ImportResult()
    try:
        with transaction.atomic():
            genres = _GenreIds()
            new_words = _NewWords()
            batch = _Batch()
            empty = not Movie.objects.exists()
            created_keys = _CreatedKeys(fresh=empty)
            with bulk.secondary_indexes_rebuilt_after(catalogue_was_empty=empty):
                for index, raw in enumerate(records):
                    batch.add(validate_record(index, raw))
                    if len(batch.records) >= batch_size:
                        _write_batch(batch, genres, new_words, created_keys, result)
                        batch = _Batch()
                        if on_batch:
                            on_batch(result.total)
                if batch.records:
                    _write_batch(batch, genres, new_words, created_keys, result)
                new_words.flush()
            result.genres_created = genres.created
            if result.created or result.updated or result.genres_created:
                upkeep.bump_version()
            if result.created or result.updated:
                # The links went in by COPY, past the signals. Under the lock
                # the bump holds, so no writer is halfway through a count.
                upkeep.recount_movie_counts()
    except IntegrityError as error:
        raise CatalogueError(CONFLICT.format(reason=error)) from None
    except OperationalError as error:
        # A deadlock with a concurrent writer, or the database going away.
        raise CatalogueError(REFUSED.format(reason=str(error).strip())) from None
    if result.created + result.updated >= bulk.VACUUM_AFTER:
        bulk.vacuum_catalogue(analyzed=empty)
    result.elapsed = time.perf_counter() - started
    return result


def import_file(
    *, path: Path, on_batch: Callable[[int], None] | None = None, wrap: Callable | None = None
) -> ImportResult:
    """Import the catalogue file at ``path`` (see import_records).

    ``wrap`` may wrap the open binary stream, e.g. with a progress bar.
    """
    if not path.exists():
        raise CatalogueError(FILE_NOT_FOUND.format(path=path))
    try:
        stream = path.open("rb")
    except OSError:
        raise CatalogueError(NOT_A_FILE.format(path=path)) from None
    with stream:
        source = wrap(stream) if wrap else stream
        return import_records(records=read_records(source), on_batch=on_batch)
