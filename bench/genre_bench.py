"""Renaming and deleting a genre of many movies: the whole request and the catalogue lock.

``python -m bench.genre_bench --database-url URL --label LABEL [--before-ref REF]
[--runs 3] [--before-runs 1] [--delete-runs 1] [--genre-share 0.1] [--largest]
[--explain]``

The database given, a catalogue loaded with populate_db, is never written: each
step runs on a copy (``createdb -T`` on PostgreSQL, a file copy on SQLite) that
is dropped at the end. The genre measured is the one whose movie_count is
closest to ``--genre-share`` of the catalogue (10%: 100,000 movies of a
million). Each app measured, the working tree and, with ``--before-ref``, the
code at that commit, runs in a child process of its own that imports it
(``harness.run_in_app``; Django is set up once per process), with DEBUG off,
throttling off and a process-local cache:

- rename as the admin saves a genre (``catalog.writes.rename_genre``;
  ``genre.save()`` in a transaction for code from before it), then through
  the API (``PATCH /api/genres/<id>`` with a staff token, Django's test
  ``Client``, the full middleware stack), back and forth,
  so that the copy ends with the names it started with;
- delete as the admin's delete view does (``catalog.writes.delete_genre``;
  ``genre.delete()`` before it) and
  through the API (``DELETE /api/genres/<id>``), each on a fresh copy.

Each operation's wall time covers the whole call or request. The catalogue
lock is held from the statement that takes it (``SELECT ... FOR UPDATE`` or the
first UPDATE of CatalogueVersion on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite,
whose write transaction is the lock) to the end of the COMMIT. After each
operation up to 2,000 movies that had the genre are read back and checked
(``wrong_texts``): their search_text as ``search_document`` writes it, and,
since genre names left search_text (migration 0007), found by a search for the
genre's new name.

With ``--explain`` (PostgreSQL), the working tree's rename runs once more
under EXPLAIN (ANALYZE, BUFFERS, WAL), rolled back, which splits the statement
between computing the texts and writing them; then the same movies' search_text
is written alone (one character more, rolled back) with every index and
without the indexes that hold search_text: the floor any rebuild pays.

The result goes to ``bench/results/genre-<label>.json`` with the machine's and
the code's facts (medians over the runs), and its table (``bench.report``) is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import harness

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
        source = sqlite_path(database_url)
        target = source.with_name(f"{source.stem}-genre-bench{source.suffix}")
        drop_copy(f"sqlite:////{target.as_posix().lstrip('/')}")
        shutil.copyfile(source, target)
        return f"sqlite:////{target.as_posix().lstrip('/')}"
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

    def __init__(self, connection) -> None:
        self.connection = connection
        self.taken: float | None = None
        self.released: float | None = None
        self.queries = 0
        self.slowest_ms = 0.0
        self._commit = connection.commit
        connection.commit = self.commit
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

    def execute(self, execute, sql, params, many, context):
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


def staff_client():
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


def chosen_genre(share: float, largest: bool):
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

    Code that keeps genre names in search_text (before migration 0007) must
    have rebuilt each text as search_document writes it with the genres; code
    that does not must leave each text as its own fields make it, and find
    the movies by the genre's current name.
    """
    from catalog.models import Genre, Movie

    movies = Movie.objects.filter(pk__in=movie_ids).prefetch_related("genres")
    try:
        from catalog.upkeep import document_for  # type: ignore[attr-defined]
    except ImportError:
        from catalog.search import search_document, search_movies

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
            wrong += len(movie_ids) - search_movies(movies, genre.name).count()
        return wrong
    return sum(
        movie.search_text != document_for(movie, (genre.name for genre in movie.genres.all()))
        for movie in movies
    )


def answered(response) -> dict[str, Any]:
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


def rename_as_the_admin_does(genre, new: str) -> None:
    from django.db import transaction

    try:
        from catalog import writes
    except ImportError:  # code from before catalog.writes saved genres through the ORM
        with transaction.atomic():
            genre.name = new
            genre.save()
        return
    writes.rename_genre(genre.pk, name=new)


