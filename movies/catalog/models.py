"""Genres and movies, and the limits of what the catalogue stores.

A movie is identified by (name, director): the legacy catalogue has two
different "The Wizard of Oz" and two "Batman". ``Movie.search_text`` (see
``catalog.search``), its other derived columns and ``Genre.movie_count`` are
computed by ``catalog.derived`` and written only by ``catalog.writes``, as is
the vocabulary (``Word``, see ``catalog.vocabulary``). Text is stored as
``catalog.text`` cleans it; a genre is identified by its key.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, router
from django.db.models.fields.json import HasAnyKeys, HasKey, HasKeyLookup, HasKeys
from django.db.models.functions import Length
from django.utils.deconstruct import deconstructible

from catalog.text import INVISIBLE_CHARACTER, InvalidText, clean_text, find_invisible, text_key

POPULARITY_RANGE = (0.0, 100.0)
IMDB_SCORE_RANGE = (0.0, 10.0)
MOVIE_TEXT_MAX_LENGTH = 255
GENRE_NAME_MAX_LENGTH = 100
MAX_GENRES = 20
DUPLICATE_MOVIE = "A movie with this name and director already exists."
DUPLICATE_GENRE = "A genre with this name already exists."


@lru_cache(maxsize=4096)  # an import asks for the same few dozen names a million times
def genre_key(name: str) -> str:
    """Genres are one when their names have the same key (see catalog.text)."""
    return text_key(name)


@deconstructible
class VisibleTextValidator:
    """A model field validator: refuse what catalog.text refuses.

    A class rather than a function: migrations name it by its import path
    (Django compares validators by what they deconstruct to) without
    importing this module (see migration 0006).
    """

    def __call__(self, value: str) -> None:
        codepoint = find_invisible(value)
        if codepoint is not None:
            raise ValidationError(
                INVISIBLE_CHARACTER.format(codepoint=codepoint), code="invisible"
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VisibleTextValidator)


validate_visible_text = VisibleTextValidator()


class GenreQuerySet(models.QuerySet["Genre"]):
    def named(self, name: str) -> GenreQuerySet:
        """The genre ``name`` names, whatever its spelling: the one with its key."""
        return self.filter(key=genre_key(name))


class Genre(models.Model):
    name = models.CharField(max_length=GENRE_NAME_MAX_LENGTH, validators=[validate_visible_text])
    # genre_key(name): what makes two genres one, stored so that the database
    # never folds case by a rule of its own.
    key = models.TextField(unique=True, editable=False)
    # The name as search terms are matched against it (catalog.search).
    search_name = models.TextField(editable=False, default="")
    # How many movies have this genre: moved in the database by the links each
    # write adds or removes (catalog.writes), never written back from a read.
    # The column default lets code that predates it insert genres (rolling deploys).
    movie_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    objects = GenreQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="genre_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            self.name = clean_text(self.name)
        except InvalidText:
            return  # the field's validator reports it
        self.key = genre_key(self.name)

    def validate_unique(self, exclude=None) -> None:
        if Genre.objects.named(self.name).exclude(pk=self.pk).exists():
            raise ValidationError({"name": [DUPLICATE_GENRE]})
        super().validate_unique(exclude={*(exclude or ()), "key"})


@dataclass(slots=True)
class ListedMovie:
    """A movie as the catalogue lists it: its own fields and its genres by name."""

    id: int
    name: str
    director: str
    popularity: float
    imdb_score: float
    # {"id", "name"} of each genre, sorted by name.
    genres: list[dict[str, Any]]

    @classmethod
    def of(cls, movie: Movie) -> ListedMovie:
        genres = [{"id": genre.pk, "name": genre.name} for genre in movie.genres.all()]
        return cls(
            movie.pk, movie.name, movie.director, movie.popularity, movie.imdb_score, genres
        )


# A movie's own fields, in the order clients read them: what writers give (its key,
# name and director, first), besides its genres. The serializers, the admin and the
# importer's statements take them from here.
MOVIE_FIELDS = ("name", "director", "popularity", "imdb_score")
# The fields a movie is listed with, besides its genres (ListedMovie's, in order).
LISTED_FIELDS = ("id", *MOVIE_FIELDS)


class MovieQuerySet(models.QuerySet["Movie"]):
    def listed(self, ids: Sequence[int]) -> list[ListedMovie]:
        """The movies with these ids, in that order.

        One query for the lot and no model instances: a page of the list is
        read like this on every request that the cache does not answer.
        """
        movies: dict[int, ListedMovie] = {}
        rows: Iterable[tuple] = (
            self.filter(pk__in=ids)
            .order_by("genres__name", "genres__id")
            .values_list(*LISTED_FIELDS, "genres__id", "genres__name")
        )
        for *fields, genre_id, genre_name in rows:
            pk = fields[0]
            movie = movies.get(pk)
            if movie is None:
                listed = dict(zip(LISTED_FIELDS, fields, strict=True))
                movie = movies[pk] = ListedMovie(**listed, genres=[])
            if genre_id is not None:
                movie.genres.append({"id": genre_id, "name": genre_name})
        return [movies[pk] for pk in ids if pk in movies]


class Movie(models.Model):
    name = models.CharField(max_length=MOVIE_TEXT_MAX_LENGTH, validators=[validate_visible_text])
    director = models.CharField(
        max_length=MOVIE_TEXT_MAX_LENGTH, validators=[validate_visible_text]
    )
    popularity = models.FloatField(
        validators=[
            MinValueValidator(POPULARITY_RANGE[0]),
            MaxValueValidator(POPULARITY_RANGE[1]),
        ]
    )
    imdb_score = models.FloatField(
        "IMDb score",
        validators=[
            MinValueValidator(IMDB_SCORE_RANGE[0]),
            MaxValueValidator(IMDB_SCORE_RANGE[1]),
        ],
    )
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    search_text = models.TextField(editable=False, default="")
    # search.words(name): searches rank names equal to the query's words, or
    # beginning with them, first, and find those through this column's index.
    name_words = models.TextField(editable=False, default="")
    # search.digit_pairs(search_text): a term of two characters with a digit
    # (``70``), which the trigram index cannot serve, is found through an
    # index of these on PostgreSQL (migration 0011).
    digit_pairs = models.TextField(editable=False, default="")
    # search.word_pairs(search_text): a phrase is found through an index of
    # these on PostgreSQL (migration 0014), as trigrams know no word order.
    word_pairs = models.TextField(editable=False, default="")
    # The ids of its genres as the keys of an object ({"7": true}), kept with the
    # links (catalog.writes): a search tests a movie's genres on its own row,
    # so an order index that includes it answers without visiting the links.
    # A deleted genre's id may stay: ids are never reused, and no search asks
    # for a genre that is gone.
    genre_ids = models.JSONField(editable=False, default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MovieQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "director"],
                name="movie_unique_name_director",
                violation_error_message=DUPLICATE_MOVIE,
            ),
            models.CheckConstraint(
                condition=models.Q(popularity__gte=POPULARITY_RANGE[0])
                & models.Q(popularity__lte=POPULARITY_RANGE[1]),
                name="movie_popularity_range",
            ),
            models.CheckConstraint(
                condition=models.Q(imdb_score__gte=IMDB_SCORE_RANGE[0])
                & models.Q(imdb_score__lte=IMDB_SCORE_RANGE[1]),
                name="movie_imdb_score_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(name="") & ~models.Q(director=""),
                name="movie_name_director_not_empty",
            ),
        ]
        # Each ordering the API offers walks one of these, in either direction.
        # On PostgreSQL they also hold what a search tests, so a search filters
        # index entries during the walk without visiting the table.
        indexes = [
            models.Index(
                fields=["popularity", "id"],
                include=["search_text", "genre_ids"],
                name="movie_popularity_id",
            ),
            models.Index(
                fields=["imdb_score", "id"],
                include=["search_text", "genre_ids"],
                name="movie_imdb_score_id",
            ),
            # Without search_text: with the name twice, the largest movies the
            # limits allow would not fit in one index row.
            models.Index(fields=["name", "id"], name="movie_name_id"),
            # Names equal to a query's words, or beginning with them (LIKE
            # 'words %' on PostgreSQL, a range on SQLite), with what orders
            # them, so that finding them never visits the table.
            models.Index(
                fields=["name_words"],
                opclasses=["text_pattern_ops"],
                include=["popularity", "id"],
                name="movie_name_words",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.director})"

    def clean(self) -> None:
        # Invisible characters are reported by the fields' validators.
        with contextlib.suppress(InvalidText):
            self.name = clean_text(self.name)
        with contextlib.suppress(InvalidText):
            self.director = clean_text(self.director)


class KeyInJsonText(HasKeyLookup):
    """On SQLite, a key of Movie.genre_ids is sought in its JSON text (``"7":``).

    Several times cheaper, for each movie a search reads, than parsing the
    JSON (Django's JSON_TYPE), and exact for what genre_ids holds: an object
    of ids, written by json.dumps or SQLite's JSON functions (no space before
    a colon). Within a JSON string a quote is escaped, so ``"7":`` can only be
    the key 7.
    """

    def as_sqlite(self, compiler, connection):
        keys = self.rhs if isinstance(self.rhs, (list, tuple)) else [self.rhs]
        if not all(isinstance(key, str) for key in keys):
            return super().as_sqlite(compiler, connection)  # not a key as genre_ids spells it
        column, column_params = self.process_lhs(compiler, connection)
        parts = [f"instr({column}, %s) > 0" for _ in keys]
        params = [value for key in keys for value in (*column_params, json.dumps(key) + ":")]
        sql = f"({self.logical_operator.join(parts)})" if self.logical_operator else parts[0]
        return sql, tuple(params)


class HasGenreId(KeyInJsonText, HasKey):
    pass


class HasEveryGenreId(KeyInJsonText, HasKeys):
    pass


class HasAnyGenreId(KeyInJsonText, HasAnyKeys):
    pass


# genre_ids__has_key, __has_keys and __has_any_keys, as Django defines them.
for _lookup in (HasGenreId, HasEveryGenreId, HasAnyGenreId):
    Movie._meta.get_field("genre_ids").register_lookup(_lookup)


class CatalogueVersion(models.Model):
    """A number that every write to the catalogue raises, in its own transaction.

    Cached responses and ETags are keyed by it, so no cached answer outlives a
    change, whichever process (web worker, admin, populate_db) made it. Writes
    raise it through catalog.versions.
    """

    SINGLETON_ID = 1
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalogue version {self.version}"

    @classmethod
    def current(cls) -> int:
        # Read on every API request: plain SQL skips the ORM's query building.
        with connections[router.db_for_read(cls)].cursor() as cursor:
            cursor.execute(
                f"SELECT version FROM {cls._meta.db_table} WHERE id = %s", [cls.SINGLETON_ID]
            )
            row = cursor.fetchone()
        return row[0] if row else 0


class ScopeVersion(models.Model):
    """The catalogue version at which a part of it last changed (catalog.scopes).

    A cached answer that can only change when that part does is kept across
    the writes to other parts; the catalogue's own version (CatalogueVersion)
    still rises with every write.
    """

    scope = models.CharField(max_length=40, primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.scope} at {self.version}"


class Change(models.Model):
    """The last write to a movie or genre, in the order the writes committed (catalog.changes).

    One row per movie or genre: a new write replaces the row with one of a
    higher id, so the rows past an id are what changed since. Writers hold
    the catalogue lock until they commit, so ids rise in commit order and a
    reader that saw an id will never see a lower one appear. A deletion
    leaves its row as a tombstone, ``deleted``, kept for CHANGES_RETENTION_DAYS.
    """

    MOVIE, GENRE = "movie", "genre"
    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=5, choices=[(MOVIE, MOVIE), (GENRE, GENRE)])
    key = models.BigIntegerField()
    deleted = models.BooleanField(default=False)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="change_kind_key")]
        indexes = [
            models.Index(
                fields=["at"], condition=models.Q(deleted=True), name="change_tombstone_at"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} {'deleted' if self.deleted else 'written'} ({self.id})"


class ChangeHorizon(models.Model):
    """The highest change id whose tombstone was purged: a changes token below it may
    have missed a deletion, and is refused (410)."""

    SINGLETON_ID = 1
    purged_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"tombstones purged through {self.purged_through}"


class Word(models.Model):
    """A word of the catalogue: of movie names, directors and genre names (catalog.vocabulary).

    ``movies`` counts the movies (by name or director) and the genres whose
    names use it; a word goes when no movie or genre uses it any more. Kept
    right on every write by catalog.writes.
    """

    word = models.TextField(unique=True)
    movies = models.IntegerField()

    class Meta:
        # Candidates for a correction are words of about the term's length.
        indexes = [models.Index(Length("word"), name="word_length")]

    def __str__(self) -> str:
        return self.word
