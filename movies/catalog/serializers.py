"""The API's representation of genres and movies (the legacy field names)."""

from __future__ import annotations

from rest_framework import serializers

from catalog.models import Genre, Movie


class GenreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["id", "name"]


class GenreWithCountSerializer(serializers.ModelSerializer):
    movie_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Genre
        fields = ["id", "name", "movie_count"]


class MovieSerializer(serializers.ModelSerializer):
    genre = GenreSerializer(source="genres", many=True, read_only=True)

    class Meta:
        model = Movie
        fields = ["id", "name", "director", "popularity", "imdb_score", "genre"]
