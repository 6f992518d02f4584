"""Filters for the movie list: ``?search=``, structured filters and ``?ordering=``.

Each step is a plain function of a queryset and the request's parameters
(apply_filters, apply_search, apply_ordering; filter_movies runs all three):
the API's filter backends call them, and so does anything else that lists
movies as the API does (the site's results page, through
catalog.api.pagination.list_movies).
"""

from __future__ import annotations

from collections.abc import Iterable

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from catalog.models import (
    IMDB_SCORE_RANGE,
    MAX_GENRES,
    POPULARITY_RANGE,
    Genre,
    Movie,
    genre_key,
)
from catalog.search import (
    MAX_QUERY_LENGTH,
    InvalidSearch,
    director_contains,
    order_by_relevance,
    search_movies,
    split_terms,
)

ORDERING_FIELDS = ("name", "popularity", "imdb_score")
DEFAULT_ORDERING = "-popularity"
RELEVANCE = "relevance"
ORDERINGS = (RELEVANCE, *(f"{sign}{field}" for field in ORDERING_FIELDS for sign in ("", "-")))
ORDERING_INVALID = "Must be one of: " + ", ".join(ORDERINGS) + "."
SEARCH_PARAM = "search"
ORDERING_PARAM = "ordering"
GENRE_PARAM = "genre"
TOO_MANY_GENRES = f"Must name at most {MAX_GENRES} genres; no movie has more."


def requested_genres(values: Iterable[str]) -> dict[str, str]:
    """The genres ``genre`` parameters name, comma-separated or repeated: each once, by its
    key (catalog.models.genre_key), with the first spelling given; blanks left out.

    A movie has at most MAX_GENRES genres, so a request naming more could never
    find one: it is refused with a ValidationError naming ``genre``, read no
    further than the genre past the limit.
    """
    names: dict[str, str] = {}
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            names.setdefault(genre_key(name), name)
            if len(names) > MAX_GENRES:
                raise ValidationError({GENRE_PARAM: [TOO_MANY_GENRES]})
    return names


def apply_search(queryset: QuerySet, params) -> QuerySet:
    """The movies matching ``?search=`` (catalog.search); a 400 naming it when refused."""
    try:
        return search_movies(queryset, params.get(SEARCH_PARAM, ""))
    except InvalidSearch as error:
        raise ValidationError({SEARCH_PARAM: [str(error)]}) from None


class MovieSearchFilter(BaseFilterBackend):
    """``?search=``: terms separated by whitespace or commas, every one must match.

    See catalog.search for the exact semantics.
    """

    search_param = SEARCH_PARAM

    def filter_queryset(self, request, queryset, view):
        return apply_search(queryset, request.query_params)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": (
                    "Terms separated by whitespace or commas. A movie matches when every "
                    "term is a case- and accent-insensitive substring of its name, "
                    "director, popularity, imdb_score or one of its genres. At most "
                    f"{MAX_QUERY_LENGTH} characters and 10 terms."
                ),
                "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
                "examples": {
                    "title": {"value": "titanic", "summary": "a title"},
                    "genres": {"value": "drama,crime", "summary": "both genres"},
                    "everything": {
                        "value": "the,john,70,7,war",
                        "summary": "name, director, popularity, score and genre",
                    },
                },
            }
        ]


class RepeatedCSVWidget(django_filters.widgets.CSVWidget):
    """Comma-separated values from every occurrence of the parameter, not only the last."""

    def value_from_datadict(self, data, files, name):
        if not hasattr(data, "getlist") or len(data.getlist(name)) < 2:
            return super().value_from_datadict(data, files, name)
        return [item for value in data.getlist(name) for item in value.split(",")]


class GenreNamesFilter(django_filters.BaseCSVFilter, django_filters.CharFilter):
    """One or more genre names, comma-separated or repeated; a movie needs all
    (at most MAX_GENRES: requested_genres).

    Asked of each movie's own ``genre_ids``, not of its links: PostgreSQL's
    order indexes hold it, so a search walking one of them in order reads no
    table rows, and SQLite reads it on the row it reads anyway.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", RepeatedCSVWidget)
        super().__init__(*args, **kwargs)

    def filter(self, queryset: QuerySet, value) -> QuerySet:
        keys = requested_genres(value or [])
        if not keys:
            return queryset
        genre_ids = list(Genre.objects.filter(key__in=keys).values_list("pk", flat=True))
        if len(genre_ids) < len(keys):
            return queryset.none()
        return queryset.filter(genre_ids__has_keys=[str(pk) for pk in genre_ids])


class DirectorFilter(django_filters.CharFilter):
    """Part of the director's name, ignoring case and accents as ``?search=`` does."""

    def filter(self, queryset: QuerySet, value) -> QuerySet:
        if not value or not value.strip():
            return queryset
        return director_contains(queryset, value)


class FilterSetBackend(DjangoFilterBackend):
    """django-filter's backend, through apply_filters."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        return apply_filters(queryset, request.query_params, filterset_class)


def bound(field: str, lookup: str, limits: tuple[float, float]) -> django_filters.NumberFilter:
    """An inclusive bound on a number field, refused outside the field's own range."""
    low, high = limits
    return django_filters.NumberFilter(
        field_name=field, lookup_expr=lookup, min_value=low, max_value=high
    )


