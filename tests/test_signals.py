"""Derived state follows every ORM change to the links, from either side:
Genre.movie_count, and what a search finds, with no movie row rewritten."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from catalog.api.serializers import GenreWithCountSerializer
from catalog.models import Genre, Movie
from catalog.search import field_line, search_document, search_movies, split_terms
from tests.factories import GenreFactory, MovieFactory
from tests.support.reference import real_movie_counts, stored_movie_counts


def counts() -> dict[str, int]:
    """The stored counts, after checking them against the links."""
    stored = stored_movie_counts()
    assert stored == real_movie_counts()
    return stored


@pytest.fixture
def genres(db) -> dict[str, Genre]:
    return {name: GenreFactory(name=name) for name in ("Drama", "War", "Comedy")}


def test_a_new_genre_has_no_movies(genres):
    assert counts() == {"Drama": 0, "War": 0, "Comedy": 0}


def test_adding_genres_to_a_movie_counts_each_link_once(genres):
    movie = MovieFactory()
    movie.genres.add(genres["Drama"], genres["War"])
    movie.genres.add(genres["Drama"])
    assert counts() == {"Drama": 1, "War": 1, "Comedy": 0}


def test_adding_movies_to_a_genre_counts_only_the_new_links(genres):
    linked, unlinked = MovieFactory(genres=[genres["War"]]), MovieFactory()
    genres["War"].movies.add(linked, unlinked)
    genres["War"].movies.add(linked.pk)
    assert counts() == {"Drama": 0, "War": 2, "Comedy": 0}


def test_removing_a_link_that_is_not_there_counts_nothing(genres):
    movie = MovieFactory(genres=[genres["Drama"]])
    other = MovieFactory(genres=[genres["War"]])
    movie.genres.remove(genres["War"], genres["Comedy"])
    genres["War"].movies.remove(movie)
    genres["Drama"].movies.remove(other, 10**9)
    assert counts() == {"Drama": 1, "War": 1, "Comedy": 0}


def test_removing_links_from_either_side(genres):
    first = MovieFactory(genres=[genres["Drama"], genres["War"]])
    second = MovieFactory(genres=[genres["Drama"], genres["War"]])
    first.genres.remove(genres["Drama"], genres["War"])
    genres["War"].movies.remove(second.pk)
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


def test_set_with_overlap_moves_only_the_difference(genres):
    movie = MovieFactory(genres=[genres["Drama"], genres["War"]])
    MovieFactory(genres=[genres["War"]])
    movie.genres.set([genres["War"], genres["Comedy"]])
    assert counts() == {"Drama": 0, "War": 2, "Comedy": 1}
    genres["War"].movies.set([movie])
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 1}
    movie.genres.set([genres["Drama"]], clear=True)
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


def test_clearing_a_movies_genres(genres):
    movie = MovieFactory(genres=[genres["Drama"], genres["War"]])
    MovieFactory(genres=[genres["Drama"]])
    movie.genres.clear()
    movie.genres.clear()
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


def test_clearing_a_genres_movies(genres):
    MovieFactory.create_batch(3, genres=[genres["Drama"], genres["War"]])
    genres["Drama"].movies.clear()
    assert counts() == {"Drama": 0, "War": 3, "Comedy": 0}


def test_deleting_a_movie_uncounts_its_genres(genres):
    movie = MovieFactory(genres=[genres["Drama"], genres["War"]])
    MovieFactory(genres=[genres["Drama"]])
    movie.delete()
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


def test_deleting_movies_in_bulk_uncounts_each(genres):
    MovieFactory.create_batch(3, genres=[genres["Drama"], genres["War"]])
    kept = MovieFactory(genres=[genres["War"]])
    Movie.objects.exclude(pk=kept.pk).delete()
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 0}


def test_deleting_a_genre_leaves_the_other_counts(genres):
    MovieFactory.create_batch(2, genres=[genres["Drama"], genres["War"]])
    genres["Drama"].delete()
    assert counts() == {"War": 2, "Comedy": 0}


def test_creating_through_the_relation_counts(genres):
    movie = genres["War"].movies.create(
        name="Paths of Glory", director="Stanley Kubrick", popularity=86.0, imdb_score=8.4
    )
    movie.genres.create(name="History")
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 0, "History": 1}


def test_saving_a_genre_read_earlier_keeps_the_current_count(genres):
    stale = Genre.objects.get(name="War")
    MovieFactory.create_batch(2, genres=[genres["War"]])
    stale.name = "Warfare"
    stale.save()
    assert counts() == {"Drama": 0, "Warfare": 2, "Comedy": 0}
    assert stale.movie_count == 0  # the instance is not refreshed; the row is right


# Two writers at once: the second waits for the first and counts what is left.


def add_war(movie: Movie, war: Genre) -> None:
    movie.genres.add(war)


def remove_war(movie: Movie, war: Genre) -> None:
    movie.genres.remove(war)


def war_adds_movie(movie: Movie, war: Genre) -> None:
    war.movies.add(movie)


def war_removes_movie(movie: Movie, war: Genre) -> None:
    war.movies.remove(movie)


def clear_movie(movie: Movie, war: Genre) -> None:
    movie.genres.clear()


def clear_war(movie: Movie, war: Genre) -> None:
    war.movies.clear()


def delete_movie(movie: Movie, war: Genre) -> None:
    Movie.objects.get(pk=movie.pk).delete()


def save_without_genres(movie: Movie, war: Genre) -> None:
    # As the API and the admin save a movie: the row first, then its genres.
    movie.save()
    movie.genres.set([])


CONCURRENT_WRITES = [
    (add_war, add_war),
    (add_war, war_adds_movie),
    (save_without_genres, save_without_genres),
    (save_without_genres, war_adds_movie),
    (remove_war, remove_war),
    (war_removes_movie, remove_war),
    (remove_war, delete_movie),
    (clear_war, remove_war),
    (clear_movie, clear_war),
    (delete_movie, war_removes_movie),
]


def wait_until_a_query_waits_for_a_lock(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
@pytest.mark.parametrize(("first", "second"), CONCURRENT_WRITES)
def test_concurrent_writers_count_each_link_once(
    first: Callable[[Movie, Genre], None], second: Callable[[Movie, Genre], None]
):
    war = GenreFactory(name="War")
    movie = MovieFactory(genres=[war] if first not in (add_war, war_adds_movie) else [])
    MovieFactory(genres=[war])  # so that counting a removal twice would not go below 0
    first_done, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(write: Callable[[Movie, Genre], None], *, hold: bool) -> None:
        try:
            with transaction.atomic():
                write(Movie.objects.get(pk=movie.pk), Genre.objects.get(pk=war.pk))
                if hold:
                    first_done.set()
                    release.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            first_done.set()
            connections.close_all()

    holder = threading.Thread(target=run, args=(first,), kwargs={"hold": True})
    holder.start()
    first_done.wait(10)
    waiter = threading.Thread(target=run, args=(second,), kwargs={"hold": False})
    waiter.start()
    try:
        wait_until_a_query_waits_for_a_lock()
    finally:
        release.set()
        holder.join(10)
        waiter.join(10)
    assert errors == []
    assert stored_movie_counts() == real_movie_counts()


@pytest.mark.django_db
def test_recount_genres_repairs_counts_changed_behind_the_signals():
    from io import StringIO

    from django.core.management import call_command

    drama = GenreFactory(name="Drama")
    movie = MovieFactory(genres=[drama])
    # Links written in SQL, as code that predates the counts would.
    Movie.genres.through.objects.create(movie=MovieFactory(), genre=drama)
    Movie.genres.through.objects.filter(movie=movie).delete()
    Genre.objects.filter(pk=drama.pk).update(movie_count=7)
    out = StringIO()
    call_command("recount_genres", stdout=out)
    assert stored_movie_counts() == real_movie_counts() == {"Drama": 1}
    assert "Recounted the movies of 1 genres." in out.getvalue()


# A genre change never touches a movie's row, and search follows it at once

# Accents, a ligature, an eszett, another script and a tab all change on the
# way to a genre's search_name.
AWKWARD_NAMES = ("Zoo", "apple", "Éclair", "Straße", "ﬁlm", "日本映画", "Tab\tGenre", "ÅNGEST")


def stored_rows() -> dict[int, tuple]:
    return {pk: rest for pk, *rest in Movie.objects.values_list("pk", "search_text", "updated_at")}


def documents() -> dict[int, str]:
    """Each movie's search_text as search_document writes it from its own fields."""
    return {
        movie.pk: search_document(
            name=movie.name,
            director=movie.director,
            popularity=movie.popularity,
            imdb_score=movie.imdb_score,
        )
        for movie in Movie.objects.all()
    }


