"""What a list of movies is asked for: a MovieQuery, parsed once from any source.

The API's query string (MovieQuery.from_params), the search page's form
(catalog.site.params) and the admin's search box each parse their input once,
with the checks here, into a MovieQuery; catalog.reads.listing answers it.
Nothing downstream parses a parameter again. A refused parameter is an
InvalidQuery naming it, with messages meant for the client; each caller
names parameters as its clients do (``search`` for the API, ``q`` for the page).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator

from catalog.models import IMDB_SCORE_RANGE, MAX_GENRES, POPULARITY_RANGE, genre_key
from catalog.reads.cursors import CURSOR, Cursor, InvalidCursor
from catalog.search import InvalidSearch, Search

RELEVANCE = "relevance"
ORDERING_FIELDS = ("name", "popularity", "imdb_score")
DEFAULT_ORDERING = "-popularity"
ORDERINGS = (RELEVANCE, *(f"{sign}{name}" for name in ORDERING_FIELDS for sign in ("", "-")))
ORDERING_INVALID = "Must be one of: " + ", ".join(ORDERINGS) + "."
TOO_MANY_GENRES = f"Must name at most {MAX_GENRES} genres; no movie has more."
# Counts are exact up to COUNT_LIMIT, a lower bound past it; offsets stop at MAX_OFFSET.
COUNT_LIMIT = 1_000
MAX_OFFSET = 10_000
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
LIMIT_INVALID = "Must be a positive integer."
OFFSET_INVALID = "Must be an integer of at least 0."
OFFSET_TOO_DEEP = (
    f"Must be at most {MAX_OFFSET}; narrow the search, or page with cursor "
    "(an ordering other than relevance) to reach further results."
)
CURSOR_NEEDS_ORDERING = (
    "Cursor pages follow an ordering other than relevance: add ordering "
    "(for example -popularity or name)."
)
CURSOR_WITH_OFFSET = "Cannot be combined with cursor, which says where the page starts."
# The facets a list may count besides its page (MoviePage.facets).
GENRE_FACET = "genre"
KNOWN_FACETS = (GENRE_FACET,)
UNKNOWN_FACET = "Must name known facets, comma-separated: " + ", ".join(KNOWN_FACETS) + "."

SEARCH = "search"
GENRE = "genre"
GENRE_ANY = "genre_any"
DIRECTOR = "director"
ORDERING = "ordering"
LIMIT = "limit"
OFFSET = "offset"
FACETS = "facets"
_INTEGER = re.compile(r"-?[0-9]{1,20}")


class InvalidQuery(ValueError):
    """Parameters a list refuses: their messages by parameter, the first one named."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = {name: list(messages) for name, messages in errors.items()}
        self.parameter, messages = next(iter(self.errors.items()))
        self.message = messages[0]
        super().__init__(f"{self.parameter}: {self.message}")

    @classmethod
    def of(cls, parameter: str, message: str) -> InvalidQuery:
        return cls({parameter: [message]})


@dataclass(frozen=True)
class Bound:
    """An inclusive bound on a number field: ``imdb_score >= 8``."""

    field: str
    lookup: str  # "gte" or "lte"
    value: float


