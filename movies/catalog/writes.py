"""Every change to the catalogue: movies, genres and imports.

Each function here is one transaction (catalogue_write) that

1. takes the catalogue lock (catalog.versions) before it reads anything it
   decides on, so writers queue in one order and each sees what the writers
   before it committed;
2. writes rows with every derived value computed by catalog.derived, the
   function the importer's bulk statements and the consistency check use too;
3. moves each genre's movie_count by the links it really adds or removes,
   and the vocabulary by the words it really adds or removes;
4. records which movies and genres it wrote or deleted, for the changes feed
   (catalog.changes);
5. raises the catalogue version before it commits, so that no cached answer
   or ETag outlives it.

A failure anywhere (a refused write, a database error, a killed process)
undoes all of it. Nothing else changes movies or genres: catalog.guard refuses
ORM saves and deletes made outside catalogue_write(), and catalog.consistency
finds and repairs what a change made behind the writes (SQL by hand, code
that predates a derived column) left behind.

A genre's rename or deletion rewrites no movie row: a deleted genre's id may
stay in its movies' genre_ids, where no search asks for it (ids are never
reused).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, OperationalError, router, transaction
from django.db.models import Max
from django.utils import timezone

from catalog import bulk, changes, derived, importer, vocabulary
from catalog.importer import CatalogueError, ImportResult
from catalog.models import (
    DUPLICATE_GENRE,
    DUPLICATE_MOVIE,
    Genre,
    ListedMovie,
    Movie,
)
from catalog.scopes import WIDE, movie_scope, movie_text_scopes
from catalog.search import DocumentTooLong
from catalog.text import InvalidText, clean_text
from catalog.versions import bump_version, lock_catalogue

Link = Movie.genres.through

MOVIE_NOT_FOUND = "No movie with this id."
GENRE_NOT_FOUND = "No genre with this id."
NEW_GENRES_REFUSED = "This account may not add genres: {names} would be new."


class WriteRefused(Exception):
    """A change the catalogue refuses; the message is meant for the client.

    ``field`` names the field at fault, when one is.
    """

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field


class NotFound(WriteRefused):
    """The movie or genre to change is not (or no longer) in the catalogue."""


class Duplicate(WriteRefused):
    """Another movie (name and director) or genre (key) is already what this one would be."""

    field = "name"


class NewGenresRefused(WriteRefused):
    """The movie names genres that do not exist, and the writer may not add genres."""

    field = "genre"


class InvalidField(WriteRefused):
    """A field the catalogue cannot store as given (invisible characters, too long to search)."""


# The transaction every write runs in


@dataclass
class _Write:
    """What a write changed, for the versions it raises (catalog.scopes)."""

    using: str
    scopes: set[str] = field(default_factory=set)
    # It changed what it did not name: every cached answer may have changed.
    wide: bool = True


_current: ContextVar[_Write | None] = ContextVar("catalogue_write", default=None)
# A write that changes more parts than this (a large deletion) invalidates every
# cached answer instead: cheaper to raise, and few answers would survive it anyway.
SCOPES_MAX = 2_000


def is_writing() -> bool:
    """Whether the code running is inside catalogue_write() (catalog.guard asks)."""
    return _current.get() is not None


@contextmanager
def catalogue_write(using: str | None = None, *, scoped: bool = False) -> Iterator[str]:
    """One catalogue write: the lock first, the versions raised last, all or nothing.

    Yields the database alias written. ``scoped``: the write names every part
    of the catalogue it changes (changed()), so that cached answers that
    depend on other parts are kept; otherwise every answer is invalidated.
    Nested, it joins the outer write, which holds the lock already and raises
    the versions once. A write that finds it has nothing to change rolls
    itself back (transaction.set_rollback), and leaves the versions, and so
    every cached answer, as they were.
    """
    outer = _current.get()
    if outer is not None:
        outer.wide = outer.wide or not scoped
        with transaction.atomic(using=outer.using):
            yield outer.using
        return
    write = _Write(using or router.db_for_write(Movie), wide=not scoped)
    token = _current.set(write)
    try:
        with transaction.atomic(using=write.using):
            lock_catalogue(write.using)
            yield write.using
            if not transaction.get_rollback(write.using):
                bump_version(write.using, write.scopes | ({WIDE} if write.wide else set()))
    finally:
        _current.reset(token)


def changed(scopes: Iterable[str]) -> None:
    """Say that the write under way changes these parts of the catalogue."""
    write = _current.get()
    assert write is not None, "changed() outside catalogue_write()"
    if write.wide:
        return  # every cached answer goes anyway
    write.scopes.update(scopes)
    if len(write.scopes) > SCOPES_MAX:
        write.wide, write.scopes = True, set()


def _changed_movie(movie_id: int, texts: Iterable[str], genre_ids: Iterable[int], using: str):
    """The movie, its text, its words and its genres' names (as they were, or as they are)
    change."""
    write = _current.get()
    assert write is not None, "_changed_movie() outside catalogue_write()"
    if write.wide:
        return  # its genres need not be read
    genres = Genre.objects.using(using).filter(pk__in=set(genre_ids))
    names = list(genres.values_list("search_name", flat=True))
    texts = list(texts)
    changed({movie_scope(movie_id), *movie_text_scopes(texts, names)})


# Movies


@dataclass(frozen=True)
class MovieFields:
    """A movie's own fields, clean, with the text derived from them."""

    name: str
    director: str
    popularity: float
    imdb_score: float

    @classmethod
    def of(cls, *, name: str, director: str, popularity: float, imdb_score: float) -> MovieFields:
        return cls(
            name=_clean("name", name),
            director=_clean("director", director),
            popularity=float(popularity),
            imdb_score=float(imdb_score),
        )

    def text(self) -> derived.MovieText:
        try:
            return derived.movie_text_of(self)
        except DocumentTooLong as error:
            raise InvalidField(str(error), field=error.field) from None

    def words(self, text: derived.MovieText) -> frozenset[str]:
        return derived.movie_words(self.name, self.director, text.name_words)


