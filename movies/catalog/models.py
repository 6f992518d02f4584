"""Genres and movies.

A movie is identified by (name, director): the legacy catalogue has two
different "The Wizard of Oz" and two "Batman". ``Movie.search_text`` is a
denormalised copy of the searchable fields (see ``catalog.search``), kept right
by ``save()`` and by the signal handlers in ``catalog.signals``, which also
keep ``Genre.movie_count``, the number of movies that have the genre, in the
transaction that changes the links (the importer recounts at its end).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models, router
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Greatest, Lower
from django.dispatch import Signal

from catalog import search

# Sent by CatalogueVersion.bump() inside the writing transaction, with the new version.
catalogue_changed = Signal()

POPULARITY_RANGE = (0.0, 100.0)
IMDB_SCORE_RANGE = (0.0, 10.0)


def genre_key(name: str) -> str:
    """Genres are one when their trimmed names match ignoring case."""
    return name.strip().lower()


class GenreQuerySet(models.QuerySet):
    def resolve(self, names: Iterable[str]) -> dict[str, Genre]:
        """Genres by genre_key for these names, creating the missing ones.

        Genres are few, so they are matched in Python, where case folding is
        the same for every alphabet on every database.
        """
        existing = {genre_key(genre.name): genre for genre in self.all()}
        missing: dict[str, Genre] = {}
        for name in names:
            key = genre_key(name)
            if key not in existing and key not in missing:
                missing[key] = Genre(name=name.strip())
        if missing:
            # A concurrent writer may create the same genre: keep whichever won.
            self.bulk_create(missing.values(), ignore_conflicts=True)
            existing = {genre_key(genre.name): genre for genre in self.all()}
        return existing

    def recount_movies(self) -> int:
        """Set these genres' movie_count from their links, in one UPDATE.

        Call it holding the catalogue lock (after CatalogueVersion.bump()), so
        that no writer is between reading links and moving a count; see
        catalog.signals. One index scan per genre: a quarter of a second for
        2.7 million links on PostgreSQL.
        """
        links = Movie.genres.through.objects.filter(genre=OuterRef("pk"))
        count = links.values("genre").annotate(count=Count("*")).values("count")
        return self.update(movie_count=Coalesce(Subquery(count), 0))


class Genre(models.Model):
    name = models.CharField(max_length=100)
    # How many movies have this genre. Written by the database only (increments
    # and recounts, see catalog.signals): save() never writes back a count it read.
    # The column default lets code that predates it insert genres (rolling deploys).
    movie_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    objects = GenreQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="genre_name_unique_ignoring_case",
                violation_error_message="A genre with this name already exists.",
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="genre_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = self.name.strip()
        if not self._state.adding:
            # The count read with the row may be out of date by now: keep the row's.
            fields = kwargs.get("update_fields")
            if fields is None:
                fields = [
                    field.name for field in self._meta.concrete_fields if not field.primary_key
                ]
            kwargs["update_fields"] = [name for name in fields if name != "movie_count"]
        super().save(*args, **kwargs)


# The fields a movie is listed with, besides its genres.
LISTED_FIELDS = ("id", "name", "director", "popularity", "imdb_score")


class MovieQuerySet(models.QuerySet):
    def listed(self, ids: Sequence[int]) -> list[dict]:
        """The movies with these ids, in that order, as dicts of LISTED_FIELDS and
        ``genres``, a list of ``{"id", "name"}`` sorted by name.

        One query for the lot and no model instances: a page of the list is
        read like this on every request that the cache does not answer.
        """
        movies: dict[int, dict] = {}
        rows = (
            self.filter(pk__in=ids)
            .order_by("genres__name", "genres__id")
            .values_list(*LISTED_FIELDS, "genres__id", "genres__name")
        )
        for *fields, genre_id, genre_name in rows:
            movie = movies.get(fields[0])
            if movie is None:
                movie = movies[fields[0]] = {
                    **dict(zip(LISTED_FIELDS, fields, strict=True)),
                    "genres": [],
                }
            if genre_id is not None:
                movie["genres"].append({"id": genre_id, "name": genre_name})
        return [movies[pk] for pk in ids if pk in movies]


class Movie(models.Model):
    name = models.CharField(max_length=255)
    director = models.CharField(max_length=255)
    popularity = models.FloatField(
        validators=[
            MinValueValidator(POPULARITY_RANGE[0]),
            MaxValueValidator(POPULARITY_RANGE[1]),
        ]
    )
    imdb_score = models.FloatField(
        validators=[
            MinValueValidator(IMDB_SCORE_RANGE[0]),
            MaxValueValidator(IMDB_SCORE_RANGE[1]),
        ]
    )
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    search_text = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MovieQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name", "director"],
                name="movie_unique_name_director",
                violation_error_message="A movie with this name and director already exists.",
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
        # On PostgreSQL they also hold search_text, so a search filters index
        # entries during the walk without visiting the table.
        indexes = [
            models.Index(
                fields=["popularity", "id"], include=["search_text"], name="movie_popularity_id"
            ),
            models.Index(
                fields=["imdb_score", "id"], include=["search_text"], name="movie_imdb_score_id"
            ),
            models.Index(fields=["name", "id"], include=["search_text"], name="movie_name_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.director})"

    def save(self, *args, **kwargs) -> None:
        self.name = self.name.strip()
        self.director = self.director.strip()
        genre_names = self.genres.values_list("name", flat=True) if self.pk else []
        self.search_text = self.build_search_text(genre_names)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def build_search_text(self, genre_names: Iterable[str]) -> str:
        return search.search_document(
            name=self.name,
            director=self.director,
            popularity=self.popularity,
            imdb_score=self.imdb_score,
            genre_names=genre_names,
        )


class CatalogueVersion(models.Model):
    """A number that every write to the catalogue raises, in its own transaction.

    Cached responses and ETags are keyed by it, so no cached answer outlives a
    change, whichever process (web worker, admin, populate_db) made it.
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

    @classmethod
    def lock(cls, using: str | None = None) -> None:
        """Make other catalogue writers wait from here until this transaction ends.

        bump() takes the same row lock; writers that must hold it before their
        first change call this. Outside a transaction, and on SQLite (where one
        write transaction runs at a time anyway), it does nothing.
        """
        connection = connections[using or router.db_for_write(cls)]
        if not connection.features.has_select_for_update or not connection.in_atomic_block:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {cls._meta.db_table} WHERE id = %s FOR UPDATE",
                [cls.SINGLETON_ID],
            )

    @classmethod
    def bump(cls) -> int:
        """Raise the version in the current transaction and announce the new one."""
        # Microseconds since the epoch, or one more when writes come faster:
        # a version is never reused, even after a database restore or rollback.
        now = time.time_ns() // 1000
        updated = cls.objects.filter(pk=cls.SINGLETON_ID).update(
            version=Greatest(F("version") + 1, Value(now))
        )
        if not updated:
            cls.objects.get_or_create(pk=cls.SINGLETON_ID, defaults={"version": now})
        version = cls.objects.using(router.db_for_write(cls)).get(pk=cls.SINGLETON_ID).version
        catalogue_changed.send(sender=cls, version=version)
        return version
