"""``GET /api/movies``'s query string as a MovieQuery (catalog.reads), and its documentation.

The request's parameters are parsed once per request, here; the list, its
response cache key and its links read what was parsed. A refused parameter is
an InvalidQuery, which the API answers as a 400 naming it (catalog.api.errors).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from catalog.models import IMDB_SCORE_RANGE, MAX_GENRES, POPULARITY_RANGE
from catalog.reads.facets import FACET_COUNT_LIMIT
from catalog.reads.query import KNOWN_FACETS, ORDERINGS, InvalidQuery, MovieQuery, parse_int
from catalog.search import MAX_QUERY_LENGTH, MAX_TERMS


def movie_query(request, *, count_limit: int) -> MovieQuery:
    """The MovieQuery of a request to the movie list (a DRF or a Django request)."""
    django_request = getattr(request, "_request", request)
    query = getattr(django_request, "movie_query", None)
    if query is None:
        query = MovieQuery.from_params(django_request.GET, count_limit=count_limit)
        django_request.movie_query = query
    return query


def bounded_int(params, name: str, *, least: int, most: int, default: int, message: str) -> int:
    """An integer parameter from ``least`` to ``most``, ``default`` when absent; else
    InvalidQuery naming it (a 400)."""
    value = parse_int(params.get(name), name, minimum=least, message=message)
    if value is None:
        return default
    if value > most:
        raise InvalidQuery.of(name, message)
    return value


def _bound(name: str, limits: tuple[float, float], description: str) -> OpenApiParameter:
    low, high = limits
    return OpenApiParameter(
        name, float, description=f"{description} ({low:g} to {high:g}, inclusive)."
    )


LIST_PARAMETERS = [
    OpenApiParameter(
        "search",
        str,
        description=(
            "Terms separated by whitespace or commas. A movie matches when every "
            "term is a case- and accent-insensitive substring of its name, "
            "director, popularity, imdb_score or one of its genres. At most "
            f"{MAX_QUERY_LENGTH} characters and {MAX_TERMS} terms."
        ),
        examples=[
            OpenApiExample("title", value="titanic", summary="a title"),
            OpenApiExample("genres", value="drama,crime", summary="both genres"),
            OpenApiExample(
                "everything",
                value="the,john,70,7,war",
                summary="name, director, popularity, score and genre",
            ),
        ],
    ),
    OpenApiParameter(
        "ordering",
        str,
        enum=list(ORDERINGS),
        description=(
            "Sort order. `relevance` (the default with `search`, else `-popularity`): "
            "first movies whose name is the query (word by word, ignoring case, "
            "accents and punctuation), then names beginning with the query's words, "
            "then names holding every term, then the other matches; within each, "
            "the more popular first. The fields order ties by id in the same "
            "direction; relevance by popularity, then id, descending."
        ),
    ),
    OpenApiParameter(
        "genre",
        str,
        description=(
            "Genre names, comma-separated (Drama,War) or repeated; a movie must have all "
            f"of them. At most {MAX_GENRES}."
        ),
    ),
    OpenApiParameter(
        "genre_any",
        str,
        description=(
            "Genre names, comma-separated (Western,War) or repeated; a movie must have at "
            f"least one of them (beside `genre`, which needs all). At most {MAX_GENRES}. "
            "A name the catalogue lacks matches no movie."
        ),
    ),
    OpenApiParameter(
        "director", str, description="Part of the director's name, ignoring case and accents."
    ),
    _bound("imdb_score_min", IMDB_SCORE_RANGE, "The least IMDb score"),
    _bound("imdb_score_max", IMDB_SCORE_RANGE, "The greatest IMDb score"),
    _bound("popularity_min", POPULARITY_RANGE, "The least popularity"),
    _bound("popularity_max", POPULARITY_RANGE, "The greatest popularity"),
    OpenApiParameter(
        "cursor",
        str,
        description=(
            "Pages by cursor instead of offset, with no depth limit: send it empty for "
            "the first page, then follow `next` and `previous`, whose cursors mark where "
            "each page ends. No movie is skipped or repeated while the catalogue changes "
            "between pages. Needs an `ordering` other than relevance; not with `offset`. "
            "A cursor belongs to its list: another search, filter or ordering refuses it."
        ),
    ),
    OpenApiParameter(
        "facets",
        str,
        enum=list(KNOWN_FACETS),
        description=(
            "Counts to add to the answer, comma-separated or repeated: `genre` adds "
            "`facets.genre`, how many movies each genre would give with the search and "
            "every filter but `genre` and `genre_any` (choosing genres does not change "
            f"the counts). Exact up to {FACET_COUNT_LIMIT:,}, else `count` is "
            f"{FACET_COUNT_LIMIT:,} and `count_exact` false; the most first, then by "
            "name; genres that would give none are left out. Empty: no counts."
        ),
    ),
]
