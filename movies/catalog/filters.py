"""Filter backends for the movie list: ``?search=`` and ``?ordering=``."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from catalog.search import InvalidSearch, search_movies

ORDERING_FIELDS = ("name", "popularity", "imdb_score")
DEFAULT_ORDERING = "-popularity"
ORDERING_INVALID = "Must be one of: " + ", ".join(
    f"{field}, -{field}" for field in ORDERING_FIELDS
)


class MovieSearchFilter(BaseFilterBackend):
    """``?search=``: terms separated by whitespace or commas, every one must match.

    See catalog.search for the exact semantics.
    """

    search_param = "search"

    def filter_queryset(self, request, queryset, view):
        query = request.query_params.get(self.search_param, "")
        try:
            return search_movies(queryset, query)
        except InvalidSearch as error:
            raise ValidationError({self.search_param: [str(error)]}) from None

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": (
                    "Terms separated by whitespace or commas. A movie matches when every "
                    "term is a case- and accent-insensitive substring of its name, "
                    "director, popularity, imdb_score or one of its genres."
                ),
                "schema": {"type": "string", "maxLength": 200},
                "examples": {
                    "title": {"value": "titanic"},
                    "genres": {"value": "drama,crime"},
                    "everything": {"value": "the,john,70,7,war"},
                },
            }
        ]


def ordering_keys(ordering: str) -> tuple[str, str]:
    """Order by the field, then by id in the same direction (one index serves both)."""
    descending = ordering.startswith("-")
    return (ordering, "-id" if descending else "id")


class MovieOrderingFilter(BaseFilterBackend):
    """``?ordering=``: name, popularity or imdb_score, ``-`` for descending.

    The default is ``-popularity``; ties are broken by id in the same direction,
    so every order is total and pages never overlap.
    """

    ordering_param = "ordering"

    def filter_queryset(self, request, queryset, view):
        ordering = request.query_params.get(self.ordering_param, "").strip() or DEFAULT_ORDERING
        if ordering.lstrip("-") not in ORDERING_FIELDS or ordering.startswith("--"):
            raise ValidationError({self.ordering_param: [ORDERING_INVALID]})
        return queryset.order_by(*ordering_keys(ordering))

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort order; ties are broken by id in the same direction.",
                "schema": {
                    "type": "string",
                    "enum": [f"{sign}{field}" for field in ORDERING_FIELDS for sign in ("", "-")],
                    "default": DEFAULT_ORDERING,
                },
            }
        ]