def delete_as_the_admin_does(genre) -> None:
    try:
        from catalog import writes
    except ImportError:  # code from before catalog.writes
        genre.delete()
        return
    writes.delete_genre(genre.pk)


def one_operation(kind: str, genre, clock: LockClock, client) -> dict[str, Any]:
    """Rename the genre (to or from its renamed name) or delete it, timed."""
    from django.core.cache import cache

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
        rename_as_the_admin_does(genre, new)
    elif kind == "delete-orm":
        delete_as_the_admin_does(genre)
    elif kind == "rename-api":
        response = client.patch(
            f"/api/genres/{genre.pk}", json.dumps({"name": new}), content_type="application/json"
        )
        entry.update(answered(response))
    elif kind == "delete-api":
        response = client.delete(f"/api/genres/{genre.pk}")
        entry.update(answered(response))
    elif kind == "rename-explained":
        entry["plan"] = explained_rename(genre, new)
    elif kind == "write-floor":
        entry["floor"] = write_floor(genre.pk)
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


def explained_rename(genre, new: str) -> dict[str, Any]:
    """The rename's rebuild under EXPLAIN (ANALYZE, BUFFERS, WAL), rolled back.

    PostgreSQL only: how the statement's time splits between computing the
    new texts (the UPDATE node's input) and writing them, and the WAL written.
    """
    from django.db import connection, transaction

    plans: list = []

    def explain(execute, sql, params, many, context):
        if not sql.lstrip().startswith("WITH genre"):
            return execute(sql, params, many, context)
        result = execute(
            f"EXPLAIN (ANALYZE, BUFFERS, WAL, FORMAT JSON) {sql}", params, many, context
        )
        plans.append(context["cursor"].fetchone()[0][0])
        return result

    with transaction.atomic():
        with connection.execute_wrapper(explain):
            rename_as_the_admin_does(genre, new)
        transaction.set_rollback(True)
    if not plans:
        raise harness.BenchError("the rename ran no rebuild statement to explain")
    update = plans[0]["Plan"]
    # The UPDATE's input, not the CTEs it reads, is where the texts are computed.
    computed = next(plan for plan in update["Plans"] if plan["Parent Relationship"] == "Outer")
    return {
        "execution_ms": round(plans[0]["Execution Time"], 1),
        "computing_ms": round(computed["Actual Total Time"], 1),
        "writing_ms": round(update["Actual Total Time"] - computed["Actual Total Time"], 1),
        "rows": computed["Actual Rows"],
        "wal_bytes": update.get("WAL Bytes"),
        "wal_full_page_images": update.get("WAL FPI"),
        "wal_records": update.get("WAL Records"),
        "buffers_read": update.get("Shared Read Blocks"),
        "buffers_written": update.get("Shared Written Blocks"),
    }


# Indexes that hold search_text, by what they serve (migrations 0002 and 0004).
SEARCH_TEXT_INDEXES = {
    "trigram": ["movie_search_text_trgm"],
    "ordering": ["movie_popularity_id", "movie_imdb_score_id", "movie_name_id"],
}


def write_floor(genre_id: int) -> dict[str, float]:
    """What writing these movies' search_text costs PostgreSQL, whatever the new text.

    The same movies get one character more, in a transaction rolled back: with
    every index, then without the indexes that hold search_text (dropped inside
    the transaction, so never for real).
    """
    from django.db import connection, transaction

    cases = {
        "every index": [],
        "without the trigram index": SEARCH_TEXT_INDEXES["trigram"],
        "without the ordering indexes": SEARCH_TEXT_INDEXES["ordering"],
        "without either": [*SEARCH_TEXT_INDEXES["trigram"], *SEARCH_TEXT_INDEXES["ordering"]],
    }
    floor = {}
    for case, dropped in cases.items():
        with transaction.atomic(), connection.cursor() as cursor:
            for index in dropped:
                cursor.execute(f'DROP INDEX "{index}"')
            started = time.perf_counter()
            cursor.execute(
                "UPDATE catalog_movie SET search_text = search_text || ' ' WHERE id IN "
                "(SELECT movie_id FROM catalog_movie_genres WHERE genre_id = %s)",
                [genre_id],
            )
            floor[case] = round((time.perf_counter() - started) * 1000, 1)
            transaction.set_rollback(True)
    return floor


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