def genre_ids_follow_the_links() -> bool:
    """Each movie's genre_ids holds the ids of its genres (and maybe of deleted ones)."""
    existing = {str(pk) for pk in Genre.objects.values_list("pk", flat=True)}
    return all(
        set(movie.genre_ids) & existing == {str(genre.pk) for genre in movie.genres.all()}
        and all(value is True for value in movie.genre_ids.values())
        for movie in Movie.objects.prefetch_related("genres")
    )


def genres_by_search() -> dict[str, set[str]]:
    """For each genre, the movies a search for its whole name finds."""
    return {
        genre.name: {movie.name for movie in search_movies(Movie.objects.all(), genre.name)}
        for genre in Genre.objects.all()
    }


def genres_by_links() -> dict[str, set[str]]:
    """For each genre, its movies and those whose own fields hold its name, by brute force."""
    movies = list(Movie.objects.prefetch_related("genres"))
    found = {}
    for genre in Genre.objects.all():
        terms = split_terms(genre.name)
        found[genre.name] = {
            movie.name
            for movie in movies
            if all(
                term in movie.search_text
                or any(term in field_line(other.name) for other in movie.genres.all())
                for term in terms
            )
        }
    return found


@pytest.fixture
def awkward(db) -> dict[str, Genre]:
    """Genres with awkward names, and movies with none, one, some and all of them."""
    genres = {name: GenreFactory(name=name) for name in AWKWARD_NAMES}
    MovieFactory(name="No genre")
    MovieFactory(name="Ça tourne", director="Agnès Varda", popularity=70.0, imdb_score=7.25)
    for index, genre in enumerate(genres.values()):
        MovieFactory(name=f"Only {index}", genres=[genre])
    MovieFactory(name="Some", genres=[genres["Zoo"], genres["Éclair"], genres["apple"]])
    MovieFactory(name="All", genres=list(genres.values()))
    return genres


