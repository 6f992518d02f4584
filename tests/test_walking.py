"""The first rows of a search in an indexed order, walked in bounded steps or sorted."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import writes
from catalog.models import Movie
from catalog.reads import walking
from catalog.reads.listing import ordering_keys
from catalog.reads.query import ORDERING_FIELDS
from catalog.reads.walking import first_in_order
from tests.factories import MovieFactory

ORDERINGS = [f"{sign}{field}" for field in ORDERING_FIELDS for sign in ("", "-")]


@pytest.fixture
def catalogue(db, monkeypatch):
    """60 movies; "rare" in the names of the five least popular and lowest scored,
    "often" in one name in three; ties on every field, so the order rests on the id too."""
    monkeypatch.setattr(walking, "WALK_BUDGET", 6)
    for n in range(60):
        rare = " rare" if n < 5 else ""
        often = " often" if n % 3 == 0 else ""
        MovieFactory(
            name=f"M{59 - n:02d}{rare}{often}",
            director=f"D{n}",
            popularity=float(n // 2),
            imdb_score=n // 6 / 2,
        )


def expected(matches, ordering: str, needed: int) -> list[int]:
    return list(matches.order_by(*ordering_keys(ordering)).values_list("pk", flat=True)[:needed])


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("term", ["rare", "often", "m", "nowhere"])
@pytest.mark.parametrize("needed", [1, 4, 12, 25, 70])
def test_the_first_rows_are_those_of_the_order_whatever_the_plan(ordering, term, needed):
    matches = Movie.objects.filter(name__icontains=term)
    found = first_in_order(matches, ordering_keys(ordering), needed)
    assert found == expected(matches, ordering, needed)


def queries_of(matches, ordering: str, needed: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        first_in_order(matches, ordering_keys(ordering), needed)
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.usefixtures("catalogue")
def test_matches_dense_at_the_start_of_the_order_are_walked_for_within_the_budget():
    # the budget's boundary entry, then one walk that stops there
    walked = queries_of(Movie.objects.filter(name__icontains="m"), "-popularity", 4)
    assert len(walked) == 2
    assert " + 0" not in walked[-1]


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize("ordering", ["-popularity", "-imdb_score", "name"])
def test_matches_gathered_at_the_end_of_the_order_are_sorted_not_walked_for(ordering):
    # the boundary, a walk that finds none of them there, then every match sorted
    # (its ordering field in an expression no index serves)
    sorted_ = queries_of(Movie.objects.filter(name__icontains="rare"), ordering, 3)
    assert len(sorted_) == 3
    assert " + 0" in sorted_[-1] or "||" in sorted_[-1]


@pytest.mark.usefixtures("catalogue")
def test_a_boundary_remembered_from_before_writes_still_gives_the_first_rows():
    matches = Movie.objects.filter(name__icontains="often")
    keys = ordering_keys("-popularity")
    first_in_order(matches, keys, 3)  # remembers the sixth most popular entry
    writes.delete_movie(Movie.objects.order_by("-popularity").first().pk)
    for n in range(3):
        MovieFactory(name=f"New often {n}", popularity=99.0)
    assert first_in_order(matches, keys, 3) == expected(matches, "-popularity", 3)
