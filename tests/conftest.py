from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from catalog.writes import import_file
from tests.factories import (
    ThreeMovies,
    UserFactory,
    api_token,
    make_three_movies,
    token_client,
)

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
def fixture_catalogue(db):
    """Our own fixture catalogue, imported the way operators import it."""
    return import_file(path=FIXTURE_PATH)


@pytest.fixture
def three_movies(db) -> ThreeMovies:
    """Heat, Paths of Glory and Amélie, in the genres Drama, War and Crime."""
    return make_three_movies()


@pytest.fixture
def editor(db):
    """A staff account with every catalogue permission: what the API's writers are."""
    return UserFactory(editor=True, username="editor")


@pytest.fixture
def editor_token(editor) -> str:
    """The editor's API token."""
    return api_token(editor)


@pytest.fixture
def editor_client(editor) -> APIClient:
    """An API client signed in with the editor's token."""
    return token_client(editor)


@pytest.fixture
def admin_client(db, client):
    """Django's test client, logged in to the admin as a superuser (pytest-django's, made here)."""
    client.force_login(UserFactory(superuser=True, username="admin"))
    return client


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
    """Each test starts with an empty response cache and throttle history, and with no
    order boundaries remembered (catalog.reads.walking): its queries are its own."""
    from django.core.cache import cache

    from catalog.reads import walking

    cache.clear()
    walking.forget()
    yield
    cache.clear()


@pytest.fixture
def reads_from_primary():
    """Reads go to the primary even with read replicas: for tests of the primary's own state."""
    from operations.database_routing import request_scope

    with request_scope(primary=True):
        yield


@pytest.fixture(scope="session")
def server_database_url(tmp_path_factory) -> str:
    """The URL of a migrated SQLite database for the app under a real server."""
    from tests.support.servers import manage, sqlite_url

    url = sqlite_url(tmp_path_factory.mktemp("server-database") / "db.sqlite3")
    manage(url, "migrate", "--no-input")
    return url
