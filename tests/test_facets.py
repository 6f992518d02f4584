"""``genre_any`` and ``facets=genre`` on the movie list (catalog.reads.facets): the
filter's semantics, the counts against a brute-force reference, their bound and
their cost, and the API's answers and errors."""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog import writes
from catalog.models import MAX_GENRES, Genre, Movie
from catalog.reads import MovieQuery, list_movies
from catalog.reads import facets as facets_module
from catalog.reads.query import TOO_MANY_GENRES, UNKNOWN_FACET, Bound
from catalog.search import Search
from tests.factories import GenreFactory, MovieFactory, record
from tests.support.reference import reference_genre_facet, reference_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def movies():
    drama, war, crime, western = (
        GenreFactory(name=name) for name in ("Drama", "War", "Crime", "Western")
    )
    for name, director, score, popularity, genres in [
        ("Paths of Glory", "Stanley Kubrick", 8.4, 86.0, [drama, war]),
        ("The Godfather", "Francis Ford Coppola", 9.2, 92.0, [drama, crime]),
        ("Dr. Strangelove", "Stanley Kubrick", 8.4, 84.0, [war]),
        ("Unforgiven", "Clint Eastwood", 8.2, 80.0, [western, drama]),
        ("Heat", "Michael Mann", 8.3, 83.0, [crime]),
    ]:
        MovieFactory(
            name=name, director=director, imdb_score=score, popularity=popularity, genres=genres
        )


def answer(client, query: str) -> dict:
    response = client.get(f"/api/movies?ordering=name&{query}")
    assert response.status_code == 200, response.content
    return response.json()


def names(client, query: str) -> list[str]:
    return [movie["name"] for movie in answer(client, query)["results"]]


def genre_facet(client, query: str) -> list[tuple[str, int, bool]]:
    facet = answer(client, f"facets=genre&{query}")["facets"]["genre"]
    return [(entry["name"], entry["count"], entry["count_exact"]) for entry in facet]


def refused(client, query: str) -> dict:
    response = client.get(f"/api/movies?{query}")
    assert response.status_code == 400, response.content
    return response.json()["errors"]


# genre_any


def test_genre_any_needs_one_of_the_genres(client, movies):
    assert names(client, "genre_any=war,western") == [
        "Dr. Strangelove",
        "Paths of Glory",
        "Unforgiven",
    ]
    # Repeated, as genre is.
    assert names(client, "genre_any=War&genre_any=WESTERN") == names(
        client, "genre_any=war,western"
    )


def test_genre_any_combines_with_genre_and_the_other_filters(client, movies):
    assert names(client, "genre=drama&genre_any=war,crime") == ["Paths of Glory", "The Godfather"]
    assert names(client, "genre_any=war,crime&director=kubrick&popularity_min=85") == [
        "Paths of Glory"
    ]
    assert names(client, "search=the&genre_any=crime,western") == ["The Godfather"]


def test_an_unknown_genre_in_genre_any_matches_nothing_for_itself(client, movies):
    assert names(client, "genre_any=western,Unknown") == ["Unforgiven"]
    assert names(client, "genre_any=Unknown,Nothing") == []
    # Blank names are no names: no filter.
    assert len(names(client, "genre_any=,")) == 5


def test_genre_any_is_refused_as_genre_is(client, movies):
    too_many = ",".join(f"g{n}" for n in range(MAX_GENRES + 1))
    assert refused(client, f"genre_any={too_many}") == {"genre_any": [TOO_MANY_GENRES]}
    assert list(refused(client, "genre_any=War%00")) == ["genre_any"]


def test_a_cursor_is_bound_to_genre_any(client, movies):
    first = answer(client, "genre_any=war,drama&limit=1&cursor=")
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    assert "genre_any=war%2Cdrama" in first["next"]
    errors = refused(client, f"ordering=name&genre_any=war&limit=1&cursor={cursor}")
    assert list(errors) == ["cursor"]
    following = answer(client, f"genre_any=war,drama&limit=1&cursor={cursor}")
    assert [movie["name"] for movie in following["results"]] == ["Paths of Glory"]


def test_genre_any_changes_no_cursor_of_a_list_without_it():
    plain = MovieQuery(genres=("Drama",), ordering="name")
    assert plain.identity == MovieQuery(genres=("drama",), ordering="name").identity
    assert plain.identity != MovieQuery(genre_any=("War",), ordering="name").identity


# facets=genre


def test_the_genre_facet_counts_each_genre_the_most_first_then_by_name(client, movies):
    response = answer(client, "facets=genre")
    drama = Genre.objects.get(name="Drama")
    assert response["facets"]["genre"][0] == {
        "id": drama.pk,
        "name": "Drama",
        "count": 3,
        "count_exact": True,
    }
    assert genre_facet(client, "") == [
        ("Drama", 3, True),
        ("Crime", 2, True),
        ("War", 2, True),
        ("Western", 1, True),
    ]


