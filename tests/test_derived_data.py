"""Derived state follows every write of catalog.writes: Genre.movie_count, genre_ids,
and what a search finds, with no movie row rewritten by a genre's change; ORM
writes made around catalog.writes are refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from catalog import writes
from catalog.guard import UnmanagedWrite
from catalog.models import Genre, Movie
from catalog.search import Search, field_line, search_document, search_movies, split_terms
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


def names(*genres: Genre) -> list[str]:
    return [genre.name for genre in genres]


def test_a_new_genre_has_no_movies(genres):
    assert counts() == {"Drama": 0, "War": 0, "Comedy": 0}


def test_a_new_movie_counts_each_genre_once(genres):
    MovieFactory(genres=[genres["Drama"], genres["War"], genres["Drama"]])
    assert counts() == {"Drama": 1, "War": 1, "Comedy": 0}


def test_replacing_genres_moves_only_the_difference(genres):
    movie = MovieFactory(genres=[genres["Drama"], genres["War"]])
    MovieFactory(genres=[genres["War"]])
    writes.update_movie(movie.pk, genres=names(genres["War"], genres["Comedy"]))
    assert counts() == {"Drama": 0, "War": 2, "Comedy": 1}
    writes.update_movie(movie.pk, genres=names(genres["War"], genres["Comedy"]))
    assert counts() == {"Drama": 0, "War": 2, "Comedy": 1}
    writes.update_movie(movie.pk, genres=[])
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 0}


def test_changing_other_fields_leaves_the_genres(genres):
    movie = MovieFactory(genres=[genres["Drama"]])
    writes.update_movie(movie.pk, name="Renamed", popularity=1.0)
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}
    assert Movie.objects.get(pk=movie.pk).genre_ids == {str(genres["Drama"].pk): True}


def test_a_movie_with_a_new_genre_creates_and_counts_it(genres):
    MovieFactory(genres=[genres["War"]])
    movie = writes.create_movie(
        name="Paths of Glory",
        director="Stanley Kubrick",
        popularity=86.0,
        imdb_score=8.4,
        genres=["war", "History"],
    )
    assert counts() == {"Drama": 0, "War": 2, "Comedy": 0, "History": 1}
    assert [genre["name"] for genre in movie.genres] == ["History", "War"]


def test_a_writer_that_may_not_add_genres_changes_nothing(genres):
    movie = MovieFactory(genres=[genres["War"]])
    with pytest.raises(writes.NewGenresRefused, match="History"):
        writes.update_movie(movie.pk, genres=["Drama", "History"], may_create_genres=False)
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 0}


def test_deleting_a_movie_uncounts_its_genres(genres):
    movie = MovieFactory(genres=[genres["Drama"], genres["War"]])
    MovieFactory(genres=[genres["Drama"]])
    writes.delete_movie(movie.pk)
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


def test_deleting_movies_in_bulk_uncounts_each(genres):
    MovieFactory.create_batch(3, genres=[genres["Drama"], genres["War"]])
    kept = MovieFactory(genres=[genres["War"]])
    gone = writes.delete_movies(Movie.objects.exclude(pk=kept.pk).values_list("pk", flat=True))
    assert gone == 3
    assert counts() == {"Drama": 0, "War": 1, "Comedy": 0}


def test_deleting_a_genre_leaves_the_other_counts(genres):
    MovieFactory.create_batch(2, genres=[genres["Drama"], genres["War"]])
    writes.delete_genre(genres["Drama"].pk)
    assert counts() == {"War": 2, "Comedy": 0}


def test_renaming_a_genre_keeps_its_count(genres):
    MovieFactory.create_batch(2, genres=[genres["War"]])
    renamed = writes.rename_genre(genres["War"].pk, name="Warfare")
    assert counts() == {"Drama": 0, "Warfare": 2, "Comedy": 0}
    assert renamed.movie_count == 2


def test_writes_to_what_is_gone_are_refused_and_change_nothing(genres):
    movie = MovieFactory(genres=[genres["War"]])
    writes.delete_movie(movie.pk)
    for write in (
        lambda: writes.update_movie(movie.pk, name="Back"),
        lambda: writes.delete_movie(movie.pk),
        lambda: writes.rename_genre(10**9, name="Nothing"),
        lambda: writes.delete_genre(10**9),
    ):
        with pytest.raises(writes.NotFound):
            write()
    assert counts() == {"Drama": 0, "War": 0, "Comedy": 0}


def test_duplicates_are_refused_by_key(genres):
    MovieFactory(name="Heat", director="Michael Mann")
    other = MovieFactory(name="Heat 2", director="Michael Mann")
    with pytest.raises(writes.Duplicate):
        writes.update_movie(other.pk, name=" Heat ")
    with pytest.raises(writes.Duplicate):
        writes.rename_genre(genres["War"].pk, name="DRAMA")
    with pytest.raises(writes.Duplicate):
        writes.create_genre(name="comedy")
    assert Movie.objects.get(pk=other.pk).name == "Heat 2"


# ORM writes around catalog.writes


@pytest.mark.parametrize(
    "stray",
    [
        lambda movie, genre: Movie.objects.filter(pk=movie.pk).first().save(),
        lambda movie, genre: Movie.objects.only("id", "name").get(pk=movie.pk).save(),
        lambda movie, genre: Movie.objects.get(pk=movie.pk).delete(),
        lambda movie, genre: Movie.objects.all().delete(),
        lambda movie, genre: Movie.objects.get(pk=movie.pk).genres.add(genre),
        lambda movie, genre: Movie.objects.get(pk=movie.pk).genres.clear(),
        lambda movie, genre: genre.movies.add(movie),
        lambda movie, genre: Genre.objects.create(name="Western"),
        lambda movie, genre: Genre.objects.get(pk=genre.pk).delete(),
        lambda movie, genre: Genre.objects.filter(pk=genre.pk).delete(),
        lambda movie, genre: Movie.objects.create(
            name="Ran", director="Akira Kurosawa", popularity=1, imdb_score=1
        ),
    ],
    ids=[
        "save",
        "save of a deferred load",
        "delete",
        "queryset delete",
        "genres.add",
        "genres.clear",
        "genre.movies.add",
        "genre create",
        "genre delete",
        "genre queryset delete",
        "create",
    ],
)
def test_an_orm_write_outside_the_writes_is_refused(genres, stray):
    movie = MovieFactory(name="Heat", genres=[genres["Drama"]])
    before = list(Movie.objects.values_list("pk", "name", "search_text", "genre_ids"))
    with pytest.raises(UnmanagedWrite, match="catalog.writes"), transaction.atomic():
        stray(movie, genres["War"])
    assert list(Movie.objects.values_list("pk", "name", "search_text", "genre_ids")) == before
    assert counts() == {"Drama": 1, "War": 0, "Comedy": 0}


# Two writers at once: the second waits for the first and acts on what it left.


def add_war(movie: Movie, war: Genre) -> None:
    linked = list(movie.genres.values_list("name", flat=True))
    writes.update_movie(movie.pk, genres=[*linked, war.name])


def remove_war(movie: Movie, war: Genre) -> None:
    writes.update_movie(movie.pk, genres=[])


def delete_movie(movie: Movie, war: Genre) -> None:
    writes.delete_movie(movie.pk)


def delete_war(movie: Movie, war: Genre) -> None:
    writes.delete_genre(war.pk)


def rename_war(movie: Movie, war: Genre) -> None:
    writes.rename_genre(war.pk, name=f"War {time.monotonic_ns()}")


def import_war(movie: Movie, war: Genre) -> None:
    record = {
        "name": movie.name,
        "director": movie.director,
        "99popularity": 1.0,
        "imdb_score": 1.0,
        "genre": [war.name, "History"],
    }
    writes.import_records(records=[record])


CONCURRENT_WRITES = [
    (add_war, add_war),
    (add_war, remove_war),
    (remove_war, remove_war),
    (remove_war, delete_movie),
    (delete_movie, add_war),
    (delete_war, add_war),
    (rename_war, import_war),
    (import_war, remove_war),
    (import_war, import_war),
    (delete_movie, import_war),
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
def test_concurrent_writers_queue_and_keep_every_count(
    first: Callable[[Movie, Genre], None], second: Callable[[Movie, Genre], None]
):
    from catalog import consistency

    war = GenreFactory(name="War")
    movie = MovieFactory(genres=[war] if first is not add_war else [])
    MovieFactory(genres=[war])  # so that counting a removal twice would not go below 0
    first_done, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(write: Callable[[Movie, Genre], None], *, hold: bool) -> None:
        try:
            with writes.catalogue_write():
                write(movie, war)
                if hold:
                    first_done.set()
                    release.wait(10)
        except writes.NotFound:
            pass  # the first writer deleted what the second meant to change
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
    assert list(consistency.check()) == []


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
        genre.name: {
            movie.name for movie in search_movies(Movie.objects.all(), Search.parse(genre.name))
        }
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
    writes.delete_genre(eclair_id)
    assert str(eclair_id) in Movie.objects.get(name="Some").genre_ids
    assert not search_movies(Movie.objects.all(), Search.parse("eclair")).exists()
    assert genre_ids_follow_the_links()


def test_a_genre_stores_its_name_as_terms_match_it(awkward):
    for genre in Genre.objects.all():
        assert genre.search_name == field_line(genre.name)
    assert Genre.objects.get(name="Straße").search_name == "strasse"
    assert Genre.objects.get(name="Tab Genre").search_name == "tab genre"


def set_genres(movie_name: str, genre_names: list[str]) -> None:
    writes.update_movie(Movie.objects.get(name=movie_name).pk, genres=genre_names)


GENRE_CHANGES = {
    "rename": lambda g: writes.rename_genre(g["日本映画"].pk, name="Anime"),
    "rename to another spelling": lambda g: writes.rename_genre(g["Zoo"].pk, name="zoo"),
    "rename to a name that folds differently": lambda g: writes.rename_genre(
        g["Straße"].pk, name="Strasse Noire"
    ),
    "delete": lambda g: writes.delete_genre(g["Éclair"].pk),
    "delete of genres sharing movies": lambda g: writes.delete_genres(
        Genre.objects.filter(name__in=["Zoo", "apple", "ÅNGEST"]).values_list("pk", flat=True)
    ),
}

MOVIE_GENRE_CHANGES = {
    "genres replaced": lambda g: set_genres("Some", ["Tab\tGenre", "apple"]),
    "genres cleared": lambda g: set_genres("All", []),
    "a new genre": lambda g: set_genres("Some", ["Aé", "Zoo"]),
    "a genre by another spelling": lambda g: set_genres("No genre", ["FILM", "straße"]),
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


@pytest.mark.parametrize("change", MOVIE_GENRE_CHANGES.values(), ids=MOVIE_GENRE_CHANGES.keys())
def test_every_change_of_a_movies_genres_is_searchable_at_once(awkward, change):
    found_before = genres_by_search()
    change(awkward)
    assert {pk: row[0] for pk, row in stored_rows().items()} == documents()
    assert genre_ids_follow_the_links()
    assert genres_by_search() == genres_by_links()
    assert genres_by_search() != found_before
    assert counts() == real_movie_counts()


def test_renaming_a_genre_costs_the_same_queries_for_ten_movies_as_for_one(db):
    from django.test.utils import CaptureQueriesContext

    small, large = GenreFactory(name="Small"), GenreFactory(name="Large")
    MovieFactory(genres=[small])
    MovieFactory.create_batch(10, genres=[large])
    queries = {}
    for genre in (small, large):
        with CaptureQueriesContext(connection) as captured:
            writes.rename_genre(genre.pk, name=f"{genre.name} renamed")
        queries[genre.name] = [query["sql"] for query in captured]
        assert not [sql for sql in queries[genre.name] if "catalog_movie" in sql]
    assert len(queries["Small"]) == len(queries["Large"])
    assert search_movies(Movie.objects.all(), Search.parse("large renamed")).count() == 10
