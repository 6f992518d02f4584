"""Reading and validating catalogue files.

The catalogue format is the legacy service's, unchanged: a JSON array of
objects with the keys ``99popularity``, ``director``, ``genre`` (a list of
names, possibly padded with spaces), ``imdb_score`` and ``name``.

A file is streamed (memory does not grow with it) and validated record by
record; catalog.writes.import_records writes the records in batches, in one
transaction, and the first invalid record aborts it with nothing written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from catalog import derived, reading
from catalog.models import (
    GENRE_NAME_MAX_LENGTH,
    IMDB_SCORE_RANGE,
    MAX_GENRES,
    MOVIE_TEXT_MAX_LENGTH,
    POPULARITY_RANGE,
    genre_key,
)
from catalog.search import DocumentTooLong
from catalog.text import InvalidText, clean_text

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

    def text(self) -> derived.MovieText:
        """The movie's derived text; a CatalogueError naming the field when it is too long."""
        try:
            return derived.movie_text_of(self)
        except DocumentTooLong as error:
            raise CatalogueError(
                INVALID_TEXT.format(index=self.index, field=error.field, reason=error)
            ) from None


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    genres_created: int = 0
    elapsed: float = 0.0
    # The catalogue was empty: its indexes were built (and analysed) after the rows.
    indexes_rebuilt: bool = False

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


@contextmanager
def open_catalogue(path: Path) -> Iterator[IO[bytes]]:
    """The catalogue file at ``path``, open for reading; a CatalogueError if it cannot be."""
    if not path.exists():
        raise CatalogueError(FILE_NOT_FOUND.format(path=path))
    try:
        stream = path.open("rb")
    except OSError:
        raise CatalogueError(NOT_A_FILE.format(path=path)) from None
    with stream:
        yield stream
