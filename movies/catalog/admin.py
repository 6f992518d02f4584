"""The back office: movies and genres, searched like the API searches."""

from __future__ import annotations

from django.contrib import admin, messages

from catalog.models import Genre, Movie
from catalog.search import InvalidSearch, search_movies


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin):
    list_display = ("name", "director", "popularity", "imdb_score", "genre_names")
    list_filter = ("genres",)
    # get_search_results replaces Django's search; the field only turns the box on.
    search_fields = ("name",)
    search_help_text = (
        "Every term (separated by spaces or commas) must match the name, director, "
        "popularity, score or a genre."
    )
    filter_horizontal = ("genres",)
    ordering = ("-popularity", "-id")
    list_per_page = 50
    show_full_result_count = False
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("genres")

    def get_search_results(self, request, queryset, search_term):
        try:
            return search_movies(queryset, search_term), False
        except InvalidSearch as error:
            self.message_user(request, str(error), level=messages.ERROR)
            return queryset.none(), False

    @admin.display(description="genres")
    def genre_names(self, movie: Movie) -> str:
        return ", ".join(genre.name for genre in movie.genres.all())


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "movie_count")
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = ("movie_count",)
