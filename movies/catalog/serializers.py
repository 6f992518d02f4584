"""The API's representation of genres and movies (the legacy field names).

Movies are written with genre names (``"genre": ["Drama", "War"]``) and read
with genre objects (``[{"id": 7, "name": "Drama"}]``); missing genres are
created, matched ignoring case and surrounding spaces, as populate_db does.
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from rest_framework import serializers
from rest_framework.exceptions import APIException

from catalog.models import LISTED_FIELDS, Genre, Movie, genre_key

DUPLICATE_MOVIE = "A movie with this name and director already exists."
DUPLICATE_GENRE = "A genre with this name already exists."
MAX_GENRES = 20


class Conflict(APIException):
    status_code = 409
    default_detail = "The request conflicts with the catalogue."
    default_code = "conflict"


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
    movie_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Genre
        fields = ["id", "name", "movie_count"]
        validators: list = []

    def validate_name(self, name: str) -> str:
        clashes = Genre.objects.exclude(pk=getattr(self.instance, "pk", None))
        if any(genre_key(genre.name) == genre_key(name) for genre in clashes):
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

    def to_representation(self, movie: Movie | dict) -> dict:
        # Hand-written for speed: this runs for every movie of every page.
        if isinstance(movie, dict):  # a row of Movie.objects.listed()
            genres = movie["genres"]
        else:
            genres = [{"id": genre.pk, "name": genre.name} for genre in movie.genres.all()]
            movie = {field: getattr(movie, field) for field in LISTED_FIELDS}
        return {
            "id": movie["id"],
            "name": movie["name"],
            "director": movie["director"],
            "popularity": movie["popularity"],
            "imdb_score": movie["imdb_score"],
            "genre": genres,
        }


class MovieWriteSerializer(serializers.ModelSerializer):
    """A movie as staff write it: genres by name."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: StrictFloatField,
    }

    genre = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=False),
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
        return MovieSerializer(movie).to_representation(movie)

    def save(self, **kwargs) -> Movie:
        genre_names = self.validated_data.pop("genre", None)
        try:
            with transaction.atomic():
                movie = super().save(**kwargs)
                if genre_names is not None:
                    genres = Genre.objects.resolve(genre_names)
                    movie.genres.set({genres[genre_key(name)] for name in genre_names})
        except IntegrityError:
            raise Conflict({"name": [DUPLICATE_MOVIE]}) from None
        return movie


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")