def test_the_genre_facet_counts_within_the_search_and_the_other_filters(client, movies):
    assert genre_facet(client, "search=kubrick") == [("War", 2, True), ("Drama", 1, True)]
    assert genre_facet(client, "popularity_min=84&imdb_score_max=8.4") == [
        ("War", 2, True),
        ("Drama", 1, True),
    ]
    # A genre none of the matches has is left out; no match, no genre.
    assert genre_facet(client, "director=mann") == [("Crime", 1, True)]
    assert genre_facet(client, "search=nothingatall") == []


def test_choosing_genres_leaves_the_genre_facet_as_it_was(client, movies):
    unchosen = genre_facet(client, "search=the,o")
    for chosen in ("genre=war", "genre_any=crime,western", "genre=drama&genre_any=nothing"):
        assert genre_facet(client, f"search=the,o&{chosen}") == unchosen
    # While the list itself is narrowed.
    assert names(client, "search=the,o&genre=war") != names(client, "search=the,o")


def test_facets_are_answered_only_when_asked_for(client, movies):
    assert "facets" not in answer(client, "")
    assert "facets" not in answer(client, "facets=")
    assert list(answer(client, "facets=genre,%20genre")["facets"]) == ["genre"]
    assert list(answer(client, "facets=&facets=genre")["facets"]) == ["genre"]


@pytest.mark.parametrize("value", ["director", "genre,year", "Genre", "genre%00"])
def test_an_unknown_facet_is_refused_naming_the_known_ones(client, movies, value):
    assert refused(client, f"facets={value}") == {"facets": [UNKNOWN_FACET]}
    assert "genre" in UNKNOWN_FACET


def test_the_links_carry_genre_any_and_facets(client, movies):
    page = answer(client, "genre_any=drama,war&facets=genre&limit=1&offset=1&unknown=1")
    for link in (page["next"], page["previous"]):
        assert "genre_any=drama%2Cwar" in link
        assert "facets=genre" in link
        assert "unknown" not in link
    cursor_page = answer(client, "genre_any=drama&facets=genre&limit=1&cursor=")
    assert "genre_any=drama" in cursor_page["next"]
    assert "facets=genre" in cursor_page["next"]
    assert "facets" in cursor_page


# The bound


@pytest.fixture
def bound_of_two(monkeypatch):
    monkeypatch.setattr(facets_module, "FACET_COUNT_LIMIT", 2)


@pytest.mark.parametrize(
    "query",
    [
        "",  # every movie: the stored counts
        "search=e",  # the list's own count reads the genres
        "search=e&genre=crime",  # one tally of the matches without genre
        "popularity_min=0&genre=crime",  # more matches than the bound: a count per genre
    ],
)
def test_past_the_bound_a_count_is_a_lower_bound(client, movies, bound_of_two, query):
    facet = dict((name, (count, exact)) for name, count, exact in genre_facet(client, query))
    assert facet["Drama"] == (2, False)
    assert facet["War"] == (2, True)
    assert facet["Western"] == (1, True)


def test_genre_ids_are_tallied_from_their_text_as_either_database_spells_it():
    texts = ['{"7":true,"12":true}', '{"7": true, "1": true}', "{}"]
    assert facets_module.tally_genre_ids(texts) == {"7": 2, "12": 1, "1": 1}
    assert facets_module.tally_genre_ids([]) == {}


def test_the_bound_is_ten_thousand():
    assert facets_module.FACET_COUNT_LIMIT == 10_000


# What each plan costs


def extra_queries(query: MovieQuery) -> int:
    """How many more queries the list asks with its genre facet than without it."""
    list_movies(query)  # what a search keeps once read
    with CaptureQueriesContext(connection) as plain:
        list_movies(query)
    with CaptureQueriesContext(connection) as faceted:
        page = list_movies(replace(query, facets=("genre",)))
    assert page.facets is not None
    return len(faceted) - len(plain)


def test_every_movie_is_counted_by_the_stored_counts_in_one_query(movies):
    # The genres with their movie counts.
    assert extra_queries(MovieQuery()) == 1


def test_the_matches_the_list_counted_are_named_in_one_query(movies):
    # The genres; the genre_ids were read with the list's count.
    assert extra_queries(MovieQuery(search=Search.parse("the"))) == 1


def test_matches_within_the_bound_are_tallied_in_one_query(movies):
    # The genres; the genre_ids of up to 10,001 matches without the genre filter.
    assert extra_queries(MovieQuery(genres=("war",), director="kubrick")) == 2
    # With a search, the genres its terms name are looked up once more for the facet.
    assert extra_queries(MovieQuery(search=Search.parse("the"), genres=("war",))) == 3


def test_past_the_bound_every_genre_is_counted_in_one_pass(movies, bound_of_two):
    # The genres; up to 3 matches' genre_ids; an estimate of how many match
    # (far fewer than a head's worth); one count of each genre over all matches.
    every = (Bound("popularity", "gte", 0.0),)
    assert extra_queries(MovieQuery(genres=("war",), bounds=every)) == 4


