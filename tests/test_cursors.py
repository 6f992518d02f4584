"""Cursor pages: every movie once, in order, whatever is written between pages."""

from urllib.parse import parse_qs, urlsplit

import pytest
from rest_framework.test import APIClient

from catalog import writes
from catalog.models import Movie
from catalog.reads import MovieQuery, list_movies, walking
from catalog.reads.cursors import Cursor
from catalog.reads.listing import matching, ordering_keys
from catalog.reads.query import ORDERING_FIELDS
from catalog.search import Search

ORDERINGS = [f"{sign}{field}" for field in ORDERING_FIELDS for sign in ("", "-")]


def crawl(client, url: str, link: str = "next") -> list[dict]:
    """Every page from ``url`` on, following one kind of link."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.json())
        url = pages[-1][link]
    return pages


def ids_of(pages: list[dict]) -> list[int]:
    return [movie["id"] for page in pages for movie in page["results"]]


def in_order(ordering: str, **search) -> list[int]:
    query = MovieQuery(ordering=ordering, **search)
    found = matching(Movie.objects.all(), query)
    return list(found.order_by(*ordering_keys(ordering)).values_list("pk", flat=True))


@pytest.fixture
def api():
    return APIClient()


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_following_next_reads_every_movie_once_in_the_lists_order(
    fixture_catalogue, api, ordering
):
    pages = crawl(api, f"/api/movies?ordering={ordering}&limit=17&cursor=")

    assert ids_of(pages) == in_order(ordering)
    assert all(len(page["results"]) == 17 for page in pages[:-1])
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None
    assert {page["count"] for page in pages} == {min(Movie.objects.count(), 1000)}


@pytest.mark.parametrize("ordering", ["name", "-popularity"])
def test_following_previous_from_the_last_page_reads_the_same_pages_backwards(
    fixture_catalogue, api, ordering
):
    forward = crawl(api, f"/api/movies?ordering={ordering}&limit=23&cursor=")
    last = forward[-1]["previous"]
    backward = crawl(api, last, link="previous")

    assert [page["results"] for page in backward] == [
        page["results"] for page in reversed(forward[:-1])
    ]
    # The first page reached backwards still links forward.
    assert backward[-1]["previous"] is None
    assert api.get(backward[-1]["next"]).json()["results"] == forward[1]["results"]


def test_cursor_pages_of_a_search_with_filters_hold_exactly_its_matches(fixture_catalogue, api):
    url = "/api/movies?search=the&imdb_score_min=7.5&ordering=-imdb_score&limit=5&cursor="
    pages = crawl(api, url)

    expected = in_order("-imdb_score", search=Search.parse("the"))
    expected = [pk for pk in expected if Movie.objects.get(pk=pk).imdb_score >= 7.5]
    assert ids_of(pages) == expected
    assert len(expected) > 10
    assert all("search=the" in page["next"] for page in pages[:-1])


def test_a_catalogue_changing_between_pages_skips_and_repeats_no_movie(db, api):
    # Many movies share a popularity, so that only the id orders them.
    for number in range(60):
        writes.create_movie(
            name=f"Film {number}", director="Ann Lee", popularity=float(number % 4), imdb_score=5
        )
    present_throughout = set(Movie.objects.values_list("pk", flat=True))
    url, seen, added = "/api/movies?ordering=popularity&limit=7&cursor=", [], 0
    while url:
        page = api.get(url).json()
        seen += [movie["id"] for movie in page["results"]]
        # Between pages: movies added before, at and after the page's place in the
        # order, one already read and one not yet read removed.
        for popularity in (0.0, 1.0, 2.0, 3.0):
            added += 1
            writes.create_movie(
                name=f"New {added}", director="Bo Ek", popularity=popularity, imdb_score=5
            )
        for gone in (seen[len(seen) // 2], max(present_throughout - set(seen), default=None)):
            if gone is not None and Movie.objects.filter(pk=gone).exists():
                writes.delete_movie(gone)
                present_throughout.discard(gone)
        url = page["next"]

    assert len(seen) == len(set(seen))
    assert present_throughout <= set(seen)


@pytest.mark.parametrize("ordering", ["-popularity", "name"])
def test_a_deep_cursor_page_of_a_broad_search_walks_from_the_cursor(
    fixture_catalogue, monkeypatch, ordering
):
    # A tiny walk budget and count limit: every page past the first walks in steps.
    monkeypatch.setattr(walking, "WALK_BUDGET", 4)
    walking.forget()
    sorted_all = []
    monkeypatch.setattr(walking, "sorted_matches", lambda *args: sorted_all.append(args))
    query = MovieQuery(search=Search.parse("e"), ordering=ordering, limit=9, count_limit=3)
    expected = in_order(ordering, search=Search.parse("e"))
    keys, seen, cursor = ordering_keys(ordering), [], Cursor()
    while True:
        page = list_movies(query.__class__(**{**query.__dict__, "cursor": cursor}))
        seen += [row.id for row in page.rows]
        # The whole list's count, bounded, on every page: past the cursor or not.
        assert (page.count, page.count_exact) == (3, False)
        if not page.has_more:
            break
        last = page.rows[-1]
        cursor = Cursor((getattr(last, keys[0].lstrip("-")), last.id))

    assert seen == expected
    assert len(expected) > 100


@pytest.mark.parametrize(
    ("url", "parameter", "message"),
    [
        ("/api/movies?ordering=name&cursor=abc", "cursor", "Not a cursor this list gave"),
        ("/api/movies?search=war&cursor=", "cursor", "ordering other than relevance"),
        ("/api/movies?ordering=name&cursor=&offset=20", "offset", "Cannot be combined"),
    ],
)
def test_refused_cursors_are_a_400_naming_the_parameter(db, api, url, parameter, message):
    response = api.get(url)

    assert response.status_code == 400
    assert message in response.json()["errors"][parameter][0]


def test_a_tampered_or_borrowed_cursor_is_refused(fixture_catalogue, api):
    next_url = api.get("/api/movies?ordering=name&limit=5&cursor=").json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    tampered = cursor[:-3] + ("aaa" if not cursor.endswith("aaa") else "bbb")

    forged = api.get(f"/api/movies?ordering=name&cursor={tampered}")
    other_list = api.get(f"/api/movies?ordering=-name&cursor={cursor}")
    other_search = api.get(f"/api/movies?ordering=name&search=the&cursor={cursor}")

    assert forged.status_code == 400
    assert "Not a cursor" in forged.json()["errors"]["cursor"][0]
    for response in (other_list, other_search):
        assert response.status_code == 400
        assert "another list" in response.json()["errors"]["cursor"][0]
    assert api.get(f"/api/movies?ordering=name&cursor={cursor}").status_code == 200
