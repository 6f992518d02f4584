"""Migrations: they import nothing of the app, and those that move data run forwards and
backwards on a database with rows."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.apps.registry import Apps
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

APP_PACKAGES = ("catalog", "config", "operations")
MIGRATION_FILES = sorted((settings.REPO_ROOT / "movies").glob("*/migrations/[0-9]*.py"))
IMPORTS_THE_APP = (
    "a migration must compute what it computed when it was written: copy what it needs "
    "of the app into the migration instead of importing it"
)


def imports_of_the_app(source: str) -> set[str]:
    """The modules of the app that ``source`` imports, at any depth (in functions too)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import is one of the app's own modules.
            names.append("." * node.level + (node.module or ""))
    return {name for name in names if name.startswith(".") or name.split(".")[0] in APP_PACKAGES}


def test_imports_of_the_app_are_found_wherever_they_are():
    source = (
        "import re\n"
        "import catalog.models\n"
        "from django.db import migrations\n"
        "def forwards(apps, schema_editor):\n"
        "    from config.settings import DEBUG\n"
        "    from .other import rule\n"
        "    import operations\n"
    )
    assert imports_of_the_app(source) == {
        "catalog.models",
        "config.settings",
        ".other",
        "operations",
    }


def test_the_migrations_are_found():
    assert "0006_genre_key_and_clean_text.py" in {path.name for path in MIGRATION_FILES}


@pytest.mark.parametrize(
    "path", MIGRATION_FILES, ids=lambda path: f"{path.parent.parent.name}/{path.stem}"
)
def test_migrations_import_nothing_of_the_app(path: Path):
    assert imports_of_the_app(path.read_text(encoding="utf-8")) == set(), IMPORTS_THE_APP


def migrates(test: Callable) -> Callable:
    """A test that migrates a database with rows: slow, transactional, on the primary."""
    for mark in (
        pytest.mark.slow,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("reads_from_primary"),
    ):
        test = mark(test)
    return test


BEFORE_MOVIE_COUNT = [("catalog", "0004_covering_order_indexes")]
WITH_MOVIE_COUNT = [("catalog", "0005_genre_movie_count")]


def migrate(targets: list[tuple[str, str]] | None = None) -> Apps:
    """Migrate to ``targets`` (the latest migrations when None); the models as they were there."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def columns_of(table: str) -> list[str]:
    with connection.cursor() as cursor:
        return [
            column.name for column in connection.introspection.get_table_description(cursor, table)
        ]


@contextmanager
def migrated_back_to(targets: list[tuple[str, str]]) -> Iterator[tuple[type, type]]:
    """Genre and Movie as those migrations left them, for a test's rows; the latest after."""
    try:
        models = migrate(targets)
        yield models.get_model("catalog", "Genre"), models.get_model("catalog", "Movie")
    finally:
        migrate()


@migrates
def test_genre_movie_counts_are_filled_from_the_links_and_can_be_removed_again():
    with migrated_back_to(BEFORE_MOVIE_COUNT) as (Genre, Movie):
        drama, war = Genre.objects.create(name="Drama"), Genre.objects.create(name="War")
        Genre.objects.create(name="Comedy")
        for n in range(3):
            movie = Movie.objects.create(name=f"M{n}", director="D", popularity=1, imdb_score=1)
            movie.genres.add(drama, *([war] if n else []))

        after = migrate(WITH_MOVIE_COUNT)
        Genre.objects.create(name="Western")  # code that predates the column still inserts
        counts = after.get_model("catalog", "Genre").objects.values_list("name", "movie_count")
        assert dict(counts) == {"Drama": 3, "War": 2, "Comedy": 0, "Western": 0}

        migrate(BEFORE_MOVIE_COUNT)
        assert "movie_count" not in columns_of("catalog_genre")


WITH_GENRE_KEYS = [("catalog", "0006_genre_key_and_clean_text")]


