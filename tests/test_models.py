import pytest
from django.db import connection

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


def movies_with_genre_ids(*keys: str) -> dict[str, int]:
    """One movie per set of genre_ids keys (comma-separated), written as given."""
    movies = {}
    for number, key_list in enumerate(keys):
        movie = MovieFactory(genres=[], name=f"Movie {number}")
        genre_ids = {key: True for key in key_list.split(",") if key}
        Movie.objects.filter(pk=movie.pk).update(genre_ids=genre_ids)
        movies[key_list] = movie.pk
    return movies


def test_genre_id_lookups_find_a_key_exactly_never_a_key_ending_or_starting_with_it():
    movies = movies_with_genre_ids("3", "13", "31", "3,13", "23,30", "")
    by_pk = {pk: keys for keys, pk in movies.items()}

    def found(**lookup) -> set[str]:
        return {by_pk[pk] for pk in Movie.objects.filter(**lookup).values_list("pk", flat=True)}

    assert found(genre_ids__has_key="3") == {"3", "3,13"}
    assert found(genre_ids__has_keys=["3", "13"]) == {"3,13"}
    assert found(genre_ids__has_any_keys=["13", "30"]) == {"13", "3,13", "23,30"}
    assert found(genre_ids__has_any_keys=["4"]) == set()


def test_genre_id_lookups_read_json_written_without_spaces():
    movie = MovieFactory(genres=[])
    with connection.cursor() as cursor:
        compact = '{"5":true,"15":true}'
        update = "UPDATE catalog_movie SET genre_ids = %s WHERE id = %s"
        cursor.execute(update, [compact, movie.pk])
    assert Movie.objects.filter(genre_ids__has_key="5").count() == 1
    assert Movie.objects.filter(genre_ids__has_keys=["5", "15"]).count() == 1
    assert Movie.objects.filter(genre_ids__has_key="1").count() == 0
