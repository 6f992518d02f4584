"""The movie list: one page of the movies a MovieQuery asks for, counted, with a correction.

What ``GET /api/movies`` answers and the search page shows, computed once
here: the filters, then the search (catalog.search), the order (relevance,
planned tier by tier in catalog.reads.ranking, or a field), the page and its
bounded count (catalog.reads.paging), and, when a search found nothing, the
correction that finds something with the same filters (catalog.vocabulary),
and, when asked for, how many movies each genre would give (catalog.reads.facets).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog import vocabulary
from catalog.models import Genre, ListedMovie, Movie, genre_key
from catalog.reads.facets import GenreCount, genre_facet
from catalog.reads.paging import Page, plan_cursor_page, plan_page
from catalog.reads.query import GENRE_FACET, RELEVANCE, MovieQuery
from catalog.reads.ranking import plan_relevance_page
from catalog.search import Search, director_contains, search_movies


@dataclass
class MoviePage(Page):
    """A page of the movie list: ListedMovie rows, the correction of a search that found
    nothing (None without a search, or when nothing is to be corrected), the genres of
    the matches and the facets when asked for (None otherwise; see list_movies)."""

    rows: list[ListedMovie]
    did_you_mean: str | None = None
    # The corrections did_you_mean tried, in order (what the answer read: catalog.scopes).
    corrections_tried: tuple[Search, ...] = ()
    genres: list[GenreCount] | None = None
    facets: dict[str, list[GenreCount]] | None = None


def ordering_keys(ordering: str) -> tuple[str, str]:
    """Order by the field, then by id in the same direction (one index serves both)."""
    descending = ordering.startswith("-")
    return (ordering, "-id" if descending else "id")


def filtered(movies: QuerySet, query: MovieQuery) -> QuerySet:
    """The movies with every genre of ``genres``, one of ``genre_any`` (when it names
    any), the director and within the bounds ``query`` asks for.

    Genres are asked of each movie's own ``genre_ids``, not of its links:
    PostgreSQL's order indexes hold it, so a search walking one of them reads
    no table rows, and SQLite reads it on the row it reads anyway. A genre the
    catalogue lacks is had by no movie.
    """
    if query.genres or query.genre_any:
        every = [genre_key(name) for name in query.genres]
        anyone = [genre_key(name) for name in query.genre_any]
        ids = dict(
            Genre.objects.using(movies.db)
            .filter(key__in={*every, *anyone})
            .values_list("key", "pk")
        )
        if not set(every) <= ids.keys() or (anyone and ids.keys().isdisjoint(anyone)):
            return movies.none()
        if every:
            movies = movies.filter(genre_ids__has_keys=[str(ids[key]) for key in every])
        if anyone:
            known = [str(ids[key]) for key in anyone if key in ids]
            movies = movies.filter(genre_ids__has_any_keys=known)
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


def counted_genres(
    query: MovieQuery, movies: QuerySet | None, tally: Counter[str] | None
) -> list[GenreCount]:
    """How many of the movies ``query`` finds (of ``movies``, by default all) have each
    genre (catalog.reads.facets); ``tally``, their genre_ids' keys if read already."""
    within = Movie.objects.all() if movies is None else movies
    whole = movies is None and not (query.searching or query.filtered)
    return genre_facet(
        lambda: matching(within, query), using=within.db, whole_catalogue=whole, tally=tally
    )


def list_movies(
    query: MovieQuery, *, movies: QuerySet | None = None, genres: bool = False
) -> MoviePage:
    """One page of the movies ``query`` asks for (of ``movies``, by default all), and how
    many match: exactly up to query.count_limit, else that many as a lower bound.

    With ``genres``, how many of the matches have each genre (MoviePage.genres:
    what adding a genre to the query would leave). With query.facets naming
    ``genre``, how many movies each genre would give with the query's genre
    filters left out (MoviePage.facets). Both are catalog.reads.facets'
    bounded counts; when the list's own count is exact and of the same
    matches, it reads their genre_ids with them, and one query names them.
    """
    within = movies
    movies = Movie.objects.all() if movies is None else movies
    found = matching(movies, query)
    rows_for = Movie.objects.using(found.db).listed
    ordering = query.ordering_in_effect
    facet = GENRE_FACET in query.facets
    own_genres = not (query.genres or query.genre_any)
    tally = "genre_ids" if genres or (facet and own_genres) else None
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
    tried: list[Search] = []
    if query.search is not None and page.count == 0:

        def finds_corrected(corrected: Search) -> bool:
            tried.append(corrected)
            return matching(movies, query.searching_for(corrected)).exists()

        did_you_mean = vocabulary.did_you_mean(query.search, finds=finds_corrected, using=found.db)
    # The list's tally holds every match's genres when its count is exact.
    every_match = page.tally if page.count_exact else None
    counted = counted_genres(query, within, every_match) if genres else None
    facets = None
    if facet:
        if own_genres and counted is not None:
            facet_counts = counted
        else:
            read = every_match if own_genres else None
            facet_counts = counted_genres(query.without_genre_filters(), within, read)
        facets = {GENRE_FACET: facet_counts}
    return MoviePage(
        page.rows,
        page.count,
        page.count_exact,
        page.has_more,
        page.has_before,
        did_you_mean=did_you_mean,
        corrections_tried=tuple(tried),
        genres=counted,
        facets=facets,
    )


def finds(query: MovieQuery, search: Search, movies: QuerySet | None = None) -> bool:
    """Whether ``search``, with the other filters of ``query``, finds a movie."""
    movies = Movie.objects.all() if movies is None else movies
    return matching(movies, query.searching_for(search)).exists()
