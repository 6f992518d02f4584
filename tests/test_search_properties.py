"""Every write of catalog.writes, interleaved with searches, never makes search or the
genres' movie counts drift from the brute-force reference."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog import consistency, writes
from catalog.models import Genre, Movie
from catalog.search import Search, search_movies
from catalog.writes import import_records
from tests.support.reference import real_movie_counts, reference_search, stored_movie_counts

# A small vocabulary, so that terms and fields collide often.
WORDS = st.sampled_from(["war", "the", "Amélie", "AMELIE", "ab", "b c", "70", "%", "_", "x,y"])
TEXT = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)
POPULARITY = st.sampled_from([0.0, 7.0, 7.5, 70.0, 8.25, 100.0])
SCORE = st.sampled_from([0.0, 7.0, 7.5, 8.25, 10.0])
PICK = st.integers(min_value=0, max_value=50)  # which existing object, modulo their number
SINGLE_TERMS = [
    "war",
    "the",
    "amelie",
    "ab",
    "b c",
    "70",
    "7",
    ".",
    "%",
    "_",
    "drama",
    "x",
    "0.",
    ".5",
]
QUERY = st.lists(st.sampled_from(SINGLE_TERMS + ["é", "0", "c"]), max_size=3).map(",".join)

OPERATIONS = st.one_of(
    st.tuples(st.just("create_movie"), TEXT, TEXT, POPULARITY, SCORE, st.lists(PICK, max_size=2)),
    st.tuples(st.just("create_genre"), TEXT),
    st.tuples(st.just("rename_movie"), PICK, TEXT),
    st.tuples(st.just("set_genres"), PICK, st.lists(PICK, max_size=3)),
    st.tuples(st.just("add_genre"), PICK, PICK),
    st.tuples(st.just("remove_genres"), PICK, st.lists(PICK, max_size=2)),
    st.tuples(st.just("clear_movie"), PICK),
    st.tuples(st.just("score_movie"), PICK, POPULARITY, SCORE),
    st.tuples(st.just("rename_genre"), PICK, TEXT),
    st.tuples(st.just("delete_genre"), PICK),
    st.tuples(st.just("delete_movie"), PICK),
    st.tuples(st.just("delete_movies"), st.lists(PICK, max_size=3)),
    st.tuples(st.just("import_record"), TEXT, TEXT, POPULARITY, st.lists(TEXT, max_size=2)),
    st.tuples(st.just("search"), QUERY),
)


def pick(model, index: int):
    objects = list(model.objects.order_by("pk"))
    return objects[index % len(objects)] if objects else None


def picks(model, indexes) -> list:
    return [chosen for chosen in (pick(model, index) for index in indexes) if chosen]


def on(model, index: int, action) -> None:
    """``action`` on the object ``index`` picks, if there is any object to pick."""
    chosen = pick(model, index)
    if chosen is not None:
        action(chosen)


def genre_names(movie: Movie) -> list[str]:
    return list(movie.genres.values_list("name", flat=True))


def apply(operation: tuple) -> None:
    kind, *args = operation
    refused = (writes.Duplicate, writes.InvalidField)
    if kind == "create_movie":
        name, director, popularity, score, genre_picks = args
        genres = [genre.name for genre in picks(Genre, genre_picks)]
        with contextlib.suppress(*refused):
            writes.create_movie(
                name=name,
                director=director,
                popularity=popularity,
                imdb_score=score,
                genres=genres,
            )
    elif kind == "create_genre":
        with contextlib.suppress(*refused):
            writes.create_genre(name=args[0])
    elif kind == "rename_movie":
        movie = pick(Movie, args[0])
        if movie:
            with contextlib.suppress(*refused):
                writes.update_movie(movie.pk, name=args[1])
    elif kind == "score_movie":
        movie = pick(Movie, args[0])
        if movie:
            writes.update_movie(movie.pk, popularity=args[1], imdb_score=args[2])
    elif kind == "set_genres":
        chosen = [genre.name for genre in picks(Genre, args[1])]
        on(Movie, args[0], lambda movie: writes.update_movie(movie.pk, genres=chosen))
    elif kind == "add_genre":
        genre = pick(Genre, args[1])
        if genre:
            on(
                Movie,
                args[0],
                lambda movie: writes.update_movie(
                    movie.pk, genres=[*genre_names(movie), genre.name]
                ),
            )
    elif kind == "remove_genres":
        gone = {genre.name for genre in picks(Genre, args[1])}
        on(
            Movie,
            args[0],
            lambda movie: writes.update_movie(
                movie.pk, genres=[name for name in genre_names(movie) if name not in gone]
            ),
        )
    elif kind == "clear_movie":
        on(Movie, args[0], lambda movie: writes.update_movie(movie.pk, genres=[]))
    elif kind == "rename_genre":
        genre = pick(Genre, args[0])
        if genre:
            with contextlib.suppress(*refused):
                writes.rename_genre(genre.pk, name=args[1])
    elif kind == "delete_genre":
        on(Genre, args[0], lambda genre: writes.delete_genre(genre.pk))
    elif kind == "delete_movie":
        on(Movie, args[0], lambda movie: writes.delete_movie(movie.pk))
    elif kind == "delete_movies":
        writes.delete_movies(movie.pk for movie in picks(Movie, args[0]))
    elif kind == "import_record":
        name, director, popularity, genre_names_ = args
        import_records(
            records=[
                {
                    "name": name,
                    "director": director,
                    "99popularity": popularity,
                    "imdb_score": 7.5,
                    "genre": genre_names_,
                }
            ]
        )
    elif kind == "search":
        assert_search_matches_the_reference([args[0]])


def assert_search_matches_the_reference(queries: list[str]) -> None:
    movies = list(Movie.objects.prefetch_related("genres"))
    for query in queries:
        found = set(
            search_movies(Movie.objects.all(), Search.parse(query)).values_list("pk", flat=True)
        )
        assert found == reference_search(movies, query), query


@pytest.mark.slow
@pytest.mark.django_db
@hypothesis_settings(max_examples=150, deadline=None, derandomize=True)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=15))
def test_search_and_counts_agree_with_the_reference_through_any_sequence_of_writes(operations):
    writes.delete_movies(Movie.objects.values_list("pk", flat=True))
    writes.delete_genres(Genre.objects.values_list("pk", flat=True))
    writes.create_movie(
        name="The War", director="Ab", popularity=70.0, imdb_score=7.0, genres=["Drama"]
    )
    for operation in operations:
        apply(operation)
        assert_search_matches_the_reference(SINGLE_TERMS)
        assert stored_movie_counts() == real_movie_counts(), operation
        assert list(consistency.check()) == [], operation
