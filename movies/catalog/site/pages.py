"""What the site's pages show, read from the catalogue: the views only render it.

A page of results is the movie list the API answers too (catalog.reads): the
same search, genre filter, order and bounded count. A search that finds
nothing is answered with the results of its correction, as search engines
do, unless asked for as typed. Genres are named as the catalogue names them;
one it lacks is NoSuchGenre. A movie's page adds more movies by its
director, the most popular first, and other movies sharing the most of its
genres.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.highlighting import highlights, patterns_for
from catalog.models import Genre, ListedMovie, Movie, genre_key
from catalog.reads import MoviePage, list_movies
from catalog.reads.query import RELEVANCE
from catalog.search import director_contains, popular_first, words
from catalog.site.params import MAX_PAGE, PAGE_SIZE, SearchParams
from catalog.suggestions import Alternative, holding_every_word

# Genre chips shown at once (more when more are chosen); the others behind "More genres".
SHOWN_CHIPS = 6
# Movies in each list of a movie's page.
RELATED = 6
# The most popular movies of each of a movie's genres, among which similar ones are ranked.
SIMILAR_CANDIDATES = 100
ORDERING_LABELS = {
    RELEVANCE: "Best match",
    "-popularity": "Most popular",
    "popularity": "Least popular",
    "-imdb_score": "Highest score",
    "imdb_score": "Lowest score",
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
}


class NoSuchGenre(LookupError):
    """Genres asked for that the catalogue lacks: a search with them could find nothing."""

    def __init__(self, names: list[str], without: SearchParams) -> None:
        self.names = names
        # The same search without them.
        self.without = without
        super().__init__(", ".join(names))


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    selected: bool = False


@dataclass(frozen=True)
class Chip:
    """A genre to add to the search, or a chosen one to take out; the movies an added one
    leaves (None for a chosen one): exactly, or when ``count_exact`` is false, at least
    that many."""

    label: str
    url: str
    selected: bool
    count: int | None
    count_exact: bool = True

    @property
    def count_text(self) -> str:
        """``8``, ``1,234``, or ``10,000+`` for a lower bound ("" for a chosen genre)."""
        if self.count is None:
            return ""
        return f"{self.count:,}" if self.count_exact else f"{self.count:,}+"


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    selected: bool = False


@dataclass(frozen=True)
class GenreChips:
    """The genre chips of a page of results: those shown at once, and the rest."""

    shown: list[Chip]
    more: list[Chip]

    def __bool__(self) -> bool:
        return bool(self.shown or self.more)


@dataclass
class Results:
    params: SearchParams
    page: MoviePage
    genres: GenreChips
    orderings: list[Choice]
    # The search typed, when these are the results of its correction.
    corrected_from: SearchParams | None = None

    @property
    def movies(self) -> list[ListedMovie]:
        return self.page.rows

    @property
    def cards(self) -> list[tuple[ListedMovie, dict[str, list[list[int]]]]]:
        """Each movie with where the search shown (a correction's, when these are its
        results) matched its name and director, as the API's ``highlight`` says."""
        patterns = patterns_for(self.params.search)
        return [
            (movie, highlights({"name": movie.name, "director": movie.director}, patterns))
            for movie in self.movies
        ]

    @property
    def heading(self) -> str:
        """``Results for “the war”``, or for genres alone ``Drama, War movies``."""
        if self.params.searching:
            return f"Results for “{self.params.query}”"
        return f"{', '.join(self.params.genres)} movies"

    @property
    def summary(self) -> str:
        """One sentence on what was found: the page's description."""
        found = self.count_text
        if self.params.searching:
            one = self.page.count == 1 and self.page.count_exact
            found += f" {'matches' if one else 'match'} “{self.params.query}”"
        if self.params.genres:
            found += f" in {', '.join(self.params.genres)}"
        return found + "."

    @property
    def count_text(self) -> str:
        """``1 movie``, ``37 movies``, ``1,000+ movies`` (a lower bound), ``No movies``."""
        count, exact = self.page.count, self.page.count_exact
        if count == 0:
            return "No movies"
        number = f"{count:,}" if exact else f"{count:,}+"
        return f"{number} movie" if count == 1 and exact else f"{number} movies"

    @property
    def last_page(self) -> int | None:
        """The number of the last page, when the count is exact."""
        if not self.page.count_exact:
            return None
        return max(1, -(-self.page.count // PAGE_SIZE))

    @property
    def previous_url(self) -> str | None:
        page = self.params.page
        return self.params.at_page(page - 1).url() if page > 1 else None

    @property
    def next_url(self) -> str | None:
        page = self.params.page
        if not self.page.has_more or page >= MAX_PAGE:
            return None
        return self.params.at_page(page + 1).url()

    @property
    def without_each_genre(self) -> list[Link]:
        """For each chosen genre, the same search without it."""
        return [Link(name, self.params.without_genre(name).url()) for name in self.params.genres]

    @property
    def did_you_mean_url(self) -> str | None:
        correction = self.page.did_you_mean
        return self.params.searching_for(correction).url() if correction else None

    @property
    def as_typed_url(self) -> str | None:
        """The search typed, not corrected, when these are its correction's results."""
        return self.corrected_from.as_typed().url() if self.corrected_from else None

    @property
    def past_the_end(self) -> bool:
        """A page after the last one: nothing on it, and it is not the first."""
        return not self.movies and self.params.page > 1

    @property
    def last_page_link(self) -> Link:
        """The last page, or the first when the count does not say which is the last."""
        last = self.last_page
        if last is None:
            return Link("Go to the first page", self.params.at_page(1).url())
        if last == 1:
            return Link("Go to the results", self.params.at_page(1).url())
        return Link(f"Go to the last page, page {last}", self.params.at_page(last).url())


def search_results(params: SearchParams) -> Results:
    """A page of the movies ``params`` ask for, as the API lists them, with the page's
    controls; when the search finds nothing and has a correction that finds something,
    the correction's page, unless the search is asked for as typed."""
    params = params.with_genres(catalogue_genres(params))
    page = list_movies(params.movie_query(), genres=True)
    corrected_from = None
    if page.did_you_mean and not params.verbatim:
        corrected_from = params
        params = params.searching_for(page.did_you_mean).at_page(params.page)
        page = list_movies(params.movie_query(), genres=True)
    return Results(
        params, page, genre_chips(params, page), ordering_choices(params), corrected_from
    )


def catalogue_genres(params: SearchParams) -> tuple[str, ...]:
    """The genres ``params`` ask for, named as the catalogue names them, in the order asked.

    NoSuchGenre names those the catalogue lacks: no movie could have them.
    """
    if not params.genres:
        return ()
    keys = [genre_key(name) for name in params.genres]
    names = dict(Genre.objects.filter(key__in=keys).values_list("key", "name"))
    missing = [name for name, key in zip(params.genres, keys, strict=True) if key not in names]
    if missing:
        known = tuple(names[key] for key in keys if key in names)
        raise NoSuchGenre(missing, params.with_genres(known).at_page(1))
    return tuple(names[key] for key in keys)


def genre_chips(params: SearchParams, page: MoviePage) -> GenreChips:
    """The genres to filter by, each a link that adds it to the search or takes it out.

    The chosen ones first, then those the matches have, the most matches first,
    with how many movies each would leave (MoviePage.genres: the genre counts
    the API's ``facets=genre`` answers, of the page's matches, since a genre
    chosen here narrows them): a genre that would leave no movie is never
    offered, nor one every match has (it would change nothing), and there are
    no chips when nothing was found. SHOWN_CHIPS are shown (all the chosen
    ones at least); the others go behind "More genres". A page holds at most
    one chip per genre of the catalogue.
    """
    if not page.count or not page.genres:
        return GenreChips([], [])
    chosen = {genre_key(name) for name in params.genres}
    chips = [Chip(name, params.without_genre(name).url(), True, None) for name in params.genres]
    chips += [
        Chip(
            genre.name,
            params.with_genre(genre.name).url(),
            False,
            genre.count,
            genre.count_exact,
        )
        for genre in page.genres
        if genre_key(genre.name) not in chosen and narrows(genre.count, page)
    ]
    shown = max(SHOWN_CHIPS, len(params.genres))
    return GenreChips(chips[:shown], chips[shown:])


def narrows(count: int, page: MoviePage) -> bool:
    """Whether adding a genre that ``count`` of the page's matches have leaves some, not all."""
    return count > 0 and not (page.count_exact and count == page.count)


def ordering_choices(params: SearchParams) -> list[Choice]:
    """The orders offered (best match only with a search), the one in effect selected."""
    in_effect = params.ordering_in_effect
    return [
        Choice(label, value, value == in_effect)
        for value, label in ORDERING_LABELS.items()
        if value != RELEVANCE or params.searching
    ]


@dataclass
class MovieDetails:
    movie: ListedMovie
    by_director: list[ListedMovie]
    similar: list[ListedMovie]

    @property
    def director_url(self) -> str:
        """The search page's results for the director's name: their movies first."""
        return SearchParams(query=self.movie.director).url()

    @property
    def genre_names(self) -> list[str]:
        return [genre["name"] for genre in self.movie.genres]

    @property
    def genre_links(self) -> list[Link]:
        """Each genre, linking to the search page listing its movies."""
        return [Link(name, SearchParams(genres=(name,)).url()) for name in self.genre_names]

    @property
    def same_genres_url(self) -> str:
        """The search page listing every movie with all of this one's genres."""
        return SearchParams(genres=tuple(self.genre_names)).url()


def movie_details(pk: int) -> MovieDetails | None:
    """The movie with this id and its neighbours, or None when there is none."""
    found = Movie.objects.listed([pk])
    if not found:
        return None
    movie = found[0]
    by_director = more_by_director(movie)
    similar = similar_movies(movie, besides={other.id for other in by_director})
    return MovieDetails(movie, by_director, similar)


def more_by_director(movie: ListedMovie) -> list[ListedMovie]:
    """Other movies by the same director, the most popular first.

    Looked up through the word index of names and directors that suggestions
    use (catalog.suggestions.holding_every_word: the director's words), or
    where there is none, as the API's ``director`` filter finds them; then
    kept when the director is exactly the same.
    """
    same: QuerySet = Movie.objects.filter(director=movie.director).exclude(pk=movie.id)
    director_words = words(movie.director).split()
    condition = None
    if director_words:
        options = [[Alternative(word, 0)] for word in director_words]
        condition = holding_every_word(options, same.db)
    if condition is not None:
        same = same.filter(condition)
    else:
        same = director_contains(same, movie.director)
    ordered = popular_first(same, walk=False)
    return Movie.objects.listed(list(ordered.values_list("pk", flat=True)[:RELATED]))


def similar_movies(movie: ListedMovie, *, besides: Collection[int] = ()) -> list[ListedMovie]:
    """Other movies sharing the most of this one's genres, then the most popular; none of
    ``besides`` (those the page lists already, by its director).

    Ranked among the SIMILAR_CANDIDATES most popular movies of each of its
    genres, each walked for along the popularity index (a genre's movies are
    common enough): every genre of the catalogue's most popular movies counts,
    and a page never waits on a rare combination of genres. None for a movie
    without a genre.
    """
    wanted = {str(genre["id"]) for genre in movie.genres}
    others = Movie.objects.exclude(pk=movie.id)
    candidates: dict[int, tuple[float, int]] = {}
    for genre_id in sorted(wanted):
        having = popular_first(others.filter(genre_ids__has_key=genre_id), walk=True)
        rows = having.values_list("pk", "popularity", "genre_ids")[:SIMILAR_CANDIDATES]
        for pk, popularity, genre_ids in rows:
            candidates[pk] = (popularity, len(wanted.intersection(genre_ids)))
    ranked = sorted(
        (pk for pk in candidates if pk not in besides),
        key=lambda pk: (-candidates[pk][1], -candidates[pk][0], -pk),
    )
    return Movie.objects.listed(ranked[:RELATED])
