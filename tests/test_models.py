import pytest

from catalog.models import LISTED_FIELDS, Movie
from tests.factories import GenreFactory, MovieFactory

pytestmark = pytest.mark.django_db


def test_listed_movies_come_in_the_order_asked_with_their_genres_by_name():
    war, drama = GenreFactory(name="War"), GenreFactory(name="Drama")
    first, second = MovieFactory(genres=[war, drama]), MovieFactory(genres=[])
    rows = Movie.objects.listed([second.pk, first.pk])
    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert rows[0]["genres"] == []
    assert rows[1]["genres"] == [{"id": drama.pk, "name": "Drama"}, {"id": war.pk, "name": "War"}]
    assert {field: rows[1][field] for field in LISTED_FIELDS} == {
        "id": first.pk,
        "name": first.name,
        "director": first.director,
        "popularity": first.popularity,
        "imdb_score": first.imdb_score,
    }


def test_listing_skips_ids_that_are_gone(django_assert_num_queries):
    kept = MovieFactory(genres=GenreFactory.create_batch(3))
    with django_assert_num_queries(1):
        rows = Movie.objects.listed([kept.pk + 1000, kept.pk])
    assert [row["id"] for row in rows] == [kept.pk]
