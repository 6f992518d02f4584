"""The movie list: one page of the movies a MovieQuery asks for, counted, with a correction.

What ``GET /api/movies`` answers and the search page shows, computed once
here: the filters, then the search (catalog.search), the order (relevance,
planned tier by tier in catalog.reads.ranking, or a field), the page and its
bounded count (catalog.reads.paging), and, when a search found nothing, the
correction that finds something with the same filters (catalog.vocabulary),
and, when asked for, how many of the matches each genre has (genre_counts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog import vocabulary
from catalog.models import Genre, ListedMovie, Movie, genre_key
from catalog.reads.paging import Page, plan_cursor_page, plan_page
from catalog.reads.query import RELEVANCE, MovieQuery
from catalog.reads.ranking import plan_relevance_page
from catalog.search import Search, director_contains, search_movies


@dataclass(frozen=True)
class GenreCount:
    """A genre and how many of a list's matches have it."""

    name: str
    count: int


@dataclass
class MoviePage(Page):
    """A page of the movie list: ListedMovie rows, the correction of a search that found
    nothing (None without a search, or when nothing is to be corrected), and the genres
    of the matches when asked for (None otherwise; see list_movies)."""

    rows: list[ListedMovie]
    did_you_mean: str | None = None
    genres: list[GenreCount] | None = None


def ordering_keys(ordering: str) -> tuple[str, str]:
    """Order by the field, then by id in the same direction (one index serves both)."""
    descending = ordering.startswith("-")
    return (ordering, "-id" if descending else "id")


def filtered(movies: QuerySet, query: MovieQuery) -> QuerySet:
    """The movies with every genre, the director and within the bounds ``query`` asks for.

    Genres are asked of each movie's own ``genre_ids``, not of its links:
    PostgreSQL's order indexes hold it, so a search walking one of them reads
    no table rows, and SQLite reads it on the row it reads anyway.
    """
    if query.genres:
        keys = [genre_key(name) for name in query.genres]
        ids = list(
            Genre.objects.using(movies.db).filter(key__in=keys).values_list("pk", flat=True)
        )
        if len(ids) < len(keys):
            return movies.none()
        movies = movies.filter(genre_ids__has_keys=[str(pk) for pk in ids])
    if query.director.strip():
        movies = director_contains(movies, query.director)
    for bound in query.bounds:
        movies = movies.filter(**{f"{bound.field}__{bound.lookup}": bound.value})
    return movies


def matching(movies: QuerySet, query: MovieQuery) -> QuerySet:
    """The movies ``query`` finds, in no order.

    The filters' conditions come first: SQLite tests conditions in the order
    written, and a movie's genres (one look into genre_ids) are cheaper to
    test than a term in its text.
    """
    found = filtered(movies, query)
    return search_movies(found, query.search) if query.search is not None else found


def genre_counts(tally: Counter[str], *, using: str) -> list[GenreCount]:
    """The genres of a tally of genre ids (Page.tally of ``genre_ids``) by name, the most
    matches first; ids of genres no longer in the catalogue are left out."""
    ids = [int(key) for key in tally]
    names = Genre.objects.using(using).filter(pk__in=ids).values_list("pk", "name")
    counts = [GenreCount(name, tally[str(pk)]) for pk, name in names]
    return sorted(counts, key=lambda genre: (-genre.count, genre.name))


def list_movies(
    query: MovieQuery, *, movies: QuerySet | None = None, genres: bool = False
) -> MoviePage:
    """One page of the movies ``query`` asks for (of ``movies``, by default all), and how
    many match: exactly up to query.count_limit, else that many as a lower bound.

    With ``genres``, how many of the matches have each genre, read with the
    matches counted (their genre_ids): exact with an exact count, else among
    the first query.count_limit matches; one more query names them.
    """
    movies = Movie.objects.all() if movies is None else movies
    found = matching(movies, query)
    rows_for = Movie.objects.using(found.db).listed
    ordering = query.ordering_in_effect
    tally = "genre_ids" if genres else None
    if ordering == RELEVANCE:
        assert query.search is not None  # relevance is in effect only with a search
        ranked = plan_relevance_page(
            found,
            search=query.search,
            offset=query.offset,
            limit=query.limit,
            count_limit=query.count_limit,
            # A name with every term matches a search of plain terms alone.
            other_filters=query.filtered or not query.search.plain,
            tally=tally,
        )
        page = Page(
            rows_for(ranked.keys),
            ranked.count,
            ranked.count_exact,
            ranked.has_more,
            tally=ranked.tally,
        )
    elif query.cursor is not None:
        page = plan_cursor_page(
            found,
            ordering_keys(ordering),
            rows_for=rows_for,
            cursor=query.cursor,
            limit=query.limit,
            count_limit=query.count_limit,
        )
    else:
        page = plan_page(
            found.order_by(*ordering_keys(ordering)),
            rows_for=rows_for,
            offset=query.offset,
            limit=query.limit,
            count_limit=query.count_limit,
            tally=tally,
        )
    did_you_mean = None
    if query.search is not None and page.count == 0:
        did_you_mean = vocabulary.did_you_mean(
            query.search,
            finds=lambda corrected: matching(movies, query.searching_for(corrected)).exists(),
            using=found.db,
        )
    counted = None
    if page.tally is not None:
        counted = genre_counts(page.tally, using=found.db) if page.tally else []
    return MoviePage(
        page.rows,
        page.count,
        page.count_exact,
        page.has_more,
        page.has_before,
        did_you_mean=did_you_mean,
        genres=counted,
    )


def finds(query: MovieQuery, search: Search, movies: QuerySet | None = None) -> bool:
    """Whether ``search``, with the other filters of ``query``, finds a movie."""
    movies = Movie.objects.all() if movies is None else movies
    return matching(movies, query.searching_for(search)).exists()
