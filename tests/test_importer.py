import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import bulk, writes
from catalog.importer import CatalogueError
from catalog.models import Genre, Movie
from catalog.search import Search, search_movies
from catalog.writes import import_file, import_records
from tests.conftest import FIXTURE_PATH
from tests.factories import GenreFactory, MovieFactory, record
from tests.support.reference import real_movie_counts, stored_movie_counts


def snapshot() -> list[tuple]:
    """Everything an import may write, to compare before and after."""
    return [
        (
            m.name,
            m.director,
            m.popularity,
            m.imdb_score,
            m.search_text,
            tuple(sorted(g.name for g in m.genres.all())),
        )
        for m in Movie.objects.prefetch_related("genres").order_by("pk")
    ] + [("genre", g.name, g.movie_count) for g in Genre.objects.order_by("pk")]


@pytest.mark.django_db
def test_legacy_catalogue_loads_into_248_movies_and_28_genres(seed_path):
    result = import_file(path=seed_path)
    assert (result.created, Movie.objects.count(), Genre.objects.count()) == (248, 248, 28)
    assert Movie.objects.filter(name="The Wizard of Oz").count() == 2


@pytest.mark.django_db
def test_our_catalogue_loads_every_record(fixture_catalogue):
    records = json.loads(FIXTURE_PATH.read_text(encoding="utf-8"))
    assert fixture_catalogue.created == Movie.objects.count() == len(records) >= 250


@pytest.mark.django_db
def test_second_import_changes_nothing(fixture_catalogue):
    before = snapshot()
    result = import_file(path=FIXTURE_PATH)
    assert (result.created, result.updated, result.unchanged) == (0, 0, fixture_catalogue.created)
    assert snapshot() == before


@pytest.mark.django_db
def test_reimport_updates_numbers_and_replaces_genres():
    import_records(records=[record(genre=["Crime", " Drama"])])
    result = import_records(records=[record(popularity=90.0, genre=["Thriller"])])
    movie = Movie.objects.get()
    assert (result.updated, movie.popularity) == (1, 90.0)
    assert [g.name for g in movie.genres.all()] == ["Thriller"]
    assert search_movies(Movie.objects.all(), Search.parse("thriller")).get() == movie
    assert not search_movies(Movie.objects.all(), Search.parse("drama")).exists()
    assert movie.genre_ids == {str(Genre.objects.get(name="Thriller").pk): True}


@pytest.mark.django_db
def test_an_import_counts_each_genres_movies(fixture_catalogue):
    counts = stored_movie_counts()
    assert counts == real_movie_counts()
    assert sum(counts.values()) == Movie.genres.through.objects.count() > fixture_catalogue.created


@pytest.mark.django_db
def test_reimport_moves_the_counts_with_the_genres():
    import_records(
        records=[record(name="A", genre=["Crime", "Drama"]), record(name="B", genre=["Drama"])]
    )
    import_records(
        records=[record(name="A", genre=["Thriller"]), record(name="C", genre=["crime", "War"])]
    )
    assert stored_movie_counts() == {"Crime": 1, "Drama": 1, "Thriller": 1, "War": 1}


@pytest.mark.django_db
def test_an_import_counts_the_links_other_writers_made(fixture_catalogue):
    drama = Genre.objects.get(name="Drama")
    MovieFactory.create_batch(2, genres=[drama])
    writes.delete_movie(Movie.objects.filter(genres=drama).first().pk)
    import_records(records=[record(name="A new one", genre=["Drama", "Film-Noir"])])
    assert stored_movie_counts() == real_movie_counts()


@pytest.mark.django_db
def test_movies_are_identified_by_name_and_director():
    import_records(records=[record(director="Michael Mann"), record(director="Someone Else")])
    assert Movie.objects.filter(name="Heat").count() == 2


@pytest.mark.django_db
def test_genres_are_trimmed_and_merged_ignoring_case():
    import_records(
        records=[record(name="A", genre=[" Drama "]), record(name="B", genre=["drama", " DRAMA"])]
    )
    assert list(Genre.objects.values_list("name", flat=True)) == ["Drama"]
    assert Genre.objects.get().movies.count() == 2


@pytest.mark.django_db
def test_existing_genre_is_reused_whatever_its_case():
    writes.create_genre(name="Sci-Fi")
    import_records(records=[record(genre=["sci-fi"])])
    assert list(Genre.objects.values_list("name", flat=True)) == ["Sci-Fi"]