def create_movie(
    *,
    name: str,
    director: str,
    popularity: float,
    imdb_score: float,
    genres: Sequence[str] = (),
    may_create_genres: bool = True,
) -> ListedMovie:
    """Add a movie with these genres (by name; missing ones are created if allowed)."""
    fields = MovieFields.of(
        name=name, director=director, popularity=popularity, imdb_score=imdb_score
    )
    with catalogue_write(scoped=True) as using:
        _refuse_duplicate_movie(fields, pk=None, using=using)
        text = fields.text()
        genre_ids = _genre_ids(genres, may_create=may_create_genres, using=using)
        movie = Movie(
            name=fields.name,
            director=fields.director,
            popularity=fields.popularity,
            imdb_score=fields.imdb_score,
            search_text=text.search_text,
            name_words=text.name_words,
            digit_pairs=text.digit_pairs,
            word_pairs=text.word_pairs,
            genre_ids=derived.genre_ids_of(genre_ids),
        )
        movie.save(using=using, force_insert=True)
        _changed_movie(movie.pk, [text.search_text], genre_ids, using)
        _relink(movie.pk, before=set(), after=genre_ids, using=using)
        vocabulary.shift(vocabulary.changes((), fields.words(text)), using)
        changes.record(changes.MOVIE, [movie.pk], using=using)
        return Movie.objects.using(using).listed([movie.pk])[0]


def update_movie(
    movie_id: int,
    *,
    name: str | None = None,
    director: str | None = None,
    popularity: float | None = None,
    imdb_score: float | None = None,
    genres: Sequence[str] | None = None,
    may_create_genres: bool = True,
) -> ListedMovie:
    """Change some fields of a movie; ``genres`` (names), when given, replace its genres."""
    with catalogue_write(scoped=True) as using:
        stored = (
            Movie.objects.using(using)
            .filter(pk=movie_id)
            .values("name", "director", "popularity", "imdb_score", "name_words", "search_text")
            .first()
        )
        if stored is None:
            raise NotFound(MOVIE_NOT_FOUND)
        fields = MovieFields.of(
            name=stored["name"] if name is None else name,
            director=stored["director"] if director is None else director,
            popularity=stored["popularity"] if popularity is None else popularity,
            imdb_score=stored["imdb_score"] if imdb_score is None else imdb_score,
        )
        if (fields.name, fields.director) != (stored["name"], stored["director"]):
            _refuse_duplicate_movie(fields, pk=movie_id, using=using)
        text = fields.text()
        linked = _linked_genres(movie_id, using)
        genre_ids = (
            linked if genres is None else _genre_ids(genres, may_create_genres, using=using)
        )
        Movie.objects.using(using).filter(pk=movie_id).update(
            name=fields.name,
            director=fields.director,
            popularity=fields.popularity,
            imdb_score=fields.imdb_score,
            search_text=text.search_text,
            name_words=text.name_words,
            digit_pairs=text.digit_pairs,
            word_pairs=text.word_pairs,
            genre_ids=derived.genre_ids_of(genre_ids),
            updated_at=timezone.now(),
        )
        texts = [stored["search_text"], text.search_text]
        _changed_movie(movie_id, texts, {*linked, *genre_ids}, using)
        _relink(movie_id, before=linked, after=genre_ids, using=using)
        before = derived.movie_words(stored["name"], stored["director"], stored["name_words"])
        vocabulary.shift(vocabulary.changes(before, fields.words(text)), using)
        changes.record(changes.MOVIE, [movie_id], using=using)
        return Movie.objects.using(using).listed([movie_id])[0]