def run_child(app_dir: Path, copy_url: str, operations: list[str], args) -> list[dict]:
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


# -- the parent: copies, apps and the summary ------------------------------------


def renames(runs: int) -> list[str]:
    """ORM renames then API renames: an even count, so the names end as they began."""
    return ["rename-orm"] * runs + ["rename-api"] * runs


def measure_app(name: str, app_dir: Path, args, runs: int, delete_runs: int) -> list[dict]:
    harness.say(
        f"[{args.label}] {name}: {runs} rename(s) each way, {delete_runs} delete(s) each way"
    )
    results = []
    explained = ["rename-explained", "write-floor"] if name == "after" and args.explain else []
    plans = [renames(runs) + explained] + [["delete-orm"], ["delete-api"]] * delete_runs
    for operations in plans:
        copy_url = make_copy(args.database_url)
        try:
            for entry in run_child(app_dir, copy_url, operations, args):
                entry["app"] = name
                results.append(entry)
        finally:
            drop_copy(copy_url)
    return results


def summary(results: list[dict]) -> list[dict]:
    rows = []
    results = [entry for entry in results if "plan" not in entry and "floor" not in entry]
    keys = sorted({(entry["app"], entry["operation"]) for entry in results}, key=str)
    for app, operation in keys:
        runs = [e for e in results if (e["app"], e["operation"]) == (app, operation)]
        held = [e["lock_held_ms"] for e in runs if e["lock_held_ms"] is not None]
        rows.append(
            {
                "app": app,
                "operation": operation,
                "movies": runs[0]["movies"],
                "runs": len(runs),
                "median_wall_ms": round(statistics.median(e["wall_ms"] for e in runs), 1),
                "median_lock_held_ms": round(statistics.median(held), 1) if held else None,
                "max_wall_ms": max(e["wall_ms"] for e in runs),
                "queries": runs[0]["queries"],
                "statuses": sorted({e.get("status") for e in runs if e.get("status")}),
                "every_answer_json": all(e.get("json_or_empty", True) for e in runs),
                "wrong_texts_in_samples": sum(e["sample_wrong"] for e in runs),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--label", help="names the result file: genre-LABEL.json")
    parser.add_argument("--before-ref", help="also measure the app at this commit, first")
    parser.add_argument("--runs", type=int, default=3, help="renames each way (default 3)")
    parser.add_argument("--before-runs", type=int, default=1, help="for --before-ref (1)")
    parser.add_argument("--delete-runs", type=int, default=1, help="deletes each way (1)")
    parser.add_argument("--genre-share", type=float, default=0.1)
    parser.add_argument("--largest", action="store_true", help="the largest genre instead")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="PostgreSQL: one more rename, explained, and the cost of the writes alone",
    )
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
        apps: list[tuple[str, Path, int]] = []
        if args.before_ref:
            before = workdir / "before"
            before.mkdir()
            harness.git_archive(args.before_ref, before, "movies")
            apps.append((f"before ({args.before_ref[:9]})", before / "movies", args.before_runs))
        after = harness.app_snapshot("worktree", workdir)
        code = harness.code_facts(after, "worktree")
        apps.append(("after", after, args.runs))
        started = time.perf_counter()
        results = []
        for name, app_dir, runs in apps:
            delete_runs = args.delete_runs if name == "after" else 1
            results += measure_app(name, app_dir, args, runs, delete_runs)
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
            "before_ref": args.before_ref,
            "summary": summary(results),
            "runs": results,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "machine": machine,
            "code": code,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        # The snapshot measured against the working tree as it is now.
        if harness.code_fingerprint(after) != harness.code_fingerprint(harness.APP_DIR):
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
