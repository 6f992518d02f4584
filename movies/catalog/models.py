"""Genres and movies.

A movie is identified by (name, director): the legacy catalogue has two
different "The Wizard of Oz" and two "Batman". ``Movie.search_text`` is a
denormalised copy of the searchable fields (see ``catalog.search``), kept right
by ``save()`` and by the signal handlers in ``catalog.signals``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from catalog import search

POPULARITY_RANGE = (0.0, 100.0)
IMDB_SCORE_RANGE = (0.0, 10.0)


class Genre(models.Model):
    name = models.CharField(max_length=100)

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
        super().save(*args, **kwargs)


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
        indexes = [
            models.Index(fields=["popularity", "id"], name="movie_popularity_id"),
            models.Index(fields=["imdb_score", "id"], name="movie_imdb_score_id"),
            models.Index(fields=["name", "id"], name="movie_name_id"),
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