@dataclass(frozen=True)
class MovieQuery:
    """A page of the movie list: which movies, in which order, which of them.

    ``search`` is None when no search was asked for, and a Search (perhaps
    blank) when one was: an answer to a search says whether it has a
    correction. ``genres`` holds one name per genre (by key), a movie needing
    all; ``genre_any`` too, a movie needing one of them (when any is named);
    ``ordering`` is as asked for, "" for the default (ordering_in_effect).
    ``cursor`` is None for an offset page, else where a cursor page starts
    (catalog.reads.cursors). ``facets``: what to count besides the page
    (KNOWN_FACETS), which changes what the answer adds, not which movies it lists.
    """

    search: Search | None = None
    genres: tuple[str, ...] = ()
    director: str = ""
    bounds: tuple[Bound, ...] = ()
    ordering: str = ""
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    count_limit: int = COUNT_LIMIT
    cursor: Cursor | None = None
    genre_any: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()

    @property
    def searching(self) -> bool:
        """Whether there is a search with terms (a blank one finds everything)."""
        return bool(self.search)

    @property
    def ranking(self) -> bool:
        """Whether the search has anything relevance compares names with (Search.name_terms):
        without, every match would tie, and relevance is popularity."""
        return self.search is not None and bool(self.search.name_terms)

    @property
    def filtered(self) -> bool:
        """Whether anything besides the search narrows the list."""
        return bool(self.genres or self.genre_any or self.director.strip() or self.bounds)

    @property
    def ordering_in_effect(self) -> str:
        """Relevance when asked for (or by default) with a search, else the default order."""
        if (self.ordering or RELEVANCE) == RELEVANCE:
            return RELEVANCE if self.ranking else DEFAULT_ORDERING
        return self.ordering

    @property
    def identity(self) -> str:
        """What makes this list the one it is (not its page): a cursor is bound to it."""
        search = self.search.typed if self.search is not None else None
        bounds = sorted((bound.field, bound.lookup, bound.value) for bound in self.bounds)
        genres = sorted(map(genre_key, self.genres))
        which: tuple = (search, genres, self.director.strip(), bounds, self.ordering_in_effect)
        if self.genre_any:
            # Only when named: the cursors of lists without it stay what they were.
            which += (sorted(map(genre_key, self.genre_any)),)
        return hashlib.sha256(repr(which).encode()).hexdigest()[:16]

    def searching_for(self, search: Search) -> MovieQuery:
        """The same list with another search (a correction's)."""
        return replace(self, search=search)

    def without_genre_filters(self) -> MovieQuery:
        """The same list with neither ``genres`` nor ``genre_any``: the one whose matches
        a genre facet counts (each genre's count says what choosing it would give)."""
        return replace(self, genres=(), genre_any=())

    @classmethod
    def from_params(cls, params, *, count_limit: int = COUNT_LIMIT) -> MovieQuery:
        """The query of ``GET /api/movies``: ``search``, the filters, ``ordering``,
        ``limit``, ``offset`` and ``facets`` (a QueryDict, or a mapping with ``get``
        and ``getlist``). Checked in that order, filters first, each filter's
        problems all reported at once; InvalidQuery otherwise."""
        filters = parse_filters(params)
        search = parse_search(params[SEARCH], SEARCH) if SEARCH in params else None
        ordering = parse_ordering(params.get(ORDERING, ""), ORDERING)
        limit, offset = parse_window(params)
        facets = parse_facets(_values(params, FACETS), FACETS)
        query = cls(
            search,
            filters.genres,
            filters.director,
            filters.bounds,
            ordering,
            offset,
            limit,
            count_limit,
            genre_any=filters.genre_any,
            facets=facets,
        )
        if CURSOR not in params:
            return query
        return replace(query, cursor=parse_cursor(params, query))


def parse_cursor(params, query: MovieQuery) -> Cursor:
    """``cursor``: empty for the first page, else one a page of this list gave."""
    if query.ordering_in_effect == RELEVANCE:
        raise InvalidQuery.of(CURSOR, CURSOR_NEEDS_ORDERING)
    if (params.get(OFFSET) or "").strip():
        raise InvalidQuery.of(OFFSET, CURSOR_WITH_OFFSET)
    try:
        return Cursor.decode(params.get(CURSOR) or "", query.identity)
    except InvalidCursor as error:
        raise InvalidQuery.of(CURSOR, str(error)) from None


def parse_search(text: str, parameter: str) -> Search:
    try:
        return Search.parse(text)
    except InvalidSearch as error:
        raise InvalidQuery.of(parameter, str(error)) from None


def parse_ordering(raw: str, parameter: str) -> str:
    """The ordering asked for ("" for the default); one of ORDERINGS."""
    ordering = raw.strip()
    if ordering and ordering not in ORDERINGS:
        raise InvalidQuery.of(parameter, ORDERING_INVALID)
    return ordering


def parse_facets(values: Iterable[str], parameter: str = FACETS) -> tuple[str, ...]:
    """Facet names, comma-separated or repeated: trimmed, blanks left out, each once, in
    the order of KNOWN_FACETS; one not known refuses them (UNKNOWN_FACET)."""
    names = {name.strip() for value in values for name in value.split(",")} - {""}
    if not names <= set(KNOWN_FACETS):
        raise InvalidQuery.of(parameter, UNKNOWN_FACET)
    return tuple(name for name in KNOWN_FACETS if name in names)


