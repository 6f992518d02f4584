"""Limit/offset pagination with bounded cost.

Counts are exact up to COUNT_LIMIT; past it the response says ``count_exact:
false`` and ``count`` is a lower bound, as Elasticsearch's ``track_total_hits``
does, so a broad search never counts a million rows. Offsets past MAX_OFFSET
are refused: deeper pages are better reached with a narrower search.
"""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

COUNT_LIMIT = 10_000
MAX_OFFSET = 10_000
LIMIT_INVALID = "Must be a positive integer."
OFFSET_INVALID = "Must be an integer of at least 0."
OFFSET_TOO_DEEP = f"Must be at most {MAX_OFFSET}; narrow the search to reach further results."


def parse_int(raw: str | None, *, parameter: str, minimum: int, message: str) -> int | None:
    """The integer in a query parameter, None when it is absent or empty."""
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
        raise ValidationError({parameter: [message]})
    value = int(raw)
    if value < minimum:
        raise ValidationError({parameter: [message]})
    return value


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
        # Validate both parameters before touching the database.
        self.get_limit(request)
        self.get_offset(request)
        return super().paginate_queryset(queryset, request, view)

    def get_count(self, queryset) -> int:
        capped = queryset.order_by().values("pk")[: self.count_limit + 1].count()
        self.count_exact = capped <= self.count_limit
        return min(capped, self.count_limit)

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
