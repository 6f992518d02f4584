from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog.importer import import_file

FIXTURE_PATH = settings.REPO_ROOT / "fixtures" / "imdb.json"
SEED_PATH = settings.REPO_ROOT.parent / "shared" / "seed" / "imdb.json"


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "requires_postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def catalogue(db):
    """Our own fixture catalogue, imported the way operators import it."""
    return import_file(path=FIXTURE_PATH)


@pytest.fixture
def seed_path() -> Path:
    """The legacy service's catalogue, when it sits beside the repository."""
    if not SEED_PATH.exists():
        pytest.skip("the legacy catalogue (../shared/seed/imdb.json) is not present")
    return SEED_PATH


@pytest.fixture
def write_catalogue(tmp_path):
    """Write records to a catalogue file and return its path."""

    def write(records, name="catalogue.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(records), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty response cache and throttle history."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reads_from_primary():
    """Reads go to the primary even with read replicas: for tests of the primary's own state."""
    from operations.database_routing import request_scope

    with request_scope(primary=True):
        yield


@pytest.fixture(scope="session")
def server_database(tmp_path_factory) -> Path:
    """A migrated SQLite database file for the app under a real server (support/servers.py)."""
    from tests.support.servers import migrate

    path = tmp_path_factory.mktemp("server-database") / "db.sqlite3"
    migrate(path)
    return path