@pytest.mark.parametrize("head", [1, 2, 4, 5, 6])
@pytest.mark.parametrize("bound", [1, 2])
@pytest.mark.parametrize("estimate", [1, 5, 1_000_000])
def test_counts_that_start_from_a_head_of_the_matches_are_those_of_one_pass(
    client, movies, monkeypatch, head, bound, estimate
):
    # The estimate of the matches only chooses how the genres short of the
    # bound in the head are counted on; every choice gives the same counts.
    monkeypatch.setattr(facets_module, "FACET_COUNT_LIMIT", bound)
    one_pass = genre_facet(client, "popularity_min=0")
    monkeypatch.setattr(facets_module, "FACET_HEAD_FROM", 0)
    monkeypatch.setattr(facets_module, "FACET_HEAD", head)
    monkeypatch.setattr(facets_module, "estimated_matches", lambda found, density: estimate)
    assert genre_facet(client, "popularity_min=0") == one_pass
    assert genre_facet(client, "popularity_min=0&genre=war") == one_pass


# Against the brute-force reference

GENRES = ["Drama", "War", "Crime", "Film-Noir", "Amélie"]
ASKED_GENRES = st.lists(st.sampled_from([*GENRES, "drama", "WAR", "Unknown"]), max_size=3)
CATALOGUE = st.lists(
    st.tuples(
        st.sampled_from(["The War", "Ab", "Amélie", "Heat 70", "x"]),
        st.sampled_from(["Ab", "Kubrick", "the man"]),
        st.sampled_from([7.0, 70.0, 88.5]),
        st.sampled_from([7.5, 8.25]),
        st.lists(st.sampled_from(GENRES), max_size=3, unique=True),
    ),
    max_size=12,
)
LIST_QUERY = st.fixed_dictionaries(
    {},
    optional={
        "search": st.lists(st.sampled_from(["the", "ab", "7", "war", "drama", "é", "x"])).map(
            ",".join
        ),
        "genre": ASKED_GENRES.map(",".join),
        "genre_any": ASKED_GENRES.map(",".join),
        "director": st.sampled_from(["ab", "KUB", " "]),
        "popularity_min": st.sampled_from(["7", "70"]),
        "imdb_score_max": st.sampled_from(["8", "8.25"]),
    },
)
BOUNDS = {
    "popularity_min": ("popularity", "gte"),
    "imdb_score_max": ("imdb_score", "lte"),
}


def catalogue_of(rows) -> list[Movie]:
    writes.delete_movies(Movie.objects.values_list("pk", flat=True))
    writes.delete_genres(Genre.objects.values_list("pk", flat=True))
    records = [
        record(name=f"{name} {n}", director=director, popularity=popularity, score=score, genre=g)
        for n, (name, director, popularity, score, g) in enumerate(rows)
    ]
    if records:
        writes.import_records(records=records)
    return list(Movie.objects.prefetch_related("genres"))


@pytest.mark.slow
@hypothesis_settings(max_examples=120, deadline=None, derandomize=True)
@given(
    rows=CATALOGUE,
    params=LIST_QUERY,
    bound=st.sampled_from([1, 2, 3, 10_000]),
    count_limit=st.sampled_from([1, 4, 1_000]),
    head=st.sampled_from([None, 1, 2, 5]),
    estimate=st.sampled_from([1, 8, 1_000_000]),
)
def test_genre_any_and_the_genre_facet_agree_with_the_reference(
    rows, params, bound, count_limit, head, estimate
):
    stored = catalogue_of(rows)
    asked = {**params, "facets": "genre", "limit": "100"}
    query = MovieQuery.from_params(asked, count_limit=count_limit)
    # A head of the matches counted first, from any number of matches on, and
    # the genres short of the bound in it counted on as the estimate chooses.
    from_head = {"FACET_HEAD_FROM": 0, "FACET_HEAD": head} if head else {}
    if head:
        from_head["estimated_matches"] = lambda found, density: estimate
    with mock.patch.multiple(facets_module, FACET_COUNT_LIMIT=bound, **from_head):
        page = list_movies(query)
    split = {
        name: [genre for genre in value.split(",") if genre]
        for name, value in params.items()
        if "genre" in name
    }
    bounds = [(*BOUNDS[name], float(value)) for name, value in params.items() if name in BOUNDS]
    others = dict(search=params.get("search"), director=params.get("director", ""), bounds=bounds)
    found = reference_list(stored, genres=split.get("genre", ()), **others, **_any(split))
    assert {movie.id for movie in page.rows} == found
    unfiltered = reference_list(stored, **others)
    assert page.facets is not None
    facet = [(genre.name, genre.count, genre.count_exact) for genre in page.facets["genre"]]
    assert facet == reference_genre_facet(stored, unfiltered, limit=bound)


def _any(split: dict) -> dict:
    return {"genre_any": split["genre_any"]} if "genre_any" in split else {}
