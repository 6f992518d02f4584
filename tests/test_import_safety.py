"""An import is one transaction: killed, failed or read during, the catalogue stays whole."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings

from catalog.importer import CatalogueError
from catalog.models import Genre, Movie
from catalog.writes import import_records
from tests.factories import record

pytestmark = pytest.mark.slow

MANAGE = str(settings.BASE_DIR / "manage.py")


def write_records(path, prefix: str, count: int) -> None:
    with path.open("w") as out:
        json.dump(
            [record(name=f"{prefix} {n}", genre=[f"Genre {n % 9}"]) for n in range(count)], out
        )


def manage(database, *args, wait=True):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="test", DEBUG="")
    command = [sys.executable, MANAGE, *args]
    if wait:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def names(database) -> set[str]:
    with sqlite3.connect(database) as reader:
        return {name for (name,) in reader.execute("SELECT name FROM catalog_movie")}


def test_sigkill_mid_import_leaves_the_old_catalogue_and_readers_see_it_whole(tmp_path):
    database = tmp_path / "catalogue.sqlite3"
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    write_records(old, "Old", 300)
    write_records(new, "New", 150_000)
    manage(database, "migrate", "--no-input")
    manage(database, "populate_db", str(old))
    importing = manage(database, "populate_db", str(new), wait=False)
    wal = tmp_path / "catalogue.sqlite3-wal"
    deadline = time.monotonic() + 120
    # Mid-import: the writer has put pages into the write-ahead log.
    while (not wal.exists() or wal.stat().st_size < 2_000_000) and time.monotonic() < deadline:
        assert importing.poll() is None, importing.stderr.read()
        time.sleep(0.05)
    seen_during_import = names(database)
    importing.send_signal(signal.SIGKILL)
    importing.wait()
    assert importing.returncode == -signal.SIGKILL
    old_names = {f"Old {n}" for n in range(300)}
    assert seen_during_import == old_names
    assert names(database) == old_names


@pytest.mark.django_db
def test_an_invalid_record_deep_in_a_large_file_leaves_the_catalogue_as_it_was():
    import_records(records=[record(name="Kept", genre=["Kept"])])
    records = [record(name=f"Movie {n}", genre=[f"Genre {n % 9}"]) for n in range(100_000)]
    records[73_456] = record(name="Broken", score=42.0)
    with pytest.raises(CatalogueError, match='record 73456: field "imdb_score"'):
        import_records(records=records)
    assert list(Movie.objects.values_list("name", flat=True)) == ["Kept"]
    assert list(Genre.objects.values_list("name", flat=True)) == ["Kept"]


# An import is a writer like the others: it queues for the catalogue lock first.


def overlapping(prefix: str, genres: list[str], count: int = 5_000) -> list[dict]:
    records = [record(name=f"{prefix} {n}", genre=[genres[n % len(genres)]]) for n in range(count)]
    return [*records, record(name="Silent Ida", director="Ann Lee", genre=genres[:1])]


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_a_staff_write_during_an_import_waits_for_it_and_neither_is_lost(editor_client):
    import threading

    from django.db import connections

    from catalog import consistency
    from catalog.search import Search, search_movies

    import_records(records=overlapping("Movie", ["Drama"]))
    ida = Movie.objects.get(name="Silent Ida")
    first_batch, results = threading.Event(), {}

    def slow_import() -> None:
        def after_batch(done: int) -> None:
            first_batch.set()
            time.sleep(1.0)  # the staff write arrives while the import holds its rows

        try:
            results["import"] = import_records(
                records=overlapping("Movie", ["Western", "Adventure"]),
                batch_size=2_000,
                on_batch=after_batch,
            )
        except CatalogueError as error:
            results["import"] = error
        finally:
            connections.close_all()

    importer = threading.Thread(target=slow_import)
    importer.start()
    assert first_batch.wait(60)
    started = time.monotonic()
    patched = editor_client.patch(
        f"/api/movies/{ida.pk}", {"name": "Silent Ida Renamed", "genre": ["Noir"]}, format="json"
    )
    waited = time.monotonic() - started
    importer.join(120)
    assert patched.status_code == 200, patched.content
    assert not isinstance(results["import"], CatalogueError), results["import"]
    assert results["import"].updated == 5_001
    assert waited > 0.5  # it queued behind the import rather than interleaving
    assert list(consistency.check()) == []
    renamed = search_movies(Movie.objects.all(), Search.parse("silent ida renamed noir"))
    assert list(renamed.values_list("pk", flat=True)) == [ida.pk]
    assert Genre.objects.get(name="Western").movie_count == 2_500


@pytest.mark.requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reads_from_primary")
def test_overlapping_imports_at_once_leave_every_derived_value_right():
    import threading

    from django.db import connections

    from catalog import consistency

    import_records(records=overlapping("Movie", ["Drama"]))
    errors: list[BaseException] = []

    def run(genres: list[str]) -> None:
        try:
            import_records(records=overlapping("Movie", genres), batch_size=1_000)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(genres,))
        for genres in (["Adventure", "Western"], ["Western", "Comedy", "Adventure"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert errors == []
    assert list(consistency.check()) == []
    western = Genre.objects.get(name="Western")
    assert Movie.objects.filter(genre_ids__has_key=str(western.pk)).count() == (
        Movie.objects.filter(genres=western).count()
    )
