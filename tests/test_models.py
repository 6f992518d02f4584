import pytest

from catalog.models import ListedMovie, Movie
from tests.factories import GenreFactory, MovieFactory

pytestmark = pytest.mark.django_db


def test_listed_movies_come_in_the_order_asked_with_their_genres_by_name():
    war, drama = GenreFactory(name="War"), GenreFactory(name="Drama")
    first, second = MovieFactory(genres=[war, drama]), MovieFactory(genres=[])
    rows = Movie.objects.listed([second.pk, first.pk])
    assert [row.id for row in rows] == [second.pk, first.pk]
    assert rows[0].genres == []
    drama_and_war = [{"id": drama.pk, "name": "Drama"}, {"id": war.pk, "name": "War"}]
    assert rows[1] == ListedMovie(
        first.pk, first.name, first.director, first.popularity, first.imdb_score, drama_and_war
    )
    assert ListedMovie.of(first) == rows[1]


def test_listing_skips_ids_that_are_gone(django_assert_num_queries):
    kept = MovieFactory(genres=GenreFactory.create_batch(3))
    with django_assert_num_queries(1):
        rows = Movie.objects.listed([kept.pk + 1000, kept.pk])
    assert [row.id for row in rows] == [kept.pk]
