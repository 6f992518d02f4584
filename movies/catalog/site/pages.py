"""What the site's pages show, read from the catalogue: the views only render it.

A page of results is the movie list the API answers too (catalog.reads): the
same search, genre filter, order, bounded count and did-you-mean. A
movie's page adds more movies by its director, the most popular first, and
movies sharing the most of its genres.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from catalog.models import Genre, ListedMovie, Movie, genre_key
from catalog.reads import MoviePage, list_movies
from catalog.reads.query import RELEVANCE
from catalog.search import director_contains, popular_first, words
from catalog.site.params import MAX_PAGE, PAGE_SIZE, SearchParams
from catalog.suggestions import Alternative, holding_every_word

# Genres offered as chips: the ones with the most movies (and any already chosen).
CHIPS = 30
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


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    selected: bool = False


@dataclass(frozen=True)
class Choice:
    label: str
    value: str
    selected: bool = False


@dataclass(frozen=True)
class GenreChips:
    """The genre chips of a page of results, and the genres chosen that the catalogue lacks."""

    chips: list[Link]
    unknown: list[str]


@dataclass
class Results:
    params: SearchParams
    page: MoviePage
    genres: GenreChips
    orderings: list[Choice]

    @property
    def chips(self) -> list[Link]:
        return self.genres.chips

    @property
    def unknown_genres(self) -> list[str]:
        return self.genres.unknown

    @property
    def movies(self) -> list[ListedMovie]:
        return self.page.rows

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
    def first_url(self) -> str:
        return self.params.at_page(1).url()

    @property
    def did_you_mean_url(self) -> str | None:
        correction = self.page.did_you_mean
        return self.params.searching_for(correction).url() if correction else None

    @property
    def past_the_end(self) -> bool:
        """A page after the last one: there are results, but none here."""
        return not self.movies and self.page.count > 0


def search_results(params: SearchParams) -> Results:
    """A page of the movies ``params`` ask for, as the API lists them, with the page's controls."""
    page = list_movies(params.movie_query())
    return Results(params, page, genre_chips(params), ordering_choices(params))


def genre_chips(params: SearchParams) -> GenreChips:
    """The genres to filter by, each a link that adds it to the search or takes it out.

    The CHIPS genres with the most movies, and those chosen, the chosen first.
    Only genres of the catalogue get a chip, named as the catalogue names
    them, and the links name the chosen ones so: a genre the catalogue does
    not have finds nothing, so the links leave it out (the page names it once,
    as unknown). A page therefore holds at most CHIPS + MAX_GENRES chips,
    each link at most MAX_GENRES genre names of at most GENRE_NAME_MAX_LENGTH
    characters, whatever the URL asked for.
    """
    popular = Genre.objects.order_by("-movie_count", "name").values_list("key", "name")
    names = dict(popular[:CHIPS])
    chosen_keys = {genre_key(genre): genre for genre in params.genres}
    missing = [key for key in chosen_keys if key not in names]
    if missing:
        names.update(Genre.objects.filter(key__in=missing).values_list("key", "name"))
    chosen = [names[key] for key in chosen_keys if key in names]
    known = params.with_genres(tuple(chosen))
    others = sorted(
        (name for key, name in names.items() if key not in chosen_keys), key=str.casefold
    )
    chips = [Link(name, known.without_genre(name).url(), True) for name in chosen]
    chips += [Link(name, known.with_genre(name).url()) for name in others]
    unknown = [genre for key, genre in chosen_keys.items() if key not in names]
    return GenreChips(chips, unknown)


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
    return MovieDetails(movie, more_by_director(movie), similar_movies(movie))


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


def similar_movies(movie: ListedMovie) -> list[ListedMovie]:
    """Other movies sharing the most of this one's genres, then the most popular.

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
    ranked = sorted(candidates, key=lambda pk: (-candidates[pk][1], -candidates[pk][0], -pk))
    return Movie.objects.listed(ranked[:RELATED])