def delete_movie(movie_id: int) -> None:
    """Remove a movie, and it from its genres' counts."""
    if not delete_movies([movie_id]):
        raise NotFound(MOVIE_NOT_FOUND)


def delete_movies(movie_ids: Iterable[int]) -> int:
    """Remove the movies with these ids (those that exist); returns how many went."""
    with catalogue_write(scoped=True) as using:
        movies = Movie.objects.using(using).filter(pk__in=list(movie_ids))
        rows = list(movies.values_list("pk", "name", "director", "name_words", "search_text"))
        if not rows:
            return 0
        found = [pk for pk, *_ in rows]
        linked: dict[int, list[int]] = {pk: [] for pk in found}
        links = Link.objects.using(using).filter(movie_id__in=found)
        for movie_id, genre_id in links.values_list("movie_id", "genre_id"):
            linked[movie_id].append(genre_id)
        unlinked = Counter(genre_id for genres in linked.values() for genre_id in genres)
        words: Counter[str] = Counter()
        for pk, name, director, name_words, search_text in rows:
            words.update(derived.movie_words(name, director, name_words))
            _changed_movie(pk, [search_text], linked[pk], using)
        Movie.objects.using(using).filter(pk__in=found).delete()
        bulk.shift_movie_counts({genre_id: -count for genre_id, count in unlinked.items()}, using)
        vocabulary.shift({word: -count for word, count in words.items()}, using)
        changes.record(changes.MOVIE, found, using=using, deleted=True)
        return len(found)


# Genres


def create_genre(*, name: str) -> Genre:
    """Add a genre with no movies."""
    with catalogue_write() as using:
        clean = _clean("name", name)
        _refuse_duplicate_genre(clean, pk=None, using=using)
        text = derived.genre_text(clean)
        genre = Genre(name=clean, key=text.key, search_name=text.search_name, movie_count=0)
        genre.save(using=using, force_insert=True)
        vocabulary.shift(vocabulary.changes((), derived.genre_words(clean)), using)
        changes.record(changes.GENRE, [genre.pk], using=using)
        return Genre.objects.using(using).get(pk=genre.pk)


def rename_genre(genre_id: int, *, name: str) -> Genre:
    """Give a genre a new name; its movies find it by the new one at once."""
    with catalogue_write() as using:
        before = Genre.objects.using(using).filter(pk=genre_id).values_list("name", flat=True)
        old = before.first()
        if old is None:
            raise NotFound(GENRE_NOT_FOUND)
        clean = _clean("name", name)
        _refuse_duplicate_genre(clean, pk=genre_id, using=using)
        text = derived.genre_text(clean)
        Genre.objects.using(using).filter(pk=genre_id).update(
            name=clean, key=text.key, search_name=text.search_name
        )
        change = vocabulary.changes(derived.genre_words(old), derived.genre_words(clean))
        vocabulary.shift(change, using)
        changes.record(changes.GENRE, [genre_id], using=using)
        return Genre.objects.using(using).get(pk=genre_id)


def delete_genre(genre_id: int) -> None:
    """Remove a genre from the catalogue and from its movies."""
    if not delete_genres([genre_id]):
        raise NotFound(GENRE_NOT_FOUND)


def delete_genres(genre_ids: Iterable[int]) -> int:
    """Remove the genres with these ids (those that exist); returns how many went."""
    with catalogue_write() as using:
        genres = Genre.objects.using(using).filter(pk__in=list(genre_ids))
        rows = list(genres.values_list("pk", "name"))
        if not rows:
            return 0
        words: Counter[str] = Counter()
        for _, name in rows:
            words.update(derived.genre_words(name))
        # Their links go by cascade; their ids may stay in genre_ids (see above).
        Genre.objects.using(using).filter(pk__in=[pk for pk, _ in rows]).delete()
        vocabulary.shift({word: -count for word, count in words.items()}, using)
        changes.record(changes.GENRE, [pk for pk, _ in rows], using=using, deleted=True)
        return len(rows)