@migrates
def test_genres_get_keys_and_genres_the_new_rule_makes_one_are_merged():
    with migrated_back_to(WITH_MOVIE_COUNT) as (Genre, Movie):
        # Distinct under lower(), one genre under the case fold.
        street, strasse = Genre.objects.create(name="Straße"), Genre.objects.create(name="STRASSE")
        spaced = Genre.objects.create(name="Film  Noir")
        both = Movie.objects.create(
            name="Ame\u0301lie ", director="Jean-Pierre  Jeunet", popularity=1, imdb_score=1
        )
        both.genres.add(street, strasse, spaced)
        one = Movie.objects.create(name="Berlin", director="D", popularity=1, imdb_score=1)
        one.genres.add(strasse)

        after = migrate(WITH_GENRE_KEYS)
        Genre, Movie = after.get_model("catalog", "Genre"), after.get_model("catalog", "Movie")
        assert dict(Genre.objects.values_list("name", "movie_count")) == {
            "Straße": 2,
            "Film Noir": 1,
        }
        assert Genre.objects.get(name="Straße").key == "strasse"
        amelie = Movie.objects.get(pk=both.pk)
        assert (amelie.name, amelie.director) == ("Amélie", "Jean-Pierre Jeunet")
        assert sorted(amelie.genres.values_list("name", flat=True)) == ["Film Noir", "Straße"]
        assert amelie.search_text == "amelie\njean-pierre jeunet\n1.0\n1.0"


GENRES_IN_SEARCH_TEXT = [("catalog", "0006_genre_key_and_clean_text")]


@migrates
def test_genre_names_leave_the_search_text_and_can_come_back():
    with migrated_back_to(GENRES_IN_SEARCH_TEXT) as (Genre, Movie):
        film_noir = Genre.objects.create(name="Film-Noir", key="film-noir")
        war = Genre.objects.create(name="Wär", key="wär")
        texts = {
            "Heat": "heat\nmichael mann\n80.0\n8.2",
            "Laura": "laura\notto preminger\n70.0\n8.0\nfilm-noir",
            "Glory": "glory\nedward zwick\n75.0\n7.8\nfilm-noir\nwar",
        }
        Movie.objects.create(
            name="Léon: The Professional", director="D", popularity=1, imdb_score=1
        )
        for name, text in texts.items():
            movie = Movie.objects.create(
                name=name, director="D", popularity=1, imdb_score=1, search_text=text
            )
            movie.genres.add(*{"Laura": [film_noir], "Glory": [film_noir, war]}.get(name, []))

        after = migrate()
        genres = after.get_model("catalog", "Genre").objects.values_list("name", "search_name")
        assert dict(genres) == {"Film-Noir": "film-noir", "Wär": "war"}
        movies = after.get_model("catalog", "Movie").objects
        assert dict(movies.exclude(search_text="").values_list("name", "search_text")) == {
            "Heat": "heat\nmichael mann\n80.0\n8.2",
            "Laura": "laura\notto preminger\n70.0\n8.0",
            "Glory": "glory\nedward zwick\n75.0\n7.8",
        }
        assert set(movies.values_list("name_words", flat=True)) == {
            "heat",
            "laura",
            "glory",
            "leon the professional",
        }
        assert dict(movies.values_list("name", "genre_ids")) == {
            "Léon: The Professional": {},
            "Heat": {},
            "Laura": {str(film_noir.pk): True},
            "Glory": {str(film_noir.pk): True, str(war.pk): True},
        }

        migrate(GENRES_IN_SEARCH_TEXT)
        restored = Movie.objects.filter(name__in=texts).values_list("name", "search_text")
        assert dict(restored) == texts


BEFORE_VOCABULARY = [("catalog", "0007_genre_names_out_of_search_text")]


@migrates
def test_the_vocabulary_is_filled_from_the_catalogue_and_can_be_removed_again():
    with migrated_back_to(BEFORE_VOCABULARY) as (Genre, Movie):
        Genre.objects.create(name="Film-Noir", key="film-noir", search_name="film-noir")
        texts = {
            ("Laura", "Otto Preminger"): "laura\notto preminger\n70.0\n8.0",
            ("Amélie 2", "Jean-Pierre Jeunet"): "amelie 2\njean-pierre jeunet\n70.0\n8.0",
            ("Laura Noir", "Otto"): "laura noir\notto\n7.0\n8.0",
        }
        for (name, director), text in texts.items():
            Movie.objects.create(
                name=name, director=director, popularity=1, imdb_score=1, search_text=text
            )

        after = migrate()
        words = dict(after.get_model("catalog", "Word").objects.values_list("word", "movies"))
        assert words == {
            "laura": 2,
            "otto": 2,
            "preminger": 1,
            "amelie": 1,
            "jean": 1,
            "pierre": 1,
            "jeunet": 1,
            "noir": 2,
            "film": 1,
        }

        migrate(BEFORE_VOCABULARY)
        assert "catalog_word" not in connection.introspection.table_names()


