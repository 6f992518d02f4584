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

from catalog.importer import CatalogueError, import_records
from catalog.models import Genre, Movie
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
