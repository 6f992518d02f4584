"""Pages of the API's lists: ``?limit=`` and ``?offset=``, counts, and the links between pages.

Counts are exact up to a count limit; past it the response says
``count_exact: false`` and ``count`` is a lower bound (catalog.reads.paging).
Offsets past MAX_OFFSET are refused: deeper pages are better reached with a
narrower search. A movie list asked for with ``?search=`` also says
``did_you_mean``: null, or the corrected search when it found nothing and a
correction finds a movie (catalog.reads.listing); one asked for with
``?facets=genre``, ``facets`` (FacetsSerializer).
"""

from __future__ import annotations

from urllib.parse import urlencode

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog.api.query import HIGHLIGHT
from catalog.api.serializers import FacetsSerializer
from catalog.reads import MoviePage, MovieQuery
from catalog.reads.cursors import CURSOR, Cursor, entry_of
from catalog.reads.listing import ordering_keys
from catalog.reads.paging import Page, plan_page, rows_by_key
from catalog.reads.query import (
    COUNT_LIMIT,
    DEFAULT_LIMIT,
    LIMIT,
    LIST_PARAMETERS,
    MAX_LIMIT,
    MAX_OFFSET,
    OFFSET,
    parse_window,
)


class CatalogPagination(LimitOffsetPagination):
    """``?limit=`` (default 20, larger values clamped to 100) and ``?offset=``.

    The links to the next and previous pages carry the list's own parameters
    only (query_parameters): a parameter the list ignores changes nothing in
    its answer, which the response cache can then keep once for every such
    variant of the URL.
    """

    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT
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
        assert request is not None  # a page is planned or presented first
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

    def paginate_queryset(self, queryset, request, view=None):
        # Both parameters are checked before the database is touched.
        limit, offset = parse_window(
            request.query_params, default_limit=self.default_limit, max_limit=self.max_limit
        )
        rows_for = rows_by_key(view.get_queryset() if view is not None else queryset)
        page = plan_page(
            queryset, rows_for=rows_for, offset=offset, limit=limit, count_limit=self.count_limit
        )
        self.present(request, page, offset=offset, limit=limit)
        return page.rows

    def present(self, request, page: Page, *, offset: int, limit: int) -> None:
        """Take ``page`` as the one this response shows."""
        self.request, self.offset, self.limit = request, offset, limit
        self.count, self.count_exact, self.has_more = page.count, page.count_exact, page.has_more
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True

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


# What ``facets=genre`` adds to a list (the genres of search=titanic).
FACETS_EXAMPLE = {
    "genre": [
        {"id": 7, "name": "Drama", "count": 2, "count_exact": True},
        {"id": 15, "name": "Romance", "count": 2, "count_exact": True},
    ]
}


class MoviePagination(CatalogPagination):
    """Pages of movies: a MoviePage of catalog.reads, presented; with ``?search=``, the
    response adds ``did_you_mean``, with ``?facets=`` naming any, ``facets``. With
    ``?cursor=`` (empty for the first page), the links to the next and previous pages
    carry cursors instead of offsets. ``?highlight=`` is one of the list's parameters:
    its links carry it, and the response cache keeps highlighted and plain answers apart."""

    list_parameters = (
        *(name for name in LIST_PARAMETERS if name not in (LIMIT, OFFSET)),
        HIGHLIGHT,
    )
    # Set by present_movies for a cursor page (catalog.reads.cursors).
    cursor: Cursor | None = None
    # Set by present_movies: the counts asked for with ``?facets=``.
    facets: dict | None = None

    def present_movies(self, request, query: MovieQuery, page: MoviePage) -> None:
        self.present(request, page, offset=query.offset, limit=query.limit)
        self.searched = query.search is not None
        self.did_you_mean = page.did_you_mean
        self.facets = page.facets
        self.cursor, self.identity = query.cursor, query.identity
        self.order = ordering_keys(query.ordering_in_effect)
        self.rows, self.has_before = page.rows, page.has_before

    def get_next_link(self) -> str | None:
        if self.cursor is None:
            return super().get_next_link()
        if not self.has_more:
            return None
        if not self.rows:  # nothing before where a page read backwards ended
            return self._cursor_link(Cursor())
        return self._cursor_link(Cursor(entry_of(self.rows[-1], self.order)))

    def get_previous_link(self) -> str | None:
        if self.cursor is None:
            return super().get_previous_link()
        if not self.has_before:
            return None
        if not self.rows:  # past the end, or before the start: the list's first page
            return self._cursor_link(Cursor())
        return self._cursor_link(Cursor(entry_of(self.rows[0], self.order), backwards=True))

    def _cursor_link(self, cursor: Cursor) -> str:
        url = remove_query_param(self.list_url(), self.offset_query_param)
        url = replace_query_param(url, self.limit_query_param, self.limit or self.default_limit)
        return replace_query_param(url, CURSOR, cursor.encode(self.identity))

    def get_paginated_response(self, data) -> Response:
        response = super().get_paginated_response(data)
        if self.searched:
            response.data["did_you_mean"] = self.did_you_mean
        if self.facets is not None:
            response.data["facets"] = FacetsSerializer(self.facets).data
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
        # The schema generator's reference to a serializer's component (CatalogSchema).
        component_of = getattr(self, "component_of", None)
        if component_of is not None:
            response_schema["properties"]["facets"] = {
                "allOf": [component_of(FacetsSerializer)],
                "example": FACETS_EXAMPLE,
            }
        return response_schema