@pytest.mark.django_db
def test_a_movie_repeated_in_the_file_takes_its_last_values():
    import_records(records=[record(popularity=10.0), record(popularity=20.0)])
    assert Movie.objects.get().popularity == 20.0


@pytest.mark.django_db
@pytest.mark.parametrize("catalogue_was_empty", [True, False])
def test_a_movie_repeated_in_later_batches_is_updated_not_created_again(catalogue_was_empty):
    if not catalogue_was_empty:
        MovieFactory(name="Elsewhere")
    records = [record(name=f"M{n}", popularity=float(n)) for n in range(5)]
    records += [record(name="M1", popularity=50.0, genre=["War"]), record(name="M5")]
    result = import_records(records=records, batch_size=2)
    assert (result.created, result.updated) == (6, 1)
    repeated = Movie.objects.get(name="M1")
    assert repeated.popularity == 50.0
    assert list(repeated.genres.values_list("name", flat=True)) == ["War"]


@pytest.mark.django_db
def test_records_are_written_in_bulk_never_one_query_each():
    records = [
        record(name=f"Movie {n}", genre=[f"Genre {n % 7}"]) for n in range(3 * bulk.BATCH_SIZE)
    ]
    with CaptureQueriesContext(connection) as queries:
        import_records(records=records)
    assert Movie.objects.count() == len(records)
    # A few reads and multi-row inserts per batch (SQLite caps rows per INSERT).
    assert len(queries) < len(records) / 50


BAD_RECORDS = [
    (
        {"director": "X", "genre": [], "imdb_score": 5.0, "99popularity": 5.0},
        'field "name" is missing',
    ),
    (record(name=""), 'field "name" must be a non-empty string'),
    (record(name="   "), 'field "name" must be a non-empty string'),
    (record(director=42), 'field "director" must be a non-empty string'),
    (record(score=11.0), 'field "imdb_score" must be a number from 0 to 10'),
    (record(score=-0.1), 'field "imdb_score" must be a number from 0 to 10'),
    (record(score="8.0"), 'field "imdb_score" must be a number from 0 to 10'),
    (record(score=True), 'field "imdb_score" must be a number from 0 to 10'),
    (record(popularity=100.5), 'field "99popularity" must be a number from 0 to 100'),
    (record(genre="Drama"), 'field "genre" must be a list of non-empty strings'),
    (record(genre=["Drama", " "]), 'field "genre" must be a list of non-empty strings'),
    (record(genre=[None]), 'field "genre" must be a list of non-empty strings'),
    (record(name="x" * 256), 'field "name" is longer than 255 characters'),
    ("not an object", "expected a JSON object, got str"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("bad", "message"), BAD_RECORDS)
def test_an_invalid_record_is_named_and_nothing_is_written(write_catalogue, bad, message):
    import_records(records=[record(name="Kept", genre=["Kept Genre"])])
    before = snapshot()
    path = write_catalogue([record(name="First"), record(name="Second"), bad])
    with pytest.raises(CatalogueError) as error:
        import_file(path=path)
    assert str(error.value).startswith("record 2: ")
    assert message in str(error.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_an_invalid_record_after_many_batches_writes_nothing():
    records = [record(name=f"Movie {n}") for n in range(2 * bulk.BATCH_SIZE + 5)]
    records.append(record(score=99.0))
    with pytest.raises(CatalogueError, match=f"record {len(records) - 1}: "):
        import_records(records=records)
    assert (Movie.objects.count(), Genre.objects.count()) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"name": ', 'record 0: field "name" is not valid JSON'),
        ('{"name": "Heat"}', "must be a JSON array"),
        ("", "Invalid JSON"),
        (json.dumps([record()])[:-1] + ", {", "record 1 is not valid JSON"),
    ],
)
def test_malformed_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CatalogueError, match=message):
        import_file(path=path)
    assert Movie.objects.count() == 0


@pytest.mark.django_db
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CatalogueError, match="not found"):
        import_file(path=tmp_path / "nope.json")


# The command


@pytest.mark.django_db
def test_command_prints_a_summary(write_catalogue):
    out = StringIO()
    call_command("populate_db", str(write_catalogue([record(), record(name="Ran")])), stdout=out)
    assert "2 created, 0 updated, 0 unchanged" in out.getvalue()
    assert stored_movie_counts() == {"Crime": 2, "Drama": 2}


@pytest.mark.django_db
def test_command_loads_our_catalogue_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    call_command("populate_db", stdout=StringIO())
    assert Movie.objects.count() >= 250