def parse_genres(values: Iterable[str], parameter: str = GENRE) -> tuple[str, ...]:
    """Genre names from ``genre`` (or ``genre_any``) parameters, comma-separated or
    repeated: trimmed, blanks left out, each genre once (by its key), the first spelling
    given.

    A movie has at most MAX_GENRES genres, so a request naming more could never
    find one: it is refused, read no further than the genre past the limit.
    """
    names: dict[str, str] = {}
    for value in values:
        if "\x00" in value:
            raise InvalidQuery.of(parameter, str(ProhibitNullCharactersValidator.message))
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            names.setdefault(genre_key(name), name)
            if len(names) > MAX_GENRES:
                raise InvalidQuery.of(parameter, TOO_MANY_GENRES)
    return tuple(names.values())


def parse_int(raw: str | None, parameter: str, *, minimum: int, message: str) -> int | None:
    """The integer in a parameter's value, None when it is absent or blank."""
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw) or int(raw) < minimum:
        raise InvalidQuery.of(parameter, message)
    return int(raw)


def parse_window(
    params, *, default_limit: int = DEFAULT_LIMIT, max_limit: int = MAX_LIMIT
) -> tuple[int, int]:
    """``limit`` (larger values clamped to ``max_limit``) and ``offset`` (at most MAX_OFFSET)."""
    limit = parse_int(params.get(LIMIT), LIMIT, minimum=1, message=LIMIT_INVALID)
    offset = parse_int(params.get(OFFSET), OFFSET, minimum=0, message=OFFSET_INVALID)
    if offset is not None and offset > MAX_OFFSET:
        raise InvalidQuery.of(OFFSET, OFFSET_TOO_DEEP)
    return (default_limit if limit is None else min(limit, max_limit)), offset or 0


def _bound(limits: tuple[float, float]) -> forms.DecimalField:
    low, high = limits
    return forms.DecimalField(required=False, min_value=low, max_value=high)


class FilterForm(forms.Form):
    """The list's filters besides the search, checked as a form: every problem at once."""

    genre = forms.CharField(required=False, strip=False)
    genre_any = forms.CharField(required=False, strip=False)
    director = forms.CharField(required=False, strip=False)
    imdb_score_min = _bound(IMDB_SCORE_RANGE)
    imdb_score_max = _bound(IMDB_SCORE_RANGE)
    popularity_min = _bound(POPULARITY_RANGE)
    popularity_max = _bound(POPULARITY_RANGE)

    # The bounds: (parameter, field, lookup).
    BOUNDS = (
        ("imdb_score_min", "imdb_score", "gte"),
        ("imdb_score_max", "imdb_score", "lte"),
        ("popularity_min", "popularity", "gte"),
        ("popularity_max", "popularity", "lte"),
    )


# Every query parameter the movie list reads.
FILTERS = tuple(FilterForm.base_fields)
LIST_PARAMETERS = (SEARCH, ORDERING, *FILTERS, LIMIT, OFFSET, CURSOR, FACETS)
# The filters naming genres: comma-separated, or repeated.
GENRE_FILTERS = (GENRE, GENRE_ANY)


@dataclass(frozen=True)
class Filters:
    """What the list's filters besides the search ask for (MovieQuery's fields)."""

    genres: tuple[str, ...] = ()
    genre_any: tuple[str, ...] = ()
    director: str = ""
    bounds: tuple[Bound, ...] = ()


def _values(params, name: str) -> list[str]:
    """Every value of a parameter (repeated or not); none when it is absent."""
    if name not in params:
        return []
    return params.getlist(name) if hasattr(params, "getlist") else [params.get(name, "")]


def parse_filters(params) -> Filters:
    """The genres, director and bounds ``params`` ask for (none when none is given)."""
    if params.keys().isdisjoint(FILTERS):
        return Filters()
    data: dict[str, Any] = {name: params.get(name) for name in FILTERS if name in params}
    # Repeated genre parameters count, each comma-separated.
    named = {name: _values(params, name) for name in GENRE_FILTERS}
    for name in GENRE_FILTERS:
        data[name] = ",".join(named[name]) if name in params else None
    form = FilterForm(data)
    if not form.is_valid():
        raise InvalidQuery(
            {
                name: [str(message) for message in messages]
                for name, messages in form.errors.items()
            }
        )
    cleaned = form.cleaned_data
    bounds = tuple(
        Bound(field_name, lookup, float(cleaned[parameter]))
        for parameter, field_name, lookup in FilterForm.BOUNDS
        if cleaned.get(parameter) is not None
    )
    return Filters(
        genres=parse_genres(named[GENRE], GENRE),
        genre_any=parse_genres(named[GENRE_ANY], GENRE_ANY),
        director=cleaned.get(DIRECTOR) or "",
        bounds=bounds,
    )
