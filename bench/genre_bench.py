"""Renaming and deleting a genre of many movies: the whole request and the catalogue lock.

``python -m bench.genre_bench --database-url URL --label LABEL [--runs 3]
[--delete-runs 1] [--genre-share 0.1] [--largest]``

The database given, a catalogue loaded with populate_db, is never written: each
step runs on a copy (``createdb -T`` on PostgreSQL, a file copy on SQLite) that
is dropped at the end. The genre measured is the one whose movie_count is
closest to ``--genre-share`` of the catalogue (10%: 100,000 movies of a
million). A snapshot of the working tree's app is measured in child
processes that import it (``harness.run_in_app``; Django is set up once per
process), with DEBUG off, throttling off and a process-local cache:

- rename as the admin saves a genre (``catalog.writes.rename_genre``), then
  through the API (``PATCH /api/genres/<id>`` with a staff token, Django's
  test ``Client``, the full middleware stack), back and forth, so that the
  copy ends with the names it started with;
- delete as the admin's delete view does (``catalog.writes.delete_genre``)
  and through the API (``DELETE /api/genres/<id>``), each on a fresh copy.

Each operation's wall time covers the whole call or request. The catalogue
lock is held from the statement that takes it (``SELECT ... FOR UPDATE`` or the
first UPDATE of CatalogueVersion on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite,
whose write transaction is the lock) to the end of the COMMIT. After each
operation up to 2,000 movies that had the genre are read back and checked
(``wrong_texts``): their search_text as ``search_document`` writes it from
their own fields, and found by a search for the genre's new name.

The result goes to ``genre-<label>.json`` in the results directory
(``--results-dir``, see bench.report) with the machine's and the code's facts
(medians over the runs), and its table (``bench.report``) is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from bench import harness

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.http.response import ResponseHeaders
    from django.test import Client

    from catalog.models import Genre

SAMPLE = 2_000
RENAMED_SUFFIX = " (renamed)"
STAFF_USERNAME = "genre-bench"
COPY_ATTEMPTS = 10


# -- copies of the database ---------------------------------------------------------


def with_database_name(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def sqlite_path(database_url: str) -> Path:
    return Path("/" + urlsplit(database_url).path.lstrip("/"))


def postgres_args(database_url: str) -> list[str]:
    parts = urlsplit(database_url)
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    return [*args, "-U", parts.username or "postgres"]


def make_copy(database_url: str) -> str:
    """A fresh copy of the database; its URL."""
    if harness.engine_of(database_url) == "sqlite":
        source_file = sqlite_path(database_url)
        target_file = source_file.with_name(f"{source_file.stem}-genre-bench{source_file.suffix}")
        copy_url = f"sqlite:////{target_file.as_posix().lstrip('/')}"
        drop_copy(copy_url)
        shutil.copyfile(source_file, target_file)
        return copy_url
    source = urlsplit(database_url).path.lstrip("/")
    target = f"{source}_genre_bench" if not source.endswith("_perf") else "movies_genre_bench"
    drop_copy(with_database_name(database_url, target))
    # createdb -T refuses while anyone else is connected to the source.
    for attempt in range(COPY_ATTEMPTS):
        try:
            harness.run(["createdb", *postgres_args(database_url), "-T", source, target])
            break
        except harness.BenchError as error:
            if "being accessed by other users" not in str(error) or attempt == COPY_ATTEMPTS - 1:
                raise
            harness.say(f"{source} is in use; copying again in 30 s")
            time.sleep(30)
    return with_database_name(database_url, target)


def drop_copy(copy_url: str) -> None:
    if harness.engine_of(copy_url) == "sqlite":
        path = sqlite_path(copy_url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = urlsplit(copy_url).path.lstrip("/")
    harness.run(["dropdb", *postgres_args(copy_url), "--if-exists", name])


# -- the child: one app, one copy, a list of operations ----------------------------


class LockClock:
    """When the catalogue lock was taken and when the transaction holding it ended."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.taken: float | None = None
        self.released: float | None = None
        self.queries = 0
        self.slowest_ms = 0.0
        self._commit = connection.commit
        # The lock ends with the COMMIT, which no execute wrapper sees.
        connection.commit = self.commit  # type: ignore[method-assign]
        connection.execute_wrappers.append(self.execute)

    def reset(self) -> None:
        self.taken = self.released = None
        self.queries = 0
        self.slowest_ms = 0.0

    def takes_lock(self, sql: str) -> bool:
        statement = sql.lstrip().upper()
        if self.connection.vendor == "sqlite":
            return statement.startswith("BEGIN")
        return "CATALOG_CATALOGUEVERSION" in statement and (
            "FOR UPDATE" in statement or statement.startswith("UPDATE")
        )

    def execute(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        if self.taken is None and self.takes_lock(sql):
            self.taken = time.perf_counter()
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries += 1
            self.slowest_ms = max(self.slowest_ms, (time.perf_counter() - started) * 1000)

    def commit(self) -> None:
        self._commit()
        if self.taken is not None and self.released is None:
            self.released = time.perf_counter()

    @property
    def held_ms(self) -> float | None:
        if self.taken is None or self.released is None:
            return None
        return round((self.released - self.taken) * 1000, 1)


def staff_client() -> Client:
    from django.contrib.auth.models import User
    from django.test import Client
    from rest_framework.authtoken.models import Token

    # A superuser: API writes take the admin's model permissions.
    user, _ = User.objects.get_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    token, _ = Token.objects.get_or_create(user=user)
    return Client(
        HTTP_HOST="127.0.0.1",
        HTTP_ACCEPT="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )


def chosen_genre(share: float, largest: bool) -> Genre:
    from catalog.models import Genre, Movie

    genres = list(Genre.objects.order_by("pk"))
    if largest:
        return max(genres, key=lambda genre: genre.movie_count)
    wanted = Movie.objects.count() * share
    return min(genres, key=lambda genre: abs(genre.movie_count - wanted))


def sample_of(genre_id: int) -> list[int]:
    from catalog.models import Movie

    ids = list(
        Movie.genres.through.objects.filter(genre_id=genre_id).values_list("movie_id", flat=True)
    )
    return random.Random(genre_id).sample(ids, min(SAMPLE, len(ids)))


def wrong_texts(movie_ids: list[int], genre_id: int) -> int:
    """How many of these movies a search would get wrong now.

    Each text must be what the movie's own fields make, and a search for the
    genre's current name must find every movie that still has the genre.
    """
    from catalog.models import Genre, Movie
    from catalog.search import Search, search_document, search_movies

    movies = Movie.objects.filter(pk__in=movie_ids)
    wrong = sum(
        movie.search_text
        != search_document(
            name=movie.name,
            director=movie.director,
            popularity=movie.popularity,
            imdb_score=movie.imdb_score,
        )
        for movie in movies
    )
    genre = Genre.objects.filter(pk=genre_id).first()
    if genre is not None:
        wrong += len(movie_ids) - search_movies(movies, Search.parse(genre.name)).count()
    return wrong


class Response(Protocol):
    """What is read of the test client's answer."""

    status_code: int
    headers: ResponseHeaders
    content: bytes


def answered(response: Response) -> dict[str, Any]:
    content_type = response.headers.get("Content-Type", "")
    body = response.content
    try:
        is_json = not body or bool(json.loads(body) is not None)
    except ValueError:
        is_json = False
    return {
        "status": response.status_code,
        "content_type": content_type or None,
        "json_or_empty": is_json and (not body or content_type.startswith("application/json")),
        "body_start": body[:200].decode(errors="replace"),
    }


def one_operation(kind: str, genre: Genre, clock: LockClock, client: Client) -> dict[str, Any]:
    """Rename the genre (to or from its renamed name) or delete it, timed."""
    from django.core.cache import cache

    from catalog import writes
    from catalog.models import Genre

    cache.clear()
    movies = genre.movie_count
    sample = sample_of(genre.pk)
    clock.reset()
    entry: dict[str, Any] = {"operation": kind, "genre": genre.name, "movies": movies}
    if kind.startswith("rename"):
        new = (
            genre.name[: -len(RENAMED_SUFFIX)]
            if genre.name.endswith(RENAMED_SUFFIX)
            else genre.name + RENAMED_SUFFIX
        )
        entry["new_name"] = new
    started = time.perf_counter()
    if kind == "rename-orm":
        writes.rename_genre(genre.pk, name=new)
    elif kind == "delete-orm":
        writes.delete_genre(genre.pk)
    elif kind == "rename-api":
        response = client.patch(
            f"/api/genres/{genre.pk}", json.dumps({"name": new}), content_type="application/json"
        )
        entry.update(answered(response))
    elif kind == "delete-api":
        response = client.delete(f"/api/genres/{genre.pk}")
        entry.update(answered(response))
    else:
        raise harness.BenchError(f"unknown operation {kind!r}")
    entry["wall_ms"] = round((time.perf_counter() - started) * 1000, 1)
    entry["lock_held_ms"] = clock.held_ms
    entry["queries"] = clock.queries
    entry["slowest_query_ms"] = round(clock.slowest_ms, 1)
    entry["sample_checked"] = len(sample)
    entry["sample_wrong"] = wrong_texts(sample, genre.pk)
    if kind.startswith("delete"):
        entry["genre_gone"] = not Genre.objects.filter(pk=genre.pk).exists()
    harness.say(
        f"  {kind} {entry['genre']!r} ({movies:,} movies): {entry['wall_ms'] / 1000:.2f} s, "
        f"lock {(entry['lock_held_ms'] or 0) / 1000:.2f} s, {entry['queries']} queries, "
        f"status {entry.get('status', '-')}, {entry['sample_wrong']} wrong of {len(sample)}"
    )
    return entry


def child(args: argparse.Namespace) -> int:
    harness.setup_django(args.database_url)
    from django.db import connections

    from catalog.models import Genre

    clock = LockClock(connections["default"])
    client = staff_client()
    genre = chosen_genre(args.genre_share, args.largest)
    results = []
    for kind in args.operations.split(","):
        genre = Genre.objects.get(pk=genre.pk)
        results.append(one_operation(kind, genre, clock, client))
    Path(args.output).write_text(json.dumps(results))
    return 0


def run_child(
    app_dir: Path, copy_url: str, operations: list[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    command = [
        "--child",
        "--database-url",
        copy_url,
        "--operations",
        ",".join(operations),
        "--genre-share",
        str(args.genre_share),
        *(["--largest"] if args.largest else []),
    ]
    return harness.results_of_child(
        "bench.genre_bench", app_dir, command, role="measuring process"
    )


# -- the parent: copies and the summary ------------------------------------------


def renames(runs: int) -> list[str]:
    """ORM renames then API renames: an even count, so the names end as they began."""
    return ["rename-orm"] * runs + ["rename-api"] * runs


def measure_operations(app_dir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The renames on one copy, then each delete on a fresh copy of its own."""
    harness.say(
        f"[{args.label}] {args.runs} rename(s) each way, {args.delete_runs} delete(s) each way"
    )
    results = []
    plans = [renames(args.runs)] + [["delete-orm"], ["delete-api"]] * args.delete_runs
    for operations in plans:
        copy_url = make_copy(args.database_url)
        try:
            results += run_child(app_dir, copy_url, operations, args)
        finally:
            drop_copy(copy_url)
    return results


def summary(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    operations = sorted({entry["operation"] for entry in results})
    for operation in operations:
        runs = [e for e in results if e["operation"] == operation]
        held = [e["lock_held_ms"] for e in runs if e["lock_held_ms"] is not None]
        rows.append(
            {
                "operation": operation,
                "movies": runs[0]["movies"],
                "runs": len(runs),
                "median_wall_ms": round(statistics.median(e["wall_ms"] for e in runs), 1),
                "median_lock_held_ms": round(statistics.median(held), 1) if held else None,
                "max_wall_ms": max(e["wall_ms"] for e in runs),
                "queries": runs[0]["queries"],
                "statuses": sorted({e["status"] for e in runs if e.get("status")}),
                "every_answer_json": all(e.get("json_or_empty", True) for e in runs),
                "wrong_texts_in_samples": sum(e["sample_wrong"] for e in runs),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", help="names the result file: genre-LABEL.json")
    parser.add_argument("--runs", type=int, default=3, help="renames each way (default 3)")
    parser.add_argument("--delete-runs", type=int, default=1, help="deletes each way (1)")
    parser.add_argument("--genre-share", type=float, default=0.1)
    parser.add_argument("--largest", action="store_true", help="the largest genre instead")
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--operations", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if args.child:
        return child(args)
    if not args.label:
        parser.error("--label is required")
    return harness.measure_and_publish(
        lambda: measure(args), args.results_dir / f"genre-{args.label}.json"
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with harness.scratch_dir("movies-bench-genre-") as workdir:
        machine = harness.machine_facts(args.database_url)
        app_dir = harness.app_snapshot("worktree", workdir)
        code = harness.code_facts(app_dir, "worktree")
        started = time.perf_counter()
        results = measure_operations(app_dir, args)
        movies = count_movies(args.database_url)
        result: dict[str, Any] = {
            "benchmark": "genre",
            "label": args.label,
            "database": harness.engine_of(args.database_url),
            "database_url": args.database_url,
            "movies": movies,
            "genre": results[0]["genre"],
            "genre_share": args.genre_share,
            "largest": args.largest,
            "summary": summary(results),
            "runs": results,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "machine": machine,
            "code": code,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        # The snapshot measured against the working tree as it is now.
        if harness.code_fingerprint(app_dir) != harness.code_fingerprint(harness.APP_DIR):
            result["warning"] = "the app's code changed on disk during the run"
        return result


def count_movies(database_url: str) -> int:
    if harness.engine_of(database_url) == "sqlite":
        import sqlite3

        with sqlite3.connect(sqlite_path(database_url)) as connection:
            return connection.execute("SELECT count(*) FROM catalog_movie").fetchone()[0]
    return int(
        harness.run(["psql", database_url, "-X", "-qtAc", "SELECT count(*) FROM catalog_movie"])
    )


if __name__ == "__main__":
    sys.exit(main())
