"""Read endpoints of the catalogue."""

from __future__ import annotations

from django.db.models import Count, Prefetch
from rest_framework import viewsets

from catalog.filters import MovieOrderingFilter, MovieSearchFilter
from catalog.models import Genre, Movie
from catalog.serializers import GenreWithCountSerializer, MovieSerializer

# Ids are bigints; anything longer is a 404 from the URL, never a database error.
ID_PATTERN = "[0-9]{1,18}"


class MovieViewSet(viewsets.ReadOnlyModelViewSet):
    """Movies, searchable and sortable; see the README for the search semantics."""

    serializer_class = MovieSerializer
    filter_backends = [MovieSearchFilter, MovieOrderingFilter]
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        # Three queries per list whatever the page size: count, page, genres.
        return Movie.objects.only(
            "id", "name", "director", "popularity", "imdb_score"
        ).prefetch_related(Prefetch("genres", queryset=Genre.objects.only("id", "name")))

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)


class GenreViewSet(viewsets.ReadOnlyModelViewSet):
    """Genres by name, each with the number of movies that have it."""

    serializer_class = GenreWithCountSerializer
    lookup_value_regex = ID_PATTERN

    def get_queryset(self):
        return Genre.objects.annotate(movie_count=Count("movies")).order_by("name", "id")
