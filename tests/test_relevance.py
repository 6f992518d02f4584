"""Relevance order: the best match first, the same order on every path and plan."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from catalog.models import Movie
from catalog.reads import ranking as relevance
from catalog.reads import walking
from catalog.search import (
    NAME_BEGINS_WITH_QUERY,
    NAME_HAS_EVERY_TERM,
    NAME_IS_QUERY,
    OTHER_MATCH,
    Search,
    director_contains,
    order_by_relevance,
    relevance_tier,
    search_movies,
    split_terms,
    words,
)
from tests.factories import GenreFactory, MovieFactory
from tests.support.answers import names


def test_words_ignore_case_accents_and_punctuation():
    assert words("The Godfather: Part II") == "the godfather part ii"
    assert words("  Léon -- the  Professional!") == "leon the professional"
    assert words("...") == ""


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("The Godfather", NAME_IS_QUERY),
        ("the GODFATHER!", NAME_IS_QUERY),
        ("The Godfather: Part II", NAME_BEGINS_WITH_QUERY),
        ("The Godfathers", NAME_HAS_EVERY_TERM),
        ("Godfather of the Bride", NAME_HAS_EVERY_TERM),
        ("Gone Fishing", OTHER_MATCH),
    ],
)
def test_a_names_tier_for_the_godfather(name, tier):
    found = relevance_tier(
        name_line=name.lower(),
        terms=split_terms("the godfather"),
        query_words="the godfather",
    )
    assert found == tier


@pytest.mark.django_db
def test_best_match_first_then_popularity_within_each_tier(client):
    MovieFactory(name="The Godfather", popularity=10)
    MovieFactory(name="The Godfather: Part II", popularity=90)
    MovieFactory(name="The Godfather: Part III", popularity=80)
    MovieFactory(name="Godfather of the Bride", popularity=95)
    MovieFactory(name="Jaws", director="The Godfather's Fan", popularity=99)
    response = client.get("/api/movies", {"search": "the godfather"})
    assert names(response) == [
        "The Godfather",
        "The Godfather: Part II",
        "The Godfather: Part III",
        "Godfather of the Bride",
        "Jaws",
    ]
    assert names(client.get("/api/movies", {"search": "the godfather", "ordering": "relevance"}))[
        0
    ] == ("The Godfather")


@pytest.mark.django_db
def test_the_order_of_terms_ranks_and_is_never_served_for_another(client):
    MovieFactory(name="The War Games", popularity=10)
    MovieFactory(name="War of the Worlds", popularity=90)
    assert names(client.get("/api/movies", {"search": "the war"})) == [
        "The War Games",
        "War of the Worlds",
    ]
    assert names(client.get("/api/movies", {"search": "war the"})) == [
        "War of the Worlds",
        "The War Games",
    ]
    assert names(client.get("/api/movies", {"search": "the,WAR"})) == [
        "The War Games",
        "War of the Worlds",
    ]


@pytest.mark.django_db
def test_without_a_search_relevance_is_popularity(client):
    MovieFactory(name="A", popularity=10)
    MovieFactory(name="B", popularity=90)
    assert names(client.get("/api/movies", {"ordering": "relevance"})) == ["B", "A"]
    assert names(client.get("/api/movies", {"search": ", ,", "ordering": "relevance"})) == [
        "B",
        "A",
    ]


@pytest.mark.django_db
def test_an_ordering_not_offered_names_relevance_among_the_choices(client):
    response = client.get("/api/movies", {"ordering": "rank"})
    assert response.status_code == 400
    assert "relevance" in response.json()["errors"]["ordering"][0]


@pytest.mark.django_db
def test_another_ordering_with_a_search_is_kept(client):
    MovieFactory(name="War", popularity=10)
    MovieFactory(name="Star Wars", popularity=90)
    assert names(client.get("/api/movies", {"search": "war"})) == ["War", "Star Wars"]
    ordered = client.get("/api/movies", {"search": "war", "ordering": "-popularity"})
    assert names(ordered) == ["Star Wars", "War"]


# Every plan gives the order that one ORDER BY (order_by_relevance) and a
# brute force in Python give, page after page.

WORDS = ["the", "war", "wars", "star", "of", "7", "theory", "Wär", "star-crossed", "x", "1.5"]
QUERIES = [
    "the",
    "war",
    "the war",
    "war the",
    "star wars",
    "star",
    "7",
    "the,7",
    "wa",
    "x the",
    "drama",
    "star-crossed",
    "-",
    "1.5",  # a number with punctuation: its names found through digit pieces too
    "the 1.5",
]


@pytest.fixture
def catalogue(db):
    chance = random.Random(7)
    drama = GenreFactory(name="Drama")
    for n in range(90):
        name = " ".join(chance.choice(WORDS) for _ in range(chance.randint(1, 4)))
        MovieFactory(
            name=f"{name}" if n % 3 else f"{name}: {n}",
            director=f"{chance.choice(['John Ford', 'Theo Star', 'Ana War'])} {n}",
            popularity=float(chance.choice([10, 20, 20, 30, 40])),
            genres=[drama] if n % 4 == 0 else [],
        )
    for n in range(12):  # more movies of one name than a page holds
        MovieFactory(name="The War", director=f"Someone {n}", popularity=float(n % 5 * 10))


def brute_force(query: str, director: str | None = None) -> list[int]:
    terms = split_terms(query)
    matches = search_movies(Movie.objects.all(), Search.parse(query))
    if director:
        matches = director_contains(matches, director)
    ranked = sorted(
        matches,
        key=lambda movie: (
            relevance_tier(
                name_line=movie.search_text.split("\n")[0],
                terms=terms,
                query_words=words(query),
            ),
            -movie.popularity,
            -movie.pk,
        ),
    )
    return [movie.pk for movie in ranked]


def every_page(client, query: str, limit: int = 7, **filters) -> list[int]:
    ids, offset = [], 0
    while True:
        params = {"search": query, "limit": limit, "offset": offset, **filters}
        body = client.get("/api/movies", params)
        body = body.json()
        ids += [movie["id"] for movie in body["results"]]
        if body["next"] is None:
            return ids
        offset += limit


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("director", [None, "war"], ids=["search alone", "and a filter"])
@pytest.mark.parametrize(
    "plan",
    [
        "few matches",
        "many matches",
        "many, walked",
        "many, names collected",
        "many, names sorted",
        "many, the rest in steps",
    ],
)
@pytest.mark.parametrize("query", QUERIES)
def test_every_plan_pages_in_the_one_relevance_order(client, monkeypatch, plan, query, director):
    if plan != "few matches":
        # Past the count limit, the tiers are looked up one by one.
        monkeypatch.setattr("catalog.api.pagination.CatalogPagination.count_limit", 3)
    if plan == "many, walked":
        monkeypatch.setattr(relevance, "BEGINNING_SORTED", 1)
        monkeypatch.setattr(relevance, "NAMES_COMMON", 10**6)  # one in the sample: walked
    if plan == "many, names collected":
        monkeypatch.setattr(relevance, "NAMES_COMMON", 0)  # never common: collected
    if plan == "many, names sorted":
        # Common, but too far to walk (as on SQLite when deep): scanned and sorted.
        monkeypatch.setattr(relevance, "NAMES_COMMON", 10**6)
        monkeypatch.setattr(relevance, "walk_is_cheap", lambda **_: False)
    if plan == "many, the rest in steps":
        # The rest walked a few movies at a time, or sorted when they are few there.
        monkeypatch.setattr(walking, "WALK_BUDGET", 4)
    expected = brute_force(query, director)
    filters = {"director": director} if director else {}
    assert every_page(client, query, **filters) == expected
    if not director:
        search = Search.parse(query)
        one_order_by = order_by_relevance(search_movies(Movie.objects.all(), search), search)
        assert list(one_order_by.values_list("pk", flat=True)) == expected


@pytest.mark.django_db
def test_the_admin_lists_a_search_best_match_first(admin_client):
    MovieFactory(name="Star Wars", popularity=90)
    MovieFactory(name="War", popularity=10)
    response = admin_client.get("/admin/catalog/movie/", {"q": "war"})
    listed = [movie.name for movie in response.context["cl"].result_list]
    assert listed == ["War", "Star Wars"]
    by_column = admin_client.get("/admin/catalog/movie/", {"q": "war", "o": "1"})
    assert [movie.name for movie in by_column.context["cl"].result_list] == ["Star Wars", "War"]


def test_sqlite_walks_the_popularity_index_only_while_it_is_short():
    assert relevance.walk_is_cheap(vendor="sqlite", needed=21, share=0.1)
    assert not relevance.walk_is_cheap(vendor="sqlite", needed=5021, share=0.1)
    assert relevance.walk_is_cheap(vendor="postgresql", needed=5021, share=0.1)
    assert not relevance.walk_is_cheap(vendor="postgresql", needed=21, share=0)


@pytest.mark.django_db
def test_sqlite_looks_for_names_holding_every_word_in_their_index_not_the_table():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan")
    MovieFactory(name="Star Wars")
    named = relevance.names_with_every_term(Movie.objects.all(), ["star", "war"], "sqlite")
    assert "COVERING INDEX movie_name_words" in named.values("pk", "popularity").explain()
    assert list(named.values_list("name", flat=True)) == ["Star Wars"]
    # A term that is not a word is sought in search_text's first line.
    punctuated = relevance.names_with_every_term(Movie.objects.all(), ["star-"], "sqlite")
    assert not punctuated.exists()
