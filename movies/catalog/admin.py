"""The back office: movies and genres, searched as the API searches, saved by catalog.writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.db import connections, router, transaction

from catalog import search, writes
from catalog.models import MOVIE_FIELDS, Genre, Movie
from catalog.search import InvalidSearch, Search, search_movies
from catalog.versions import lock_catalogue

NO_GENRE = "No genre"

# "View site" leads to the public search page (catalog.site).
admin.site.site_url = "/"


class GenreListFilter(admin.RelatedFieldListFilter):
    """The genre sidebar, whose last entry (movies without a genre) says what it is."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = NO_GENRE  # type: ignore[assignment]


class CatalogueTextForm(forms.ModelForm):
    """Text fields left as typed: the model cleans them (catalog.text), and refuses
    what a form's own trimming would hide (a control character at either end)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.strip = False


class MovieForm(CatalogueTextForm):
    class Meta:
        model = Movie
        fields = [*MOVIE_FIELDS, "genres"]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if all(cleaned.get(field) is not None for field in search.DOCUMENT_FIELDS):
            error = search.document_error(cleaned)
            if error is not None:
                self.add_error(error.field, str(error))
        return cleaned


@contextmanager
def validated_under_the_lock(request) -> Iterator[None]:
    """A form posted to the admin is checked and saved holding the catalogue lock.

    Every writer takes it first (catalog.writes), so the form validates
    against what the writers before it committed: a genre deleted meanwhile
    is an invalid choice, not a failed save.
    """
    if request.method != "POST":
        yield
        return
    with transaction.atomic(using=router.db_for_write(Movie)):
        lock_catalogue()
        yield


class CatalogueAdmin(admin.ModelAdmin):
    """Adds, changes and deletes go through catalog.writes, each form under the lock."""

    def changeform_view(self, request, *args, **kwargs):
        with validated_under_the_lock(request):
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        with validated_under_the_lock(request):
            return super().delete_view(request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        # Where "delete selected" is posted.
        with validated_under_the_lock(request):
            return super().changelist_view(request, *args, **kwargs)

    def save_related(self, request, form, formsets, change) -> None:
        # save_model wrote the movie's genres with it; there are no inlines.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(Movie)
class MovieAdmin(CatalogueAdmin):
    form = MovieForm
    list_display = (*MOVIE_FIELDS, "genre_names")
    list_filter = (("genres", GenreListFilter),)
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

    def save_model(self, request, obj: Movie, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in MOVIE_FIELDS}
        genres = [genre.name for genre in form.cleaned_data["genres"]]
        if change:
            saved = writes.update_movie(obj.pk, **fields, genres=genres)
        else:
            saved = writes.create_movie(**fields, genres=genres)
        obj.pk = saved.id
        obj._state.adding = False

    def delete_model(self, request, obj: Movie) -> None:
        writes.delete_movie(obj.pk)

    def delete_queryset(self, request, queryset) -> None:
        writes.delete_movies(queryset.values_list("pk", flat=True))

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The sidebar's filters only: a URL must not run any lookup (a regex,
        # say) that the admin offers no control for.
        return lookup in ("genres__id__exact", "genres__isnull")

    def get_search_results(self, request, queryset, search_term):
        try:
            return search_movies(queryset, Search.parse(search_term)), False
        except InvalidSearch as error:
            self.message_user(request, str(error), level=messages.ERROR)
            return queryset.none(), False

    def get_ordering(self, request):
        # A search, and no column chosen to sort by: the best match first, as
        # the API ranks it.
        typed = _search_of(request.GET.get("q", ""))
        if "o" not in request.GET and typed:
            vendor = connections[router.db_for_read(Movie)].vendor
            return [search.relevance(typed, vendor).asc(), "-popularity", "-id"]
        return super().get_ordering(request)

    @admin.display(description="genres")
    def genre_names(self, movie: Movie) -> str:
        return ", ".join(genre.name for genre in movie.genres.all())


def _search_of(text: str) -> Search:
    """The admin box's search (none when refused: get_search_results says why)."""
    try:
        return Search.parse(text)
    except InvalidSearch:
        return Search()


@admin.register(Genre)
class GenreAdmin(CatalogueAdmin):
    form = CatalogueTextForm

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return False  # no filters to serve

    def save_model(self, request, obj: Genre, form, change: bool) -> None:
        name = form.cleaned_data["name"]
        saved = (
            writes.rename_genre(obj.pk, name=name) if change else writes.create_genre(name=name)
        )
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request, obj: Genre) -> None:
        writes.delete_genre(obj.pk)

    def delete_queryset(self, request, queryset) -> None:
        writes.delete_genres(queryset.values_list("pk", flat=True))

    list_display = ("name", "movie_count")
    search_fields = ("name",)
    ordering = ("name",)
    readonly_fields = ("movie_count",)
