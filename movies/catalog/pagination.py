"""Limit/offset pagination with bounded cost.

Counts are exact up to COUNT_LIMIT; past it the response says ``count_exact:
false`` and ``count`` is a lower bound, as Elasticsearch's ``track_total_hits``
does, so a broad search never counts a million rows. Offsets past MAX_OFFSET
are refused: deeper pages are better reached with a narrower search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

COUNT_LIMIT = 1_000
MAX_OFFSET = 10_000
LIMIT_INVALID = "Must be a positive integer."
OFFSET_INVALID = "Must be an integer of at least 0."
OFFSET_TOO_DEEP = f"Must be at most {MAX_OFFSET}; narrow the search to reach further results."
_INTEGER = re.compile(r"-?[0-9]{1,20}")


def parse_int(raw: str | None, *, parameter: str, minimum: int, message: str) -> int | None:
    """The integer in a query parameter, None when it is absent or empty."""
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


def plan_page(
    queryset: QuerySet, *, rows_from: QuerySet, offset: int, limit: int, count_limit: int
) -> Page:
    """One page of an ordered queryset, and how many rows match.

    The plan is chosen from the data rather than left to the database's
    estimates, which go wrong for combined LIKE conditions:

    1. Up to count_limit + 1 matching ids, in no order. A broad search stops
       early; a narrow one is collected through the trigram index.
    2. Few matches (count exact): order just those rows, looked up by key.
       Many matches: walk the ordering's covering index (it holds search_text,
       so entries are filtered without visiting the table); matches are dense
       enough that the walk soon fills the page.

    Rows come from ``rows_from`` (the unfiltered queryset, with its column
    choice and prefetches) by key, so the filters are never evaluated twice.
    """
    ordered = queryset.values_list("pk", flat=True)
    candidates = list(ordered.order_by()[: count_limit + 1])
    if len(candidates) <= count_limit:
        by_key = rows_from.filter(pk__in=candidates).order_by(*queryset.query.order_by)
        rows = list(by_key[offset : offset + limit])
        return Page(rows, len(candidates), True, offset + limit < len(candidates))
    ids = list(ordered[offset : offset + limit + 1])
    by_id = {row.pk: row for row in rows_from.filter(pk__in=ids[:limit]).order_by()}
    rows = [by_id[pk] for pk in ids[:limit] if pk in by_id]
    return Page(rows, count_limit, False, len(ids) > limit)


class CatalogPagination(LimitOffsetPagination):
    """``?limit=`` (default 20, larger values clamped to 100) and ``?offset=``."""

    default_limit = 20
    max_limit = 100
    max_offset = MAX_OFFSET
    count_limit = COUNT_LIMIT

    def get_limit(self, request) -> int:
        limit = parse_int(
            request.query_params.get(self.limit_query_param),
            parameter=self.limit_query_param,
            minimum=1,
            message=LIMIT_INVALID,
        )
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        offset = parse_int(
            request.query_params.get(self.offset_query_param),
            parameter=self.offset_query_param,
            minimum=0,
            message=OFFSET_INVALID,
        )
        if offset is not None and offset > self.max_offset:
            raise ValidationError({self.offset_query_param: [OFFSET_TOO_DEEP]})
        return offset or 0

    def paginate_queryset(self, queryset, request, view=None):
        # Both parameters are validated before the database is touched.
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        self.request = request
        page = plan_page(
            queryset,
            rows_from=view.get_queryset() if view is not None else queryset,
            offset=self.offset,
            limit=self.limit,
            count_limit=self.count_limit,
        )
        self.count, self.count_exact, self.has_more = page.count, page.count_exact, page.has_more
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        return page.rows

    def get_next_link(self) -> str | None:
        # From has_more, not count: a count past the limit is only a lower bound.
        if not self.has_more:
            return None
        url = self.request.build_absolute_uri()
        url = replace_query_param(url, self.limit_query_param, self.limit)
        return replace_query_param(url, self.offset_query_param, self.offset + self.limit)

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
