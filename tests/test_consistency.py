"""check_catalogue finds every kind of drift planted behind the writes, by id, and
--repair mends it; a catalogue written by catalog.writes has none."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog import consistency, writes
from catalog.models import Genre, Movie, Word
from catalog.search import Search, search_movies
from tests.factories import GenreFactory, MovieFactory
from tests.support.reference import reference_search

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> dict[str, int]:
    """Three movies and two genres, written as every writer writes them; their ids by name."""
    drama, war = GenreFactory(name="Drama"), GenreFactory(name="War")
    heat = MovieFactory(
        name="Heat", director="Michael Mann", popularity=83.0, imdb_score=8.3, genres=[drama]
    )
    glory = MovieFactory(
        name="Paths of Glory",
        director="Stanley Kubrick",
        popularity=86.0,
        imdb_score=8.4,
        genres=[drama, war],
    )
    amelie = MovieFactory(name="Amélie", director="Jean-Pierre Jeunet", popularity=70.5)
    return {
        "heat": heat.pk,
        "glory": glory.pk,
        "amelie": amelie.pk,
        "drama": drama.pk,
        "war": war.pk,
    }


def check_command(*args: str) -> str:
    out = StringIO()
    call_command("check_catalogue", *args, stdout=out)
    return out.getvalue()


def test_a_catalogue_written_through_the_writes_has_no_differences(catalogue):
    writes.update_movie(catalogue["heat"], name="Heat Wave", genres=["War", "Crime"])
    writes.rename_genre(catalogue["drama"], name="Melodrama")
    writes.delete_genre(catalogue["war"])  # its id stays in genre_ids, as allowed
    writes.delete_movie(catalogue["amelie"])
    assert list(consistency.check()) == []
    assert "The derived data matches the catalogue." in check_command()


def movies(**fields) -> None:
    """Change every movie row in SQL, behind the writes."""
    Movie.objects.update(**fields)


def one_movie(name: str, **fields) -> None:
    Movie.objects.filter(name=name).update(**fields)


def sql(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


# What is planted, and the difference that must be reported for it: subject,
# key (a name of the catalogue fixture, or a word) and field.
DRIFTS = {
    "a stale search text": (
        lambda ids: one_movie("Heat", search_text="heat\nsomeone else\n83.0\n8.3"),
        ("movie", "heat", "search_text"),
    ),
    "stale name words": (
        lambda ids: one_movie("Paths of Glory", name_words="paths of"),
        ("movie", "glory", "name_words"),
    ),
    "digit pairs from before the column": (
        lambda ids: movies(digit_pairs=""),
        ("movie", "amelie", "digit_pairs"),
    ),
    "a genre id its links do not have": (
        lambda ids: one_movie("Heat", genre_ids={str(ids["drama"]): True, str(ids["war"]): True}),
        ("movie", "heat", "genre_ids"),
    ),
    "a link its genre ids do not have": (
        lambda ids: one_movie("Paths of Glory", genre_ids={str(ids["war"]): True}),
        ("movie", "glory", "genre_ids"),
    ),
    "a link added in SQL": (
        lambda ids: Movie.genres.through.objects.create(
            movie_id=ids["amelie"], genre_id=ids["war"]
        ),
        ("genre", "war", "movie_count"),
    ),
    "a movie count": (
        lambda ids: Genre.objects.filter(pk=ids["drama"]).update(movie_count=7),
        ("genre", "drama", "movie_count"),
    ),
    "a genre's search name": (
        lambda ids: Genre.objects.filter(pk=ids["war"]).update(search_name="peace"),
        ("genre", "war", "search_name"),
    ),
    "a genre renamed in SQL": (
        lambda ids: Genre.objects.filter(pk=ids["war"]).update(name="Warfare"),
        ("genre", "war", "key"),
    ),
    "a word's count": (
        lambda ids: Word.objects.filter(word="kubrick").update(movies=3),
        ("word", "kubrick", "movies"),
    ),
    "a word gone": (
        lambda ids: Word.objects.filter(word="heat").delete(),
        ("word", "heat", "movies"),
    ),
    "a word no one uses": (
        lambda ids: Word.objects.create(word="ghost", movies=1),
        ("word", "ghost", "movies"),
    ),
}
INDEX_DRIFTS = {
    "a word index row changed": (
        lambda ids: sql(
            "UPDATE catalog_movie_words SET words = 'nothing' WHERE rowid = %s", ids["heat"]
        ),
        ("word index", "heat", "words"),
    ),
    "a word index row missing": (
        lambda ids: sql("DELETE FROM catalog_movie_words WHERE rowid = %s", ids["glory"]),
        ("word index", "glory", "words"),
    ),
    "a word index row of no movie": (
        lambda ids: sql("INSERT INTO catalog_movie_words (rowid, words) VALUES (999999, 'x')"),
        ("word index", 999999, "words"),
    ),
}


GENRES = ("drama", "war")


def found(catalogue: dict[str, int]) -> set[tuple[str, int | str, str]]:
    """The differences check() finds, movies and genres named as in ``catalogue``."""
    names = {
        (subject, pk): name
        for name, pk in catalogue.items()
        for subject in (("genre",) if name in GENRES else ("movie", "word index"))
    }
    return {
        (
            difference.subject,
            names.get((difference.subject, difference.key), difference.key),
            difference.field,
        )
        for difference in consistency.check()
    }


def assert_each_drift_is_found_and_repaired(catalogue, plant, expected) -> None:
    plant(catalogue)
    assert expected in found(catalogue)
    with pytest.raises(CommandError) as refused:
        check_command()
    assert refused.value.returncode == 1
    assert "--repair" in str(refused.value)
    assert "Repaired" in check_command("--repair")
    assert list(consistency.check()) == []
    everything = list(Movie.objects.prefetch_related("genres"))
    for query in ("heat", "drama", "war", "70", "kubrick", "8.4"):
        assert search_ids(query) == reference_search(everything, query), query


def search_ids(query: str) -> set[int]:
    return set(
        search_movies(Movie.objects.all(), Search.parse(query)).values_list("pk", flat=True)
    )


@pytest.mark.parametrize(("plant", "expected"), DRIFTS.values(), ids=DRIFTS.keys())
def test_each_kind_of_drift_is_reported_by_id_and_repaired(catalogue, plant, expected):
    assert_each_drift_is_found_and_repaired(catalogue, plant, expected)


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL's word index is a generated column"
)
@pytest.mark.parametrize(("plant", "expected"), INDEX_DRIFTS.values(), ids=INDEX_DRIFTS.keys())
def test_each_drift_of_the_sqlite_word_index_is_reported_and_repaired(catalogue, plant, expected):
    assert_each_drift_is_found_and_repaired(catalogue, plant, expected)


def test_the_report_names_the_movie_the_field_and_both_values(catalogue):
    one_movie("Amélie", digit_pairs="70")
    out = StringIO()
    with pytest.raises(CommandError, match=r"^1 differences \(movie: 1\)"):
        call_command("check_catalogue", stdout=out)
    expected = "'.0 .5 0. 5. 70'"
    assert f"movie {catalogue['amelie']}: digit_pairs is '70', expected {expected}" in (
        out.getvalue()
    )


def test_repairing_a_stale_text_makes_search_find_the_movie_again(catalogue):
    one_movie("Heat", search_text="cold\nmichael mann\n83.0\n8.3", name_words="cold")
    assert search_ids("heat") == set()
    call_command("check_catalogue", "--repair", stdout=StringIO())
    assert search_ids("heat") == {catalogue["heat"]}
    assert search_ids("cold") == set()


def test_a_repair_raises_the_version_so_cached_answers_go(catalogue, client):
    from catalog.models import CatalogueVersion

    before = CatalogueVersion.current()
    one_movie("Heat", name_words="cold")
    call_command("check_catalogue", "--repair", stdout=StringIO())
    assert CatalogueVersion.current() > before


def test_recount_genres_is_a_repair(catalogue):
    Genre.objects.filter(pk=catalogue["drama"]).update(movie_count=7)
    one_movie("Heat", digit_pairs="")
    out = StringIO()
    call_command("recount_genres", stdout=out)
    assert "Repaired 2 derived values." in out.getvalue()
    assert list(consistency.check()) == []


def test_movies_and_genres_the_changes_feed_misses_are_reported_and_recorded(catalogue):
    from catalog.models import Change

    Change.objects.filter(kind="movie", key=catalogue["heat"]).delete()
    Change.objects.filter(kind="genre", key=catalogue["war"]).delete()
    gone = Change.objects.get(kind="movie", key=catalogue["amelie"])
    Movie.objects.filter(pk=catalogue["amelie"])._raw_delete(Movie.objects.db)

    reported = {(d.key, d.stored, d.expected) for d in consistency.check()}

    assert {
        (f"movie {catalogue['heat']}", None, "written"),
        (f"genre {catalogue['war']}", None, "written"),
        (f"movie {catalogue['amelie']}", "written", "deleted"),
    } <= reported
    check_command("--repair")
    assert [d for d in consistency.check() if d.subject == "change"] == []
    tombstone = Change.objects.get(kind="movie", key=catalogue["amelie"])
    assert tombstone.deleted
    assert tombstone.id > gone.id
