"""``GET /api/movies``'s query string as a MovieQuery (catalog.reads), and its documentation.

The request's parameters are parsed once per request, here; the list, its
response cache key and its links read what was parsed. A refused parameter is
an InvalidQuery, which the API answers as a 400 naming it (catalog.api.errors).

``highlight`` is parsed beside the MovieQuery, not into it: it changes how the
API presents each movie, not which movies the list holds, in which order
(a cursor of a list serves it with and without highlights), and the search
page always marks what matched.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from catalog.models import IMDB_SCORE_RANGE, MAX_GENRES, POPULARITY_RANGE
from catalog.reads.facets import FACET_COUNT_LIMIT
from catalog.reads.query import KNOWN_FACETS, ORDERINGS, InvalidQuery, MovieQuery, parse_int
from catalog.search import MAX_QUERY_LENGTH, MAX_TERMS

HIGHLIGHT = "highlight"
# Blank is absent, as for the list's other parameters.
HIGHLIGHT_VALUES = {"1": True, "true": True, "0": False, "false": False, "": False}
HIGHLIGHT_INVALID = "Must be 1 or true (each movie with where the search matched), or 0 or false."


def movie_query(request, *, count_limit: int) -> MovieQuery:
    """The MovieQuery of a request to the movie list (a DRF or a Django request)."""
    django_request = getattr(request, "_request", request)
    query = getattr(django_request, "movie_query", None)
    if query is None:
        query = MovieQuery.from_params(django_request.GET, count_limit=count_limit)
        django_request.movie_query = query
    return query


def highlighting(request) -> bool:
    """Whether ``?highlight=`` asks for each movie's matched ranges; InvalidQuery otherwise."""
    django_request = getattr(request, "_request", request)
    wanted = HIGHLIGHT_VALUES.get(django_request.GET.get(HIGHLIGHT, "").strip())
    if wanted is None:
        raise InvalidQuery.of(HIGHLIGHT, HIGHLIGHT_INVALID)
    return wanted


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
            "director, popularity, imdb_score or one of its genres. "
            '`"the dark knight"`: the words next to each other, in that order, as '
            "whole words of one field (punctuation between them is allowed). "
            "`-batman`: movies without the term (or phrase). `director:nolan`, "
            "`name:knight`, `genre:drama`: the term (or phrase) in that field only; "
            "a name that is not one of these is refused with a 400. What does not "
            'read as syntax is a term as typed: a quote never closed, a lone "-", a '
            "field's name with nothing after it. Relevance compares names with what "
            "is sought in names (not what is excluded, nor director: or genre: terms). "
            f"At most {MAX_QUERY_LENGTH} characters and {MAX_TERMS} terms."
        ),
        examples=[
            OpenApiExample("title", value="titanic", summary="a title"),
            OpenApiExample("genres", value="drama,crime", summary="both genres"),
            OpenApiExample(
                "everything",
                value="the,john,70,7,war",
                summary="name, director, popularity, score and genre",
            ),
            OpenApiExample("phrase", value='"the dark knight"', summary="words in this order"),
            OpenApiExample(
                "syntax",
                value='director:"christopher nolan" -batman genre:drama',
                summary="a director's phrase, an exclusion, a genre",
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
        HIGHLIGHT,
        str,
        enum=["1", "true", "0", "false"],
        description=(
            "`1` or `true`: each movie adds `highlight`, where the search matched its "
            '`name` and `director`: `{"name": [[start, length], ...], "director": [...]}`, '
            "ranges of the strings returned, in characters (Unicode code points), sorted, "
            "those that touch merged. A term matches as the search compares, ignoring case "
            'and accents: `amelie` marks all of "Amélie", and a character the search reads '
            'as several ("ß" as `ss`, "ﬁ" as `fi`) is marked whole when part of it '
            "matches. Without a search, the lists are empty. `0`, `false` or absent: no "
            "`highlight`."
        ),
    ),
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
