"""OpenAPI descriptions shared by the endpoints: the error shape, examples, and the
rate-limit headers and 429 of every throttled endpoint, and the components a
paginator's answer refers to (CatalogSchema)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    inline_serializer,
)
from rest_framework import serializers

from catalog.api.serializers import MovieSerializer
from operations.throttling import LIMIT_HEADER, REMAINING_HEADER, RESET_HEADER

ERROR = inline_serializer(
    name="Error",
    fields={
        "status": serializers.IntegerField(help_text="The HTTP status."),
        "code": serializers.CharField(help_text="A stable machine-readable code."),
        "detail": serializers.CharField(help_text="A human-readable summary."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages by parameter or field; empty when none applies.",
        ),
    },
)


def _error(status: int, code: str, detail: str, description: str, errors=None):
    return OpenApiResponse(
        response=ERROR,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={"status": status, "code": code, "detail": detail, "errors": errors or {}},
                response_only=True,
                status_codes=[str(status)],
            )
        ],
    )


ERROR_400 = _error(
    400,
    "invalid",
    "limit: Must be a positive integer.",
    "A parameter or field is invalid; `errors` names it.",
    {"limit": ["Must be a positive integer."]},
)
ERROR_401 = _error(
    401,
    "not_authenticated",
    "Authentication credentials were not provided.",
    "No or invalid credentials.",
)
ERROR_403 = _error(
    403,
    "permission_denied",
    "You do not have permission to perform this action.",
    "The account is not staff.",
)
ERROR_404 = _error(404, "not_found", "Not found.", "No such resource.")
ERROR_409 = _error(
    409,
    "conflict",
    "name: A movie with this name and director already exists.",
    "The catalogue already has it.",
    {"name": ["A movie with this name and director already exists."]},
)
ERROR_429_THROTTLED = _error(
    429,
    "throttled",
    "Request was throttled. Expected available in 42 seconds.",
    "Too many requests; `Retry-After` says when to try again.",
)
ERROR_429 = _error(
    429,
    "throttled",
    "Request was throttled. Expected available in 42 seconds.",
    "Too many requests, or too many failed logins from this address (`locked_out`); "
    "`Retry-After` says when to try again.",
)
ERROR_410 = _error(
    410,
    "gone",
    "since: Older than the deletions this service keeps (30 days): ...",
    "The token is older than the deletions kept: export again and follow from its token.",
    {"since": ["Older than the deletions this service keeps (30 days): ..."]},
)


def _response_header(name: str, description: str, statuses: list[int] | None = None):
    return OpenApiParameter(
        name,
        int,
        location=OpenApiParameter.HEADER,
        description=description,
        response=statuses or True,
    )


# The client's budget, from the most restrictive throttle applying to the request.
RATE_LIMIT_HEADERS = [
    _response_header(LIMIT_HEADER, "Requests a client may make in the throttle's window."),
    _response_header(REMAINING_HEADER, "Requests left in the window, this one counted."),
    _response_header(RESET_HEADER, "Seconds until the window frees a request."),
    _response_header("Retry-After", "Seconds until a request is allowed again.", [429]),
]


class CatalogSchema(AutoSchema):
    """drf-spectacular's, with the rate-limit headers on every answer of a throttled
    endpoint, and its 429."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        return [*parameters, *RATE_LIMIT_HEADERS] if self._throttled() else parameters

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None and self._throttled():
            operation["responses"].setdefault(
                "429", self._get_response_for_code(ERROR_429_THROTTLED, "429")
            )
        return operation

    def _get_paginator(self):
        # A paginator may describe part of its answer by a serializer (MoviePagination's
        # facets): it gets the reference to that serializer's component.
        paginator = super()._get_paginator()
        if paginator is not None:
            paginator.component_of = lambda serializer: (
                self.resolve_serializer(serializer, "response").ref
            )
        return paginator

    def _throttled(self) -> bool:
        return bool(self.view.throttle_classes)


WRITE_ERRORS = {400: ERROR_400, 401: ERROR_401, 403: ERROR_403, 409: ERROR_409}
DELETE_RESPONSES = {
    204: OpenApiResponse(description="Removed."),
    404: ERROR_404,
    401: ERROR_401,
    403: ERROR_403,
}


def change_responses(serializer) -> dict:
    """What a PUT or PATCH answers: the changed resource, or why not."""
    return {200: serializer, 404: ERROR_404, **WRITE_ERRORS}


MOVIE_LIST_EXAMPLE = OpenApiExample(
    "search=titanic",
    value={
        "id": 82,
        "name": "Titanic",
        "director": "James Cameron",
        "popularity": 74.0,
        "imdb_score": 7.9,
        "genre": [{"id": 7, "name": "Drama"}, {"id": 15, "name": "Romance"}],
    },
    response_only=True,
    status_codes=["200"],
)
MOVIE_WRITE_EXAMPLE = OpenApiExample(
    "movie",
    value={
        "name": "Paths of Glory",
        "director": "Stanley Kubrick",
        "popularity": 86.0,
        "imdb_score": 8.4,
        "genre": ["Drama", "War"],
    },
    request_only=True,
)


def without_trailing_slashes(result: dict, **kwargs) -> dict:
    """Document the legacy paths (/api/movies); the slashed forms also answer."""
    result["paths"] = {
        (path.rstrip("/") if path != "/" else path): item for path, item in result["paths"].items()
    }
    return result


SUGGEST_PARAMETERS = [
    OpenApiParameter(
        "q",
        str,
        description=(
            "What has been typed so far (at most 200 characters and 10 words). Each word "
            "must match a word of the movie's name or director: the last as a prefix, the "
            "others whole; a word may be one edit off when it or the movie's word has 5 to "
            "8 letters (the longer), two when 9 or more. "
            "Blank: no suggestions."
        ),
    ),
    OpenApiParameter("limit", int, description="How many suggestions: 1 to 20, default 8."),
]
SUGGESTIONS = inline_serializer(
    "Suggestions",
    fields={
        "query": serializers.CharField(help_text="The q asked for."),
        "results": MovieSerializer(
            many=True,
            help_text=(
                "Best first: fewer typos, then more words matched whole (the word being "
                "typed only in the name), then names that are the words meant, begin with "
                "them or hold every word, then names they make up more of, then popularity. "
                "Text ending in a space puts names that go on before the name it is."
            ),
        ),
    },
)