# Imports


def import_records(
    *,
    records: Iterable[Any],
    batch_size: int = bulk.BATCH_SIZE,
    on_batch: bulk.Progress | None = None,
) -> ImportResult:
    """Validate and upsert raw catalogue records (catalog.importer's format), all or nothing.

    Movies are upserted by (name, director) and take the records' genres.
    Raises CatalogueError naming the first invalid record and field; the
    catalogue is then exactly as it was.
    """
    started = time.perf_counter()
    valid = (importer.validate_record(index, raw) for index, raw in enumerate(records))
    try:
        with catalogue_write() as using:
            written_since = timezone.now()
            genres_after = Genre.objects.using(using).aggregate(last=Max("pk"))["last"] or 0
            result = bulk.upsert_movies(
                valid, batch_size=batch_size, on_batch=on_batch, using=using
            )
            if result.created or result.updated or result.genres_created:
                changes.record_imported(
                    written_since=written_since, genres_after=genres_after, using=using
                )
            if result.created or result.updated:
                # The links went in by bulk statements: counted once, under the lock.
                bulk.recount_movie_counts(Genre.objects.using(using).all())
            elif not result.genres_created:
                transaction.set_rollback(True, using=using)  # the catalogue is as it was
    except IntegrityError as error:
        raise CatalogueError(importer.CONFLICT.format(reason=error)) from None
    except OperationalError as error:
        # The database going away, or a statement cancelled.
        raise CatalogueError(importer.REFUSED.format(reason=str(error).strip())) from None
    if result.created + result.updated >= bulk.VACUUM_AFTER:
        bulk.vacuum_catalogue(using, analyzed=result.indexes_rebuilt)
    result.elapsed = time.perf_counter() - started
    return result


def import_file(
    *, path: Path, on_batch: bulk.Progress | None = None, wrap: Any = None
) -> ImportResult:
    """Import the catalogue file at ``path`` (see import_records).

    ``wrap`` may wrap the open binary stream, e.g. with a progress bar.
    """
    with importer.open_catalogue(path) as stream:
        source: IO[bytes] = wrap(stream) if wrap else stream
        return import_records(records=importer.read_records(source), on_batch=on_batch)


# What the writes above share


def _clean(field: str, value: str) -> str:
    try:
        return clean_text(value)
    except InvalidText as error:
        raise InvalidField(str(error), field=field) from None


def _refuse_duplicate_movie(fields: MovieFields, *, pk: int | None, using: str) -> None:
    others = Movie.objects.using(using).filter(name=fields.name, director=fields.director)
    if pk is not None:
        others = others.exclude(pk=pk)
    if others.exists():
        raise Duplicate(DUPLICATE_MOVIE)


def _refuse_duplicate_genre(name: str, *, pk: int | None, using: str) -> None:
    others = Genre.objects.using(using).named(name)
    if pk is not None:
        others = others.exclude(pk=pk)
    if others.exists():
        raise Duplicate(DUPLICATE_GENRE)


def _genre_ids(names: Sequence[str], may_create: bool, *, using: str) -> set[int]:
    clean = [_clean("genre", name) for name in names]
    if not may_create:
        missing = bulk.missing_genres(clean, using)
        if missing:
            raise NewGenresRefused(NEW_GENRES_REFUSED.format(names=", ".join(sorted(missing))))
    resolved = bulk.resolve_genres(clean, using)
    if resolved.created:
        changed([WIDE])  # a genre's name a search or a filter names now means it
        changes.record(changes.GENRE, [genre.pk for genre in resolved.created], using=using)
    return {resolved[name].pk for name in clean}


def _linked_genres(movie_id: int, using: str) -> set[int]:
    links = Link.objects.using(using).filter(movie_id=movie_id)
    return set(links.values_list("genre_id", flat=True))


def _relink(movie_id: int, *, before: Collection[int], after: Collection[int], using: str) -> None:
    """Make the movie's links ``after`` (they were ``before``), moving the genres' counts."""
    removed, added = set(before) - set(after), set(after) - set(before)
    if removed:
        Link.objects.using(using).filter(movie_id=movie_id, genre_id__in=removed).delete()
    if added:
        Link.objects.using(using).bulk_create(
            [Link(movie_id=movie_id, genre_id=genre_id) for genre_id in sorted(added)]
        )
    bulk.shift_movie_counts({**dict.fromkeys(removed, -1), **dict.fromkeys(added, 1)}, using)
