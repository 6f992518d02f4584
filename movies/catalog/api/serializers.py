"""The API's representation of genres and movies (the legacy field names).

Movies are written with genre names (``"genre": ["Drama", "War"]``) and read
with genre objects (``[{"id": 7, "name": "Drama"}]``); missing genres are
created (by accounts that may add genres), matched by genre_key as populate_db
matches them. Text is stored as catalog.text cleans it.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from rest_framework import serializers
from rest_framework.exceptions import APIException, PermissionDenied

from catalog import search
from catalog.models import (
    DUPLICATE_GENRE,
    DUPLICATE_MOVIE,
    GENRE_NAME_MAX_LENGTH,
    MAX_GENRES,
    Genre,
    ListedMovie,
    Movie,
)
from catalog.text import InvalidText, clean_text

NO_GENRE_CREATION = "This account may not add genres: {names} would be new."


class Conflict(APIException):
    status_code = 409
    default_detail = "The request conflicts with the catalogue."
    default_code = "conflict"


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

    def validate_name(self, name: str) -> str:
        clashes = Genre.objects.named(name)
        if self.instance is not None:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise Conflict({"name": [DUPLICATE_GENRE]})
        return name

    def to_representation(self, genre: Genre) -> dict:
        return {"id": genre.pk, "name": genre.name, "movie_count": genre.movie_count}

    def save(self, **kwargs):
        try:
            with transaction.atomic():
                return super().save(**kwargs)
        except IntegrityError:
            raise Conflict({"name": [DUPLICATE_GENRE]}) from None


class MovieSerializer(serializers.ModelSerializer):
    """A movie as clients read it."""

    genre = GenreSerializer(source="genres", many=True, read_only=True)

    class Meta:
        model = Movie
        fields = ["id", "name", "director", "popularity", "imdb_score", "genre"]

    def to_representation(self, movie: ListedMovie) -> dict:
        # Hand-written for speed: this runs for every movie of every page.
        return {
            "id": movie.id,
            "name": movie.name,
            "director": movie.director,
            "popularity": movie.popularity,
            "imdb_score": movie.imdb_score,
            "genre": movie.genres,
        }


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
        fields = ["name", "director", "popularity", "imdb_score", "genre"]
        # (name, director) uniqueness is checked in validate(), answering 409.
        validators: list = []

    def validate(self, attrs: dict) -> dict:
        name = attrs.get("name", getattr(self.instance, "name", None))
        director = attrs.get("director", getattr(self.instance, "director", None))
        others = Movie.objects.filter(name=name, director=director)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise Conflict({"name": [DUPLICATE_MOVIE]})
        return attrs

    def to_representation(self, movie: Movie) -> dict:
        return MovieSerializer().to_representation(ListedMovie.of(movie))

    def save(self, **kwargs) -> Movie:
        genre_names = self.validated_data.pop("genre", None)
        try:
            with transaction.atomic():
                genres = None
                if genre_names is not None:
                    resolved = Genre.objects.resolve(genre_names)
                    self._check_may_create(resolved.created)
                    genres = {resolved[name] for name in genre_names}
                self._check_document()
                movie = super().save(**kwargs)
                if genres is not None:
                    movie.genres.set(genres)
        except IntegrityError:
            raise Conflict({"name": [DUPLICATE_MOVIE]}) from None
        return movie

    def _check_may_create(self, created: list[Genre]) -> None:
        request = self.context.get("request")
        if created and request is not None and not request.user.has_perm("catalog.add_genre"):
            names = ", ".join(sorted(genre.name for genre in created))
            raise PermissionDenied(NO_GENRE_CREATION.format(names=names))

    def _check_document(self) -> None:
        """Refuse, as a 400 naming the field, a movie whose search text would not fit."""
        fields = {**self._current_fields(), **self.validated_data}
        error = search.document_error(fields)
        if error is not None:
            raise serializers.ValidationError({error.field: [str(error)]})

    def _current_fields(self) -> dict:
        if self.instance is None:
            return {}
        return {field: getattr(self.instance, field) for field in search.DOCUMENT_FIELDS}


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
