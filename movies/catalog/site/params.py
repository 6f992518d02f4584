"""The search page's parameters: ``q``, ``verbatim``, ``genre``, ``ordering`` and ``page``.

They mean what the movie list's ``search``, ``genre`` and ``ordering`` mean
(catalog.reads), and are checked by its rules, with its messages: a search of
at most 200 characters and 10 terms, at most 20 genres, the orderings it
offers, a page within the deepest offset it serves. ``verbatim=1`` asks for
the search as typed, never corrected. A refused parameter is an
InvalidQuery naming it as the page calls it. Any other parameter is ignored:
it changes nothing on the page (SEARCH_PAGE_PARAMETERS). SearchParams.parse
parses the text typed once; the page's MovieQuery carries it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.http import QueryDict

from catalog.models import genre_key
from catalog.reads.query import (
    DEFAULT_LIMIT,
    GENRE,
    LIMIT_INVALID,
    MAX_OFFSET,
    ORDERING,
    RELEVANCE,
    InvalidQuery,
    MovieQuery,
    parse_genres,
    parse_int,
    parse_ordering,
    parse_search,
)
from catalog.search import Search

QUERY_PARAM = "q"
VERBATIM_PARAM = "verbatim"
PAGE_PARAM = "page"
# Every query parameter the search page reads.
SEARCH_PAGE_PARAMETERS = (QUERY_PARAM, VERBATIM_PARAM, GENRE, ORDERING, PAGE_PARAM)
PAGE_SIZE = DEFAULT_LIMIT
# The last page whose offset the movie list serves.
MAX_PAGE = MAX_OFFSET // PAGE_SIZE + 1
PAGE_INVALID = LIMIT_INVALID
PAGE_TOO_DEEP = f"Must be at most {MAX_PAGE}; narrow the search to reach further results."
# Two spellings only, so that a page taken as typed is one entry of the response cache.
VERBATIM_VALUES = {"1": True, "0": False, "": False}
VERBATIM_INVALID = "Must be 1 (the search as typed, not corrected) or 0."


@dataclass(frozen=True)
class SearchParams:
    """What a search page asks for: the text typed, genres (all must match), order, page,
    and whether the text is taken as typed even when it finds nothing (``verbatim``)."""

    query: str = ""
    genres: tuple[str, ...] = ()
    ordering: str = ""  # as asked for; "" is the default (relevance with a search)
    page: int = 1
    # The text typed, parsed.
    search: Search = Search()
    verbatim: bool = False

    @classmethod
    def parse(cls, data: QueryDict) -> SearchParams:
        """The parameters of a request; InvalidQuery names the first one refused."""
        query = data.get(QUERY_PARAM, "")
        search = parse_search(query, QUERY_PARAM)
        genres = parse_genres(data.getlist(GENRE))
        ordering = parse_ordering(data.get(ORDERING, ""), ORDERING)
        page = parse_int(data.get(PAGE_PARAM), PAGE_PARAM, minimum=1, message=PAGE_INVALID) or 1
        if page > MAX_PAGE:
            raise InvalidQuery.of(PAGE_PARAM, PAGE_TOO_DEEP)
        verbatim = VERBATIM_VALUES.get(data.get(VERBATIM_PARAM, "").strip())
        if verbatim is None:
            raise InvalidQuery.of(VERBATIM_PARAM, VERBATIM_INVALID)
        return cls(query, genres, ordering, page, search, verbatim)

    @property
    def searching(self) -> bool:
        """Whether the text typed has any term (a blank search is no search)."""
        return bool(self.search)

    @property
    def active(self) -> bool:
        """Whether there is anything to list: a search or a genre."""
        return self.searching or bool(self.genres)

    @property
    def ordering_in_effect(self) -> str:
        """The order the results are in: relevance with a search, else -popularity by default."""
        return self.movie_query().ordering_in_effect

    def movie_query(self) -> MovieQuery:
        """What these parameters ask of the movie list: a page of PAGE_SIZE movies."""
        search = self.search if self.searching else None
        return MovieQuery(
            search=search,
            genres=self.genres,
            ordering=self.ordering,
            offset=self.offset,
            limit=PAGE_SIZE,
        )

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
        return replace(self, query=query, page=1, search=Search.parse(query), verbatim=False)

    def as_typed(self) -> SearchParams:
        """The same search from its first page, never corrected."""
        return replace(self, page=1, verbatim=True)

    def url(self) -> str:
        """The search page's URL for these parameters, leaving out the defaults."""
        pairs: list[tuple[str, str | int]] = []
        if self.query.strip():
            pairs.append((QUERY_PARAM, self.query))
            if self.verbatim:
                pairs.append((VERBATIM_PARAM, 1))
        pairs += [(GENRE, genre) for genre in self.genres]
        if self.ordering and self.ordering != RELEVANCE:
            pairs.append((ORDERING, self.ordering))
        if self.page > 1:
            pairs.append((PAGE_PARAM, self.page))
        return "/?" + urlencode(pairs) if pairs else "/"