def test_a_deleted_genres_id_may_stay_but_nothing_finds_it(awkward):
    eclair_id = awkward["Éclair"].pk
    awkward["Éclair"].delete()
    assert str(eclair_id) in Movie.objects.get(name="Some").genre_ids
    assert not search_movies(Movie.objects.all(), "eclair").exists()
    assert genre_ids_follow_the_links()


def test_a_genre_stores_its_name_as_terms_match_it(awkward):
    for genre in Genre.objects.all():
        assert genre.search_name == field_line(genre.name)
    assert Genre.objects.get(name="Straße").search_name == "strasse"
    assert Genre.objects.get(name="Tab Genre").search_name == "tab genre"


def rename(genres: dict[str, Genre], old: str, new: str) -> None:
    genres[old].name = new
    genres[old].save()


def rename_as_the_api_does(genre: Genre) -> None:
    serializer = GenreWithCountSerializer(genre, data={"name": "Strasse Noire"})
    serializer.is_valid(raise_exception=True)
    serializer.save()


GENRE_CHANGES = {
    "rename": lambda g: rename(g, "日本映画", "Anime"),
    "rename to another spelling": lambda g: rename(g, "Zoo", "zoo"),
    "rename through the API's serializer": lambda g: rename_as_the_api_does(g["Straße"]),
    "delete": lambda g: g["Éclair"].delete(),
    "delete of genres sharing movies, as a queryset": lambda g: Genre.objects.filter(
        name__in=["Zoo", "apple", "ÅNGEST"]
    ).delete(),
    "genre.movies.clear()": lambda g: g["Zoo"].movies.clear(),
    "genre.movies.add()": lambda g: g["ﬁlm"].movies.add(*Movie.objects.all()),
    "genre.movies.remove()": lambda g: g["Zoo"].movies.remove(*Movie.objects.all()),
    "genre.movies.set()": lambda g: g["Éclair"].movies.set(Movie.objects.filter(name="No genre")),
    "movie.genres.set()": lambda g: Movie.objects.get(name="Some").genres.set(
        [g["Tab\tGenre"], g["apple"]]
    ),
    "movie.genres.clear()": lambda g: Movie.objects.get(name="All").genres.clear(),
    "movie.genres.create()": lambda g: Movie.objects.get(name="Some").genres.create(name="Aé"),
}


@pytest.mark.parametrize("change", GENRE_CHANGES.values(), ids=GENRE_CHANGES.keys())
def test_every_genre_change_leaves_movie_rows_alone_and_search_follows_it(awkward, change):
    before = stored_rows()
    found_before = genres_by_search()
    change(awkward)
    assert stored_rows() == {pk: row for pk, row in before.items() if pk in stored_rows()}
    assert {pk: row[0] for pk, row in stored_rows().items()} == documents()
    assert genre_ids_follow_the_links()
    assert genres_by_search() == genres_by_links()
    assert genres_by_search() != found_before


def test_renaming_a_genre_costs_the_same_queries_for_ten_movies_as_for_one(db):
    from django.test.utils import CaptureQueriesContext

    small, large = GenreFactory(name="Small"), GenreFactory(name="Large")
    MovieFactory(genres=[small])
    MovieFactory.create_batch(10, genres=[large])
    queries = {}
    for genre in (small, large):
        genre.name += " renamed"
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            genre.save()
        queries[genre.name] = [query["sql"] for query in captured]
        assert not [sql for sql in queries[genre.name] if "catalog_movie" in sql]
    assert len(queries["Small renamed"]) == len(queries["Large renamed"])
    assert search_movies(Movie.objects.all(), "large renamed").count() == 10
