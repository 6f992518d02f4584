"""The movie list's query model: parsed once from each source, answered by one function."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import search
from catalog.reads import InvalidQuery, MovieQuery, list_movies
from catalog.reads.query import TOO_MANY_GENRES
from catalog.search import Search
from tests.factories import GenreFactory, MovieFactory

CATALOG = Path(settings.BASE_DIR) / "catalog"


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Each text a search is parsed from (a text parsed once and reused counts once)."""
    parsed: list[str] = []
    search._parsed.cache_clear()
    work = search._parsed.__wrapped__

    def counting(text: str) -> Search:
        parsed.append(text)
        return work(text)

    monkeypatch.setattr(search, "_parsed", lru_cache(maxsize=1024)(counting))
    return parsed


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/movies?search=the+war",
        "/api/movies?search=the+war&genre=War&ordering=relevance&limit=5",
        "/?q=the+war",
        "/?q=the+war&genre=War&page=1",
    ],
)
def test_a_requests_search_is_parsed_once(client, parses, url):
    war = GenreFactory(name="War")
    MovieFactory(name="The War", genres=[war])
    MovieFactory(name="War and Peace", genres=[war])
    assert client.get(url).status_code == 200
    assert parses == ["the war"]


@pytest.mark.django_db
def test_the_list_parses_nothing_itself(monkeypatch):
    MovieFactory(name="The War")
    query = MovieQuery(search=Search.parse("the war"))

    def refuse(text):
        raise AssertionError(f"parsed {text!r} again")

    monkeypatch.setattr(Search, "parse", staticmethod(refuse))
    assert [movie.name for movie in list_movies(query).rows] == ["The War"]


def test_a_query_string_becomes_one_query_value():
    params = {"search": "War, the", "genre": "Drama,war", "ordering": "-name", "limit": "200"}
    query = MovieQuery.from_params(QueryDictLike(params))
    assert query.search is not None
    assert (query.search.typed, query.search.terms) == (("war", "the"), ("the", "war"))
    assert query.genres == ("Drama", "war")
    assert (query.ordering_in_effect, query.offset, query.limit) == ("-name", 0, 100)
    assert MovieQuery.from_params(QueryDictLike({"search": "x"})).ordering_in_effect == (
        "relevance"
    )
    assert MovieQuery.from_params(QueryDictLike({})).search is None


def test_genre_any_and_facets_are_parsed_with_the_query():
    params = {"genre_any": "Western, war,WAR,", "facets": "genre, genre"}
    query = MovieQuery.from_params(QueryDictLike(params))
    assert (query.genres, query.genre_any, query.facets) == ((), ("Western", "war"), ("genre",))
    assert query.filtered
    assert query.without_genre_filters() == MovieQuery(facets=("genre",))
    assert MovieQuery.from_params(QueryDictLike({"facets": ""})).facets == ()


def test_every_refused_parameter_is_named():
    with pytest.raises(InvalidQuery) as refused:
        MovieQuery.from_params(
            QueryDictLike({"imdb_score_min": "x", "popularity_max": "101", "limit": "0"})
        )
    assert set(refused.value.errors) == {"imdb_score_min", "popularity_max"}
    with pytest.raises(InvalidQuery) as refused:
        MovieQuery.from_params(QueryDictLike({"genre": ",".join(map(str, range(30)))}))
    assert refused.value.errors == {"genre": [TOO_MANY_GENRES]}


class QueryDictLike(dict):
    def getlist(self, name):
        return [self[name]] if name in self else []


# Who may import whom


def imported_modules(package: Path) -> set[str]:
    """Every catalog module the Python files under ``package`` import."""
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("catalog")}


def test_the_api_and_the_site_import_nothing_of_each_other():
    assert not {m for m in imported_modules(CATALOG / "api") if m.startswith("catalog.site")}
    assert not {m for m in imported_modules(CATALOG / "site") if m.startswith("catalog.api")}


@pytest.mark.parametrize("package", ["reads", "web"])
def test_the_shared_layers_import_neither_the_api_nor_the_site(package):
    imported = imported_modules(CATALOG / package)
    assert not {m for m in imported if m.startswith(("catalog.api", "catalog.site"))}


def test_the_domain_imports_neither_the_api_the_site_nor_the_web():
    domain = [path for path in CATALOG.glob("*.py")] + list((CATALOG / "reads").glob("*.py"))
    for path in domain:
        imported = imported_modules_of(path)
        assert not {
            m
            for m in imported
            if m.startswith(("catalog.api", "catalog.site", "catalog.web", "config", "operations"))
        }, path.name


def imported_modules_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


# Genres of the matches, for the search page's chips


@pytest.fixture
def war_and_drama():
    war, drama, western = (GenreFactory(name=name) for name in ("War", "Drama", "Western"))
    MovieFactory(name="The War", genres=[war, drama])
    MovieFactory(name="War and Peace", genres=[war, drama])
    MovieFactory(name="War Horse", genres=[war])
    MovieFactory(name="Unforgiven", genres=[western])
    return war, drama, western


@pytest.mark.django_db
def test_the_genres_of_the_matches_are_counted_the_most_first(war_and_drama):
    page = list_movies(MovieQuery(search=Search.parse("war")), genres=True)
    assert [(genre.name, genre.count) for genre in page.genres] == [("War", 3), ("Drama", 2)]


@pytest.mark.django_db
def test_genres_are_counted_within_the_filters(war_and_drama):
    page = list_movies(MovieQuery(genres=("drama",)), genres=True)
    assert [(genre.name, genre.count) for genre in page.genres] == [("Drama", 2), ("War", 2)]


@pytest.mark.django_db
def test_genres_are_counted_only_when_asked_for_and_only_with_matches(war_and_drama):
    assert list_movies(MovieQuery(search=Search.parse("war"))).genres is None
    assert list_movies(MovieQuery(search=Search.parse("zzqqxj")), genres=True).genres == []


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", ["", "name", "-popularity"])
def test_genres_are_counted_alike_in_every_order(war_and_drama, ordering):
    query = MovieQuery(search=Search.parse("war"), ordering=ordering)
    page = list_movies(query, genres=True)
    assert [(genre.name, genre.count) for genre in page.genres] == [("War", 3), ("Drama", 2)]


@pytest.mark.django_db
def test_genres_are_read_with_an_exact_count_in_one_more_query(war_and_drama):
    query = MovieQuery(search=Search.parse("war"))
    list_movies(query)  # what a search keeps once read
    with CaptureQueriesContext(connection) as plain:
        list_movies(query)
    with CaptureQueriesContext(connection) as tallied:
        page = list_movies(query, genres=True)
    # Read with the matches counted; the one more query names the genres.
    assert len(tallied) == len(plain) + 1
    assert 'FROM "catalog_genre"' in tallied.captured_queries[-1]["sql"]
    assert page.count_exact
    assert [(genre.name, genre.count) for genre in page.genres] == [("War", 3), ("Drama", 2)]


@pytest.mark.django_db
def test_genres_are_counted_past_a_bounded_count(war_and_drama):
    page = list_movies(MovieQuery(search=Search.parse("war"), count_limit=2), genres=True)
    assert not page.count_exact
    # Every match counted, not only the two the list's count read.
    assert [(genre.name, genre.count) for genre in page.genres] == [("War", 3), ("Drama", 2)]
