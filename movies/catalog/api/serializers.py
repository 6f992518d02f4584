"""The API's representation of genres and movies (the legacy field names).

Movies are written with genre names (``"genre": ["Drama", "War"]``) and read
with genre objects (``[{"id": 7, "name": "Drama"}]``); missing genres are
created (by accounts that may add genres), matched by genre_key as populate_db
matches them. Text is stored as catalog.text cleans it. The serializers only
check and read fields: the views hand what they checked to catalog.writes.
"""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from catalog.highlighting import HIGHLIGHTED_FIELDS, highlights
from catalog.models import (
    GENRE_NAME_MAX_LENGTH,
    LISTED_FIELDS,
    MAX_GENRES,
    MOVIE_FIELDS,
    Genre,
    ListedMovie,
    Movie,
)
from catalog.reads.facets import FACET_COUNT_LIMIT
from catalog.text import InvalidText, clean_text


class CatalogueTextField(serializers.CharField):
    """Text as the catalogue stores it (catalog.text): NFC, trimmed, spaces collapsed.

    catalog.text trims, so that what it refuses (a control character at
    either end) is never stripped first.
    """

    def __init__(self, **kwargs) -> None:
        kwargs["trim_whitespace"] = False
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            value = clean_text(super().to_internal_value(data))
        except InvalidText as error:
            raise serializers.ValidationError(str(error), code="invisible") from None
        if not value and not self.allow_blank:
            self.fail("blank")
        return value


class StrictFloatField(serializers.FloatField):
    """A number: JSON true and false are not, though Python reads them as 1.0 and 0.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class GenreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["id", "name"]


class GenreWithCountSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: CatalogueTextField,
    }
    movie_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Genre
        fields = ["id", "name", "movie_count"]
        validators: list = []

    def to_representation(self, genre: Genre) -> dict:
        return {"id": genre.pk, "name": genre.name, "movie_count": genre.movie_count}


class GenreFacetSerializer(serializers.Serializer):
    """A genre and how many movies choosing it would give."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    count = serializers.IntegerField(
        help_text=(
            f"How many movies: exact up to {FACET_COUNT_LIMIT:,}; with count_exact false, "
            f"at least this many ({FACET_COUNT_LIMIT:,})."
        )
    )
    count_exact = serializers.BooleanField(
        help_text=f"False when more than {FACET_COUNT_LIMIT:,} movies have the genre."
    )


class FacetsSerializer(serializers.Serializer):
    """Only with `facets`: for each facet asked for, how many movies each of its values
    would give, the most first, then by name; values that would give none are left out."""

    genre = GenreFacetSerializer(
        many=True,
        required=False,
        help_text=(
            "With `facets=genre`: the movies the search and every filter but `genre` and "
            "`genre_any` find, counted by genre (so that choosing genres leaves the counts "
            "as they are)."
        ),
    )


class MovieSerializer(serializers.ModelSerializer):
    """A movie as clients read it."""

    genre = GenreSerializer(source="genres", many=True, read_only=True)

    class Meta:
        model = Movie
        fields = [*LISTED_FIELDS, "genre"]

    def to_representation(self, movie: ListedMovie) -> dict:
        # Read straight off the row for speed: this runs for every movie of every page.
        shown = {name: getattr(movie, name) for name in LISTED_FIELDS}
        shown["genre"] = movie.genres
        return shown


def _ranges(field: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ListField(
            child=serializers.IntegerField(min_value=0), min_length=2, max_length=2
        ),
        help_text=f"Where the search matched the {field}: [start, length] in characters "
        "(code points) of the string returned, sorted, those that touch merged.",
    )


class HighlightSerializer(serializers.Serializer):
    """Where the search matched a movie's name and director (catalog.highlighting)."""

    name = _ranges("name")
    director = _ranges("director")


class MovieResultSerializer(MovieSerializer):
    """A movie of the list: with `highlight=1`, where the search matched it."""

    highlight = HighlightSerializer(
        required=False, help_text="Only with `highlight=1`: where the search matched."
    )

    class Meta(MovieSerializer.Meta):
        fields = [*MovieSerializer.Meta.fields, "highlight"]

    def to_representation(self, movie: ListedMovie) -> dict:
        shown = super().to_representation(movie)
        # The search's patterns (catalog.highlighting.patterns_for), when asked for.
        patterns = self.context.get("highlight")
        if patterns is not None:
            shown["highlight"] = highlights(
                {field: getattr(movie, field) for field in HIGHLIGHTED_FIELDS}, patterns
            )
        return shown


class MovieWriteSerializer(serializers.ModelSerializer):
    """A movie as staff write it: genres by name."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: StrictFloatField,
        models.CharField: CatalogueTextField,
    }

    genre = serializers.ListField(
        child=CatalogueTextField(max_length=GENRE_NAME_MAX_LENGTH, allow_blank=False),
        max_length=MAX_GENRES,
        required=False,
        help_text="Genre names; missing genres are created.",
    )

    class Meta:
        model = Movie
        fields = [*MOVIE_FIELDS, "genre"]
        # (name, director) uniqueness is catalog.writes' to check, under its lock.
        validators: list = []

    def movie_fields(self) -> dict:
        """What was sent, as catalog.writes takes it: genres by name, under ``genres``."""
        fields = dict(self.validated_data)
        if "genre" in fields:
            fields["genres"] = fields.pop("genre")
        return fields

    def to_representation(self, movie: ListedMovie) -> dict:
        return MovieSerializer().to_representation(movie)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