@pytest.mark.django_db
def test_command_if_empty_leaves_a_filled_catalogue_alone(write_catalogue):
    import_records(records=[record()])
    out = StringIO()
    call_command(
        "populate_db", str(write_catalogue([record(name="Other")])), "--if-empty", stdout=out
    )
    assert Movie.objects.count() == 1
    assert "nothing imported" in out.getvalue()


@pytest.mark.django_db
def test_command_fails_naming_the_record_and_field(write_catalogue):
    path = write_catalogue([record(), record(score=12)])
    with pytest.raises(CommandError, match='record 1: field "imdb_score"'):
        call_command("populate_db", str(path), stdout=StringIO())
    assert Movie.objects.count() == 0


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_concurrent_imports_report_each_new_genre_once():
    """A genre both imports name is created by one; the other reports it as existing."""
    import threading
    import time

    from django.db import connection as thread_connection

    first_wrote, release_first = threading.Event(), threading.Event()
    results = {}

    def first_import():
        def pause(done: int) -> None:
            first_wrote.set()
            release_first.wait(timeout=10)

        try:
            results["first"] = import_records(
                records=[record(name="A", genre=["Brand New"]), record(name="B", genre=[])],
                batch_size=1,
                on_batch=pause,
            )
        finally:
            thread_connection.close()

    def second_import():
        try:
            results["second"] = import_records(records=[record(name="C", genre=["brand new"])])
        finally:
            thread_connection.close()

    first = threading.Thread(target=first_import)
    first.start()
    assert first_wrote.wait(timeout=10)
    second = threading.Thread(target=second_import)
    second.start()
    time.sleep(0.5)  # the second import now waits for the first's new genre
    release_first.set()
    first.join()
    second.join()
    assert results["first"].genres_created + results["second"].genres_created == 1
    assert Genre.objects.get().movie_count == 2


@pytest.mark.django_db
def test_a_deadlock_with_another_writer_is_a_message_not_a_traceback(monkeypatch):
    from django.db import OperationalError

    def deadlock(*args, **kwargs):
        raise OperationalError("deadlock detected")

    monkeypatch.setattr(bulk, "_write_batch", deadlock)
    with pytest.raises(CatalogueError, match=r"deadlock detected\); nothing was written"):
        import_records(records=[record()])


@pytest.mark.django_db
def test_the_genres_kept_in_memory_are_bounded(monkeypatch):
    monkeypatch.setattr(bulk._GenreIds, "GENRES_KEPT", 5)
    records = [record(name=f"M{n}", genre=[f"G{n}a", f"G{n}b"]) for n in range(10)]
    kept = bulk._GenreIds("default")
    for start in range(0, 10, 2):
        kept.ensure(name for raw in records[start : start + 2] for name in raw["genre"])
        assert len(kept.by_key) <= 5
    assert (kept.created, Genre.objects.count()) == (20, 20)


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_a_large_import_leaves_the_catalogue_vacuumed(monkeypatch):
    from django.db import connection

    def vacuums() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'catalog_movie'"
            )
            return cursor.fetchone()[0]

    monkeypatch.setattr("catalog.bulk.VACUUM_AFTER", 3)
    before = vacuums()
    import_records(records=[record(name=f"M{n}") for n in range(3)])
    deadline = time.monotonic() + 5  # the statistics collector reports a moment later
    while vacuums() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert vacuums() > before


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_an_import_into_an_empty_catalogue_leaves_its_indexes_and_foreign_keys_as_they_were():
    def schema() -> tuple[list[tuple], list[tuple]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename IN ('catalog_movie', 'catalog_movie_genres') ORDER BY 1"
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), condeferrable, condeferred "
                "FROM pg_constraint WHERE conrelid = 'catalog_movie_genres'::regclass ORDER BY 1"
            )
            return indexes, cursor.fetchall()

    before = schema()
    assert any("FOREIGN KEY" in definition for _, definition, *_ in before[1])
    import_records(records=[record(name=f"M{n}", genre=["Drama", "War"]) for n in range(3)])
    assert schema() == before
    assert Movie.objects.filter(genres__name="War").count() == 3


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_an_import_into_a_catalogue_emptied_earlier_in_its_transaction():
    # The links' deletion leaves foreign-key checks pending until the import's own.
    MovieFactory(genres=[GenreFactory(name="Drama")])
    writes.delete_movies(Movie.objects.values_list("pk", flat=True))
    import_records(records=[record(name="Ran", genre=["Drama"])])
    assert list(Movie.objects.values_list("name", flat=True)) == ["Ran"]
    assert Genre.objects.get(name="Drama").movie_count == 1
