"""Reads from a real streaming replica (operations.database_routing), writes to the primary.

These run against the replica that ``.ci/replica`` starts, with
``DATABASE_REPLICA_URLS=postgres://postgres@127.0.0.1:5433/<database>`` beside a
PostgreSQL ``DATABASE_URL``; without it they are skipped.

In tests a replica alias keeps its own host and port and takes the name of the
primary's test database (``TEST: MIRROR``), which the replica receives through
replication. So ``replica_0`` really queries the standby, and it sees only
committed rows: the tests that follow data through replication use
``transaction=True``. Inside the ordinary ``django_db`` tests every read goes
to the primary, because the test's own transaction is open there.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from catalog import writes
from catalog.models import Genre, Movie
from operations.database_routing import (
    PRIMARY,
    PrimaryAfterWriteMiddleware,
    PrimaryReplicaRouter,
    request_scope,
)
from tests.factories import MovieFactory
from tests.support import waiting

pytestmark = [
    pytest.mark.requires_postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_REPLICA_URLS"),
        reason="needs a streaming replica (start one with .ci/replica, set DATABASE_REPLICA_URLS)",
    ),
]

REPLICAS = [alias for alias in settings.DATABASES if alias.startswith("replica_")]
REPLICATION_WAIT_SECONDS = 5.0
through_replication = pytest.mark.django_db(transaction=True, databases="__all__")


@contextmanager
def queries_by_alias() -> Iterator[dict[str, list[str]]]:
    """The SQL each database alias runs inside the block."""
    queries: dict[str, list[str]] = defaultdict(list)

    def spy_on(alias: str) -> Callable:
        def spy(execute, sql, params, many, context):
            queries[alias].append(sql)
            return execute(sql, params, many, context)

        return spy

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(spy_on(alias)))
        yield queries


def eventually(condition: Callable[[], bool]) -> bool:
    """Whether condition() holds within REPLICATION_WAIT_SECONDS."""
    return waiting.eventually(condition, seconds=REPLICATION_WAIT_SECONDS)


def on_every_replica(model, **lookup) -> bool:
    return all(model.objects.using(alias).filter(**lookup).exists() for alias in REPLICAS)


def raw_replica_connection(alias: str) -> psycopg.Connection:
    """A connection of our own to the replica's copy of the test database."""
    replica = connections[alias].settings_dict
    return psycopg.connect(
        host=replica["HOST"],
        port=replica["PORT"] or 5432,
        user=replica["USER"],
        password=replica["PASSWORD"] or None,
        dbname=connections[PRIMARY].settings_dict["NAME"],
        autocommit=True,
    )


# Streaming


@through_replication
def test_a_committed_write_reaches_the_replica_within_seconds():
    genre = writes.create_genre(name="Film-Noir")
    with raw_replica_connection(REPLICAS[0]) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)

        def replicated() -> bool:
            row = replica.execute(
                "SELECT name FROM catalog_genre WHERE id = %s", [genre.pk]
            ).fetchone()
            return row == ("Film-Noir",)

        assert eventually(replicated)


@through_replication
def test_the_replica_refuses_writes():
    with (
        raw_replica_connection(REPLICAS[0]) as replica,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        replica.execute("INSERT INTO catalog_genre (name) VALUES ('Western')")


@through_replication
def test_replica_aliases_query_the_standby_in_tests():
    for alias in REPLICAS:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), current_database()")
            in_recovery, database = cursor.fetchone()
        assert in_recovery
        assert database == connections[PRIMARY].settings_dict["NAME"]


# Routing


def test_writes_and_migrations_go_to_the_primary_only():
    router = PrimaryReplicaRouter()
    assert router.db_for_write(Movie) == PRIMARY
    assert router.allow_migrate(PRIMARY, "catalog")
    assert not any(router.allow_migrate(alias, "catalog") for alias in REPLICAS)


def test_objects_from_a_replica_and_the_primary_may_be_related():
    from_replica, from_primary = Movie(), Genre()
    from_replica._state.db, from_primary._state.db = REPLICAS[0], PRIMARY
    assert PrimaryReplicaRouter().allow_relation(from_replica, from_primary)