BEFORE_WORD_INDEX = [("catalog", "0008_word")]


@migrates
def test_the_word_index_takes_the_movies_already_there():
    with migrated_back_to(BEFORE_WORD_INDEX) as (_, Movie):
        Movie.objects.create(
            name="Laura",
            director="Otto Preminger",
            popularity=70,
            imdb_score=8,
            search_text="laura\notto preminger\n70.0\n8.0",
            name_words="laura",
        )
        migrate()
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "SELECT count(*) FROM catalog_movie_words WHERE catalog_movie_words "
                    "MATCH 'premi*'"
                )
            else:
                cursor.execute(
                    "SELECT count(*) FROM catalog_movie "
                    "WHERE words @@ to_tsquery('simple', 'premi:*')"
                )
            assert cursor.fetchone()[0] == 1


BEFORE_DIGIT_PAIRS = [("catalog", "0010_popular_movie_words_index")]


def found_by(query: str) -> list[str]:
    from catalog.models import Movie
    from catalog.search import Search, search_movies

    return sorted(
        search_movies(Movie.objects.all(), Search.parse(query)).values_list("name", flat=True)
    )


@migrates
def test_digit_pairs_are_filled_for_the_movies_already_there_and_can_go_again():
    with migrated_back_to(BEFORE_DIGIT_PAIRS) as (_, Movie):
        for n, text in enumerate(["laura\notto preminger\n70.0\n8.0", "se7en\nd\n9.5\n8.6"]):
            Movie.objects.create(
                name=f"M{n}", director="D", popularity=1, imdb_score=1, search_text=text
            )
        after = migrate()
        pairs = after.get_model("catalog", "Movie").objects.values_list("name", "digit_pairs")
        assert dict(pairs) == {"M0": ".0 0. 70 8.", "M1": ".5 .6 7e 8. 9. e7"}
        assert found_by("70") == ["M0"]
        assert found_by("e7,.6") == ["M1"]
        migrate(BEFORE_DIGIT_PAIRS)
        assert "digit_pairs" not in columns_of("catalog_movie")


@migrates
def test_after_a_rolling_deploy_of_the_digit_pairs_the_check_finds_only_what_old_code_wrote():
    from io import StringIO

    from django.core.management import call_command

    from catalog import consistency, writes
    from catalog.models import Movie

    for name, popularity in [("Laura", 70.0), ("Se7en", 9.5), ("Heat", 83.0)]:
        writes.create_movie(
            name=name, director="D", popularity=popularity, imdb_score=8.0, genres=["Noir"]
        )
    migrate(BEFORE_DIGIT_PAIRS)
    migrate()
    assert list(consistency.check()) == []
    # A machine still on the old release writes a movie: its text, not its pairs.
    Movie.objects.filter(name="Laura").update(search_text="laura\nd\n71.0\n8.0", digit_pairs="")
    Movie.objects.filter(name="Laura").update(popularity=71.0)
    found = {(d.subject, d.field) for d in consistency.check()}
    # Nor the word pairs, which came later (migration 0014).
    assert found == {("movie", "digit_pairs"), ("movie", "word_pairs")}
    call_command("check_catalogue", "--repair", stdout=StringIO())
    assert list(consistency.check()) == []
    assert found_by("71") == ["Laura"]


BEFORE_WORD_PAIRS = [("catalog", "0013_changes")]


@migrates
def test_word_pairs_are_filled_for_the_movies_already_there_and_can_go_again():
    with migrated_back_to(BEFORE_WORD_PAIRS) as (_, Movie):
        texts = ["the godfather: part ii\nfrancis ford coppola\n9.5\n9.0", "heat\nmann\n7.0\n8.0"]
        for n, text in enumerate(texts):
            Movie.objects.create(
                name=f"M{n}", director="D", popularity=1, imdb_score=1, search_text=text
            )
        after = migrate()
        pairs = after.get_model("catalog", "Movie").objects.values_list("name", "word_pairs")
        assert dict(pairs) == {
            "M0": "9/0 9/5 ford/coppola francis/ford godfather/part part/ii the/godfather",
            "M1": "7/0 8/0",
        }
        assert found_by('"godfather part"') == ["M0"]
        assert found_by('"ford coppola" "part ii"') == ["M0"]
        assert found_by('"part godfather"') == []
        migrate(BEFORE_WORD_PAIRS)
        assert "word_pairs" not in columns_of("catalog_movie")
