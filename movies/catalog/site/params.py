"""The search page's parameters: ``q``, ``genre``, ``ordering`` and ``page``.

They mean what the API list's ``search``, ``genre`` and ``ordering`` mean, and
are checked by the API's own rules, with its messages: a search of at most 200
characters and 10 terms, at most 20 genres, the orderings it offers, a page
within the deepest offset it serves (catalog.api). A refused parameter is an
InvalidParameter naming it as the page calls it. Any other parameter is
ignored: it changes nothing on the page (SEARCH_PAGE_PARAMETERS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from catalog.api.filters import (
    GENRE_PARAM,
    ORDERING_PARAM,
    RELEVANCE,
    SEARCH_PARAM,
    requested_genres,
    requested_ordering,
)
from catalog.api.pagination import LIMIT_INVALID, MAX_OFFSET, CatalogPagination, parse_int
from catalog.models import genre_key
from catalog.search import InvalidSearch, split_terms

QUERY_PARAM = "q"
PAGE_PARAM = "page"
# Every query parameter the search page reads.
SEARCH_PAGE_PARAMETERS = (QUERY_PARAM, GENRE_PARAM, ORDERING_PARAM, PAGE_PARAM)
PAGE_SIZE = CatalogPagination.default_limit
# The last page whose offset the API serves.
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
PAGE_INVALID = LIMIT_INVALID
PAGE_TOO_DEEP = f"Must be at most {MAX_PAGE}; narrow the search to reach further results."
# The page's names of the API list's parameters.
PAGE_NAMES = {SEARCH_PARAM: QUERY_PARAM}


class InvalidParameter(ValueError):
    """A parameter the page refuses; the message is meant for the reader."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message

    @classmethod
    def of(cls, error: ValidationError) -> InvalidParameter:
        """The first parameter an API ValidationError names, by the page's name for it."""
        detail = error.detail
        if isinstance(detail, Mapping) and detail:
            name, messages = next(iter(detail.items()))
            message = messages[0] if isinstance(messages, list) and messages else messages
            return cls(PAGE_NAMES.get(str(name), str(name)), str(message))
        return cls("parameters", " ".join(str(item) for item in error.detail))


@dataclass(frozen=True)
class SearchParams:
    """What a search page asks for: the text typed, genres (all must match), order, page."""

    query: str = ""
    genres: tuple[str, ...] = ()
    ordering: str = ""  # as asked for; "" is the default (relevance with a search)
    page: int = 1

    @classmethod
    def parse(cls, data: QueryDict) -> SearchParams:
        """The parameters of a request; InvalidParameter names the first one refused."""
        query = data.get(QUERY_PARAM, "")
        try:
            split_terms(query)
        except InvalidSearch as error:
            raise InvalidParameter(QUERY_PARAM, str(error)) from None
        ordering = data.get(ORDERING_PARAM, "").strip()
        try:
            genres = genre_names(data.getlist(GENRE_PARAM))
            requested_ordering({ORDERING_PARAM: ordering})
            page = parse_int(data, PAGE_PARAM, minimum=1, message=PAGE_INVALID) or 1
        except ValidationError as error:
            raise InvalidParameter.of(error) from None
        if page > MAX_PAGE:
            raise InvalidParameter(PAGE_PARAM, PAGE_TOO_DEEP)
        return cls(query, genres, ordering, page)

    @property
    def searching(self) -> bool:
        """Whether the text typed has any term (a blank search is no search)."""
        return bool(split_terms(self.query))

    @property
    def active(self) -> bool:
        """Whether there is anything to list: a search or a genre."""
        return self.searching or bool(self.genres)

    @property
    def ordering_in_effect(self) -> str:
        """The order the results are in: relevance with a search, else -popularity by default."""
        return requested_ordering(self.listing())

    def listing(self) -> QueryDict:
        """These parameters as the API's movie list takes them."""
        params = QueryDict(mutable=True)
        if self.searching:
            params[SEARCH_PARAM] = self.query
        if self.genres:
            params.setlist(GENRE_PARAM, list(self.genres))
        if self.ordering:
            params[ORDERING_PARAM] = self.ordering
        return params

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def with_genres(self, genres: tuple[str, ...]) -> SearchParams:
        return replace(self, genres=genres)

    def with_genre(self, genre: str) -> SearchParams:
        return replace(self, genres=(*self.genres, genre), page=1)

    def without_genre(self, genre: str) -> SearchParams:
        key = genre_key(genre)
        kept = tuple(name for name in self.genres if genre_key(name) != key)
        return replace(self, genres=kept, page=1)

    def at_page(self, page: int) -> SearchParams:
        return replace(self, page=page)

    def searching_for(self, query: str) -> SearchParams:
        return replace(self, query=query, page=1)

    def url(self) -> str:
        """The search page's URL for these parameters, leaving out the defaults."""
        pairs: list[tuple[str, str | int]] = []
        if self.query.strip():
            pairs.append((QUERY_PARAM, self.query))
        pairs += [(GENRE_PARAM, genre) for genre in self.genres]
        if self.ordering and self.ordering != RELEVANCE:
            pairs.append((ORDERING_PARAM, self.ordering))
        if self.page > 1:
            pairs.append((PAGE_PARAM, self.page))
        return "/?" + urlencode(pairs) if pairs else "/"


def genre_names(values: list[str]) -> tuple[str, ...]:
    """Genre names from ``genre`` parameters, comma-separated or repeated as the API takes
    them: trimmed, blanks left out, each genre once (by catalog.models.genre_key), at most
    MAX_GENRES (a ValidationError past them, as catalog.api.filters.requested_genres)."""
    return tuple(requested_genres(values).values())