def test_a_request_reads_from_one_replica_throughout():
    router = PrimaryReplicaRouter()
    router.replicas = ["replica_0", "replica_1", "replica_2"]
    with request_scope():
        chosen = {router.db_for_read(Movie) for _ in range(20)}
    assert len(chosen) == 1
    assert chosen <= set(router.replicas)


@through_replication
def test_reads_go_to_a_replica_outside_a_transaction_and_to_the_primary_inside():
    with queries_by_alias() as queries:
        Movie.objects.count()
    assert set(queries) <= set(REPLICAS)
    assert queries

    with queries_by_alias() as queries, transaction.atomic():
        Movie.objects.count()
    assert set(queries) == {PRIMARY}


@through_replication
def test_a_request_reads_from_the_primary_once_it_has_written():
    seen: dict[str, set[str]] = {}

    def view(request) -> HttpResponse:
        with queries_by_alias() as before:
            Movie.objects.count()
        writes.create_genre(name=f"Western {Genre.objects.using(PRIMARY).count()}")
        with queries_by_alias() as after:
            Movie.objects.count()
        seen.update(before=set(before), after=set(after))
        return HttpResponse()

    middleware = PrimaryAfterWriteMiddleware(view)
    middleware(RequestFactory().get("/api/movies"))
    assert seen["before"] <= set(REPLICAS)
    assert seen["before"]
    assert seen["after"] == {PRIMARY}

    # The next request starts afresh.
    middleware(RequestFactory().get("/api/movies"))
    assert seen["before"] <= set(REPLICAS)
    assert seen["before"]


# Through the API


@through_replication
def test_an_anonymous_api_read_is_served_by_the_replica(client):
    movie = MovieFactory(name="Rashomon")
    assert eventually(lambda: on_every_replica(Movie, pk=movie.pk))

    with queries_by_alias() as queries:
        response = client.get("/api/movies?search=rashomon")

    assert response.status_code == 200
    assert [found["id"] for found in response.json()["results"]] == [movie.pk]
    # The catalogue version, the count, the page and its genres: all from one replica.
    assert len(set(queries)) == 1
    assert set(queries) <= set(REPLICAS)


@through_replication
def test_an_anonymous_site_page_is_served_by_the_replica(client):
    movie = MovieFactory(name="Rashomon")
    assert eventually(lambda: on_every_replica(Movie, pk=movie.pk))

    for path in ("/?q=rashomon", f"/movies/{movie.pk}"):
        with queries_by_alias() as queries:
            response = client.get(path)

        assert response.status_code == 200
        assert "Rashomon" in response.content.decode()
        assert len(set(queries)) == 1
        assert set(queries) <= set(REPLICAS)


@through_replication
def test_a_site_page_read_with_a_session_comes_from_the_primary(admin_client):
    # Staff who save in the admin and follow "View site" see what they saved.
    movie = MovieFactory(name="Rashomon")
    with queries_by_alias() as queries:
        response = admin_client.get(f"/movies/{movie.pk}")
    assert response.status_code == 200
    assert set(queries) == {PRIMARY}


@through_replication
def test_an_api_write_reads_and_writes_on_the_primary_only(editor_client):
    with queries_by_alias() as queries:
        response = editor_client.post(
            "/api/movies",
            {
                "name": "Ikiru",
                "director": "Akira Kurosawa",
                "popularity": 70.0,
                "imdb_score": 8.3,
                "genre": ["Drama"],
            },
            format="json",
        )

    assert response.status_code == 201, response.content
    assert set(queries) == {PRIMARY}
    assert eventually(lambda: on_every_replica(Movie, name="Ikiru"))


@through_replication
def test_the_back_office_reads_from_the_primary(admin_client):
    with queries_by_alias() as queries:
        response = admin_client.get("/admin/catalog/movie/")
    assert response.status_code == 200
    assert set(queries) == {PRIMARY}