class MovieFilterSet(django_filters.FilterSet):
    genre = GenreNamesFilter(
        help_text=(
            "Genre names, comma-separated (Drama,War) or repeated; a movie must have all "
            f"of them. At most {MAX_GENRES}."
        )
    )
    director = DirectorFilter(help_text="Part of the director's name, ignoring case and accents.")
    imdb_score_min = bound("imdb_score", "gte", IMDB_SCORE_RANGE)
    imdb_score_max = bound("imdb_score", "lte", IMDB_SCORE_RANGE)
    popularity_min = bound("popularity", "gte", POPULARITY_RANGE)
    popularity_max = bound("popularity", "lte", POPULARITY_RANGE)

    class Meta:
        model = Movie
        fields: list[str] = []


# Every query parameter the movie list reads besides its pagination's.
MOVIE_LIST_PARAMETERS = (SEARCH_PARAM, ORDERING_PARAM, *MovieFilterSet.base_filters)


def apply_filters(
    queryset: QuerySet, params, filterset_class: type[django_filters.FilterSet] | None = None
) -> QuerySet:
    """``queryset`` filtered by the filters of ``filterset_class`` (MovieFilterSet) asked for.

    Steps aside when none of its parameters is given: building and validating
    the filter form costs more than a whole search of a small catalogue, and
    without any of its parameters it changes nothing. Each filter reads the
    one parameter named after it. An invalid value is a 400 naming it.
    """
    filterset_class = filterset_class or MovieFilterSet
    if params.keys().isdisjoint(filterset_class.base_filters):
        return queryset
    filterset = filterset_class(data=params, queryset=queryset)
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)
    return filterset.qs


def ordering_keys(ordering: str) -> tuple[str, str]:
    """Order by the field, then by id in the same direction (one index serves both)."""
    descending = ordering.startswith("-")
    return (ordering, "-id" if descending else "id")


def requested_ordering(params) -> str:
    """The ordering asked for, or the default: relevance with a search, else -popularity.

    Raises ValidationError naming the parameter for an ordering not offered.
    """
    ordering = params.get(ORDERING_PARAM, "").strip()
    if ordering and ordering not in ORDERINGS:
        raise ValidationError({ORDERING_PARAM: [ORDERING_INVALID]})
    if (ordering or RELEVANCE) == RELEVANCE:
        return RELEVANCE if searched_terms(params) else DEFAULT_ORDERING
    return ordering


def searched_terms(params) -> list[str]:
    """The terms of ``?search=`` (none when it is absent, blank or refused)."""
    try:
        return split_terms(params.get(SEARCH_PARAM, ""))
    except InvalidSearch:
        return []


def relevance_query(params) -> str | None:
    """The search to rank by relevance, when that is the ordering in effect."""
    if requested_ordering(params) != RELEVANCE:
        return None
    return params.get(SEARCH_PARAM, "")


def apply_ordering(queryset: QuerySet, params) -> QuerySet:
    """``queryset`` in the order ``?ordering=`` asks for (see MovieOrderingFilter)."""
    ordering = requested_ordering(params)
    if ordering == RELEVANCE:
        return order_by_relevance(queryset, params.get(SEARCH_PARAM, ""))
    return queryset.order_by(*ordering_keys(ordering))


class MovieOrderingFilter(BaseFilterBackend):
    """``?ordering=``: relevance, or name, popularity or imdb_score, ``-`` for descending.

    The default is relevance when there is a search (catalog.search's tiers,
    then popularity), else ``-popularity``; ties are broken by id in the same
    direction, so every order is total and pages never overlap.
    """

    ordering_param = ORDERING_PARAM

    def filter_queryset(self, request, queryset, view):
        return apply_ordering(queryset, request.query_params)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    "Sort order. `relevance` (the default with `search`, else `-popularity`): "
                    "first movies whose name is the query (word by word, ignoring case, "
                    "accents and punctuation), then names beginning with the query's words, "
                    "then names holding every term, then the other matches; within each, "
                    "the more popular first. The fields order ties by id in the same "
                    "direction; relevance by popularity, then id, descending."
                ),
                "schema": {"type": "string", "enum": list(ORDERINGS)},
            }
        ]


def filtered_beyond_search(params) -> bool:
    """Whether the request asks for any of MovieFilterSet's filters besides ``?search=``."""
    return not params.keys().isdisjoint(MovieFilterSet.base_filters)


def filter_movies(queryset: QuerySet, params) -> QuerySet:
    """The movie list's steps in the API's order: the filters, the search, the ordering.

    What MovieViewSet's filter backends do for ``GET /api/movies``; a 400
    (ValidationError) names a parameter that is refused. The filters come
    first so that their conditions lead the query: SQLite tests conditions
    in the order written, and a movie's genres (one look into genre_ids) are
    cheaper to test than a term in its text.
    """
    return apply_ordering(apply_search(apply_filters(queryset, params), params), params)


def finds(queryset: QuerySet, query: str, params) -> bool:
    """Whether ``query`` as the search, with the other filters of ``params``, finds a movie."""
    return search_movies(apply_filters(queryset, params), query).exists()
