"""Limit/offset pagination with bounded cost.

Counts are exact up to COUNT_LIMIT; past it the response says ``count_exact:
false`` and ``count`` is a lower bound, as Elasticsearch's ``track_total_hits``
does, so a broad search never counts a million rows. Offsets past MAX_OFFSET
are refused: deeper pages are better reached with a narrower search.

A movie list asked for with ``?search=`` also says ``did_you_mean``: null, or
the corrected query when the search found nothing and a correction finds a
movie (catalog.vocabulary). The correction is only looked for then, so a
search that finds something costs no query more.

movie_page plans a page of the movie list, its count and its correction for
MoviePagination; list_movies is the whole list (catalog.api.filters, then
movie_page) for callers other than the API, such as the site's results page,
so that both find, order and count alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from urllib.parse import urlencode

from django.core.exceptions import FieldDoesNotExist
from django.db.models import FloatField, IntegerField, QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog import vocabulary
from catalog.api.filters import (
    MOVIE_LIST_PARAMETERS,
    SEARCH_PARAM,
    filter_movies,
    filtered_beyond_search,
    finds,
    relevance_query,
)
from catalog.api.relevance import plan_relevance_page
from catalog.models import ListedMovie, Movie

COUNT_LIMIT = 1_000
MAX_OFFSET = 10_000
LIMIT_INVALID = "Must be a positive integer."
OFFSET_INVALID = "Must be an integer of at least 0."
OFFSET_TOO_DEEP = f"Must be at most {MAX_OFFSET}; narrow the search to reach further results."
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def parse_int(params, parameter: str, *, minimum: int, message: str) -> int | None:
    """The integer in a query parameter, None when it is absent or empty."""
    raw = params.get(parameter)
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw):
        raise ValidationError({parameter: [message]})
    value = int(raw)
    if value < minimum:
        raise ValidationError({parameter: [message]})
    return value


@dataclass
class Page:
    rows: list
    count: int
    count_exact: bool
    has_more: bool


# The rows for these keys, in the order of the keys.
RowsFor = Callable[[list], list]


def rows_by_key(queryset: QuerySet) -> RowsFor:
    """Rows of ``queryset`` (with its column choice and prefetches) looked up by key."""

    def rows_for(keys: list) -> list:
        by_key = {row.pk: row for row in queryset.filter(pk__in=keys).order_by()}
        return [by_key[key] for key in keys if key in by_key]

    return rows_for


def numeric_ordering(queryset: QuerySet) -> list[tuple[str, bool]] | None:
    """The queryset's ordering as (field, descending) pairs, if every key is a number.

    Python orders numbers exactly as the database does, so it can sort
    candidates it already holds; text follows the database's collation, which
    Python does not share. None when any key is not a non-null number.
    """
    opts = queryset.model._meta
    keys = []
    for term in queryset.query.order_by:
        if not isinstance(term, str):
            return None
        name = term.lstrip("-")
        try:
            field = opts.pk if name == "pk" else opts.get_field(name)
        except FieldDoesNotExist:
            return None
        if field.null or not isinstance(field, (IntegerField, FloatField)):
            return None
        keys.append((field.attname, term.startswith("-")))
    return keys or None


def plan_page(
    queryset: QuerySet, *, rows_for: RowsFor, offset: int, limit: int, count_limit: int
) -> Page:
    """One page of an ordered queryset, and how many rows match.

    The plan is chosen from the data rather than left to the database's
    estimates, which go wrong for combined LIKE conditions:

    1. Up to count_limit + 1 matching keys, in no order (with the values they
       are ordered by, when those are numbers). A broad search stops early; a
       narrow one is collected through the trigram index.
    2. Few matches (count exact): order just those, in Python when the
       ordering is numeric, else by the database looking them up by key.
       Many matches: walk the ordering's covering index (it holds
       search_text, so entries are filtered without visiting the table);
       matches are dense enough that the walk soon fills the page.
    3. The page's rows from ``rows_for``, by key, so the filters are never
       evaluated twice.
    """
    sort_keys = numeric_ordering(queryset)
    sort_columns = [field for field, _ in sort_keys or ()]
    candidates = list(queryset.values_list("pk", *sort_columns).order_by()[: count_limit + 1])
    if len(candidates) <= count_limit:
        if sort_keys:
            # Stable sorts, least significant key first.
            for position, (_, descending) in reversed(list(enumerate(sort_keys, start=1))):
                candidates.sort(key=itemgetter(position), reverse=descending)
            keys = [row[0] for row in candidates[offset : offset + limit]]
        else:
            matching = queryset.model._default_manager.using(queryset.db).filter(
                pk__in=[row[0] for row in candidates]
            )
            ordered = matching.order_by(*queryset.query.order_by).values_list("pk", flat=True)
            keys = list(ordered[offset : offset + limit])
        return Page(rows_for(keys), len(candidates), True, offset + limit < len(candidates))
    keys = list(queryset.values_list("pk", flat=True)[offset : offset + limit + 1])
    return Page(rows_for(keys[:limit]), count_limit, False, len(keys) > limit)


@dataclass
class MoviePage(Page):
    """A page of the movie list: ListedMovie rows, and the correction of a search that found
    nothing (None without a search, or when nothing is to be corrected)."""

    rows: list[ListedMovie]
    did_you_mean: str | None = None


def movie_page(
    queryset: QuerySet, params, *, offset: int, limit: int, count_limit: int = COUNT_LIMIT
) -> MoviePage:
    """One page of ``queryset``, the movie list filtered and ordered by ``params``
    (catalog.api.filters.filter_movies), and how many movies match.

    Searches in relevance order are planned by catalog.api.relevance, the
    other orders by plan_page. With ``?search=``, a search that found nothing
    gets its correction, when the corrected query finds a movie with the same
    other filters.
    """
    rows_for = Movie.objects.using(queryset.db).listed
    query = relevance_query(params)
    if query is None:
        page = plan_page(
            queryset, rows_for=rows_for, offset=offset, limit=limit, count_limit=count_limit
        )
    else:
        ranked = plan_relevance_page(
            queryset,
            query=query,
            offset=offset,
            limit=limit,
            count_limit=count_limit,
            other_filters=filtered_beyond_search(params),
        )
        page = Page(rows_for(ranked.keys), ranked.count, ranked.count_exact, ranked.has_more)
    did_you_mean = None
    if SEARCH_PARAM in params and page.count == 0:
        movies = queryset.model._default_manager.using(queryset.db)
        did_you_mean = vocabulary.did_you_mean(
            params[SEARCH_PARAM],
            finds=lambda corrected: finds(movies.all(), corrected, params),
            using=queryset.db,
        )
    return MoviePage(page.rows, page.count, page.count_exact, page.has_more, did_you_mean)


def list_movies(params, *, offset: int, limit: int) -> MoviePage:
    """A page of the movie list as ``GET /api/movies`` answers it for these parameters.

    ``params`` (a QueryDict, or any mapping with ``get`` and ``keys``) are the
    list's: ``search``, the filters, ``ordering``. Raises ValidationError
    naming a parameter that is refused, with the API's messages.
    """
    queryset = filter_movies(Movie.objects.all(), params)
    return movie_page(queryset, params, offset=offset, limit=limit)


class CatalogPagination(LimitOffsetPagination):
    """``?limit=`` (default 20, larger values clamped to 100) and ``?offset=``.

    The links to the next and previous pages carry the list's own parameters
    only (query_parameters): a parameter the list ignores changes nothing in
    its answer, which the response cache can then keep once for every such
    variant of the URL.
    """

    default_limit = 20
    max_limit = 100
    max_offset = MAX_OFFSET
    count_limit = COUNT_LIMIT
    # The query parameters the list reads besides limit and offset.
    list_parameters: tuple[str, ...] = ()

    @classmethod
    def query_parameters(cls) -> frozenset[str]:
        """Every query parameter a page of the list answers to (a renderer's ``format`` too)."""
        own = (cls.limit_query_param, cls.offset_query_param, api_settings.URL_FORMAT_OVERRIDE)
        return frozenset(name for name in (*own, *cls.list_parameters) if name)

    def list_url(self) -> str:
        """This page's absolute URL with the list's own parameters only."""
        request = self.request
        assert request is not None  # paginate_queryset sets it
        known = self.query_parameters()
        query = urlencode(
            [
                (name, value)
                for name, values in request.query_params.lists()
                if name in known
                for value in values
            ]
        )
        return request.build_absolute_uri(request.path + (f"?{query}" if query else ""))

    def get_limit(self, request) -> int:
        params = request.query_params
        limit = parse_int(params, self.limit_query_param, minimum=1, message=LIMIT_INVALID)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        params = request.query_params
        offset = parse_int(params, self.offset_query_param, minimum=0, message=OFFSET_INVALID)
        if offset is not None and offset > self.max_offset:
            raise ValidationError({self.offset_query_param: [OFFSET_TOO_DEEP]})
        return offset or 0

    def paginate_queryset(self, queryset, request, view=None):
        # Both parameters are validated before the database is touched.
        self.limit = limit = self.get_limit(request)
        self.offset = offset = self.get_offset(request)
        self.request = request
        page = self.plan(queryset, request, view, offset=offset, limit=limit)
        self.count, self.count_exact, self.has_more = page.count, page.count_exact, page.has_more
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page.rows

    def plan(self, queryset: QuerySet, request, view, *, offset: int, limit: int) -> Page:
        """The page and the count, as plan_page plans them; rows read as the view reads them."""
        rows_for = rows_by_key(view.get_queryset() if view is not None else queryset)
        return plan_page(
            queryset, rows_for=rows_for, offset=offset, limit=limit, count_limit=self.count_limit
        )

    def get_next_link(self) -> str | None:
        # From has_more, not count: a count past the limit is only a lower bound.
        if not self.has_more or self.request is None:
            return None
        limit, offset = self.limit or self.default_limit, self.offset or 0
        url = replace_query_param(self.list_url(), self.limit_query_param, limit)
        return replace_query_param(url, self.offset_query_param, offset + limit)

    def get_previous_link(self) -> str | None:
        if not self.offset or self.request is None:
            return None
        limit = self.limit or self.default_limit
        url = replace_query_param(self.list_url(), self.limit_query_param, limit)
        if self.offset - limit <= 0:
            return remove_query_param(url, self.offset_query_param)
        return replace_query_param(url, self.offset_query_param, self.offset - limit)

    def get_paginated_response(self, data) -> Response:
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["properties"]["count_exact"] = {
            "type": "boolean",
            "example": True,
            "description": f"False when more than {COUNT_LIMIT} results match; "
            "count is then a lower bound.",
        }
        response_schema["required"].append("count_exact")
        return response_schema


class MoviePagination(CatalogPagination):
    """Pages of movies, read as ListedMovie rows in one query rather than model instances.

    Planned by movie_page. With ``?search=``, the response adds ``did_you_mean``.
    """

    list_parameters = MOVIE_LIST_PARAMETERS

    def plan(self, queryset: QuerySet, request, view, *, offset: int, limit: int) -> Page:
        page = movie_page(
            queryset,
            request.query_params,
            offset=offset,
            limit=limit,
            count_limit=self.count_limit,
        )
        self.searched = SEARCH_PARAM in request.query_params
        self.did_you_mean = page.did_you_mean
        return page

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        if self.searched:
            response.data["did_you_mean"] = self.did_you_mean
        return response

    def get_paginated_response_schema(self, schema: dict) -> dict:
        response_schema = super().get_paginated_response_schema(schema)
        response_schema["properties"]["did_you_mean"] = {
            "type": "string",
            "nullable": True,
            "example": "the godfather",
            "description": "Only with `search`: null, unless the search found nothing and "
            "replacing its misspelt terms by the closest words of the catalogue finds "
            "something; then that query, to search for instead.",
        }
        return response_schema
