"""Anonymous reads and staff writes through nginx and gunicorn: errors, lost writes, memory.

``python -m bench.load_bench --database-url URL [--label postgres-1m] [--duration 60]
[--warmup 10] [--connections 32] [--writers 4] [--writes-per-second R]
[--mix legacy|longtail] [--redis-url redis://127.0.0.1:6379/12] [--source worktree]
[--no-proxy]``

The app runs as in production: nginx with ``deploy/nginx.conf`` in front of
gunicorn with ``movies/config/gunicorn.py`` (2 sync workers, JSON access log,
workers never recycled, ``NUM_PROXIES=1``), DEBUG off, the
response cache in Redis (its database is emptied first), metrics aggregated
over the workers. Throttling is off. The database must be a PostgreSQL
catalogue the benchmark may write to (a copy: ``createdb -T``): it applies the
app's migrations, adds a staff account, and writes movies named ``Load test
<run id>...``; the catalogue's own movies are only read.

On loopback, ``--connections`` clients run for ``--warmup`` then ``--duration``
seconds, each with its own HTTP connection, sending the next request as soon
as the last one is answered:

- readers (all but ``--writers``) pick, at random with fixed weights, one of
  the legacy service's example searches, deep pages, filtered and ordered
  lists, a movie's detail and the genre list: the same URLs again and again,
  as real clients send them. With ``--mix longtail`` they pick instead from
  5,000 distinct long-tail requests drawn from the catalogue's own words
  (bench.longtail_queries: searches in every ordering, deep pages, numbers,
  suggestions), by a Zipf distribution over them: a few often, most rarely;
- writers, with a staff account's API token, create movies, change the score
  or the genres of movies they created, and delete some of them. After each
  acknowledged write the writer searches for that movie anonymously and
  expects the answer to show the write at once. A write invalidates the
  cached answers that may depend on it, so many reads run their queries in
  full. ``--writes-per-second`` paces them (shared by the writers; 0: no
  writers), else they write as fast as they are answered.

The app is served as ``bench.counted_wsgi``, which counts the response
cache's hits and misses for the result's hit ratio.

Latency is measured per request (``time.perf_counter``, from sending to the
last byte) and summarised after the warm-up only; errors (5xx, socket errors,
any unexpected status) are counted over the whole run. Each gunicorn worker's
VmRSS (``/proc/<pid>/status``) is sampled every second; its growth is the last
sample against the one at the end of the warm-up.

After the load stops, every acknowledged write is checked three ways: each
movie through the API (200 with its last acknowledged values, or 404 once
deleted), a search for the run id through the API (exactly the surviving
movies), and the rows in the database. A write answered with an error is not
acknowledged: its movie is left out of the checks and reported as uncertain.

The result goes to ``load-<label>.json`` in the results directory
(``--results-dir``, see bench.report) with the machine's and the code's facts,
and its table (``bench.report``) is printed. When a target is missed the
gunicorn log (with the app's tracebacks) is kept and its path reported.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from bench import harness
from bench.longtail_queries import Zipf, long_tail, vocabulary_of
from bench.search_bench import readme_label
from deploy.nginx import Nginx, nginx_binary
from tests.support.legacy import README_SEARCHES

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
STAFF_USERNAME = "load-bench"
NAME_PREFIX = "Load test"
DIRECTOR = "Load Bench"
TARGET_MEMORY_GROWTH = 0.10
# How often a reader picks each of the legacy service's README searches, in their order.
README_SEARCH_WEIGHTS = (3, 3, 2, 3, 2, 2, 2)
# How often a reader picks each URL; writers' requests come on top.
READ_MIX: tuple[tuple[str, str, str, int], ...] = (
    # kind, label, path, weight
    *(
        ("search", readme_label(params), f"/api/movies?{params}", weight)
        for params, weight in zip(README_SEARCHES, README_SEARCH_WEIGHTS, strict=True)
    ),
    ("deep page", "war, offset 5000", "/api/movies?search=war&offset=5000", 1),
    ("deep page", "list, offset 9980", "/api/movies?offset=9980", 1),
    ("deep page", "by name, offset 9980", "/api/movies?ordering=name&offset=9980", 1),
    ("list", "unfiltered", "/api/movies", 2),
    ("list", "ordering=-imdb_score", "/api/movies?ordering=-imdb_score", 1),
    ("list", "ordering=name", "/api/movies?ordering=name", 1),
    ("list", "genre=Drama", "/api/movies?genre=Drama", 1),
    ("list", "imdb_score_min=8", "/api/movies?imdb_score_min=8", 1),
    (
        "list",
        "genre=Drama&imdb_score_min=8&ordering=-imdb_score",
        "/api/movies?genre=Drama&imdb_score_min=8&ordering=-imdb_score",
        1,
    ),
    ("detail", "movie detail", "/api/movies/{id}", 6),
    ("genres", "genre list", "/api/genres", 1),
)
# A writer's next operation, once it has a few movies of its own to change.
WRITE_WEIGHTS = {"create": 5, "update": 4, "delete": 2}
EXPECTED_STATUS = {"create": 201, "update": 200, "delete": 204}
KIND_ORDER = (
    "search",
    "deep page",
    "list",
    "number",
    "suggest",
    "detail",
    "genres",
    "create",
    "update",
    "delete",
    "read after write",
)
EXAMPLES_KEPT = 20
# The long-tail mix: this many distinct requests (bench.longtail_queries), the
# first drawn most often (Zipf), so that some are asked again and again.
LONGTAIL_POOL = 5_000
TARGET_P95_MS = 50.0
CACHE_LOOKUPS = "movies_bench_response_cache_lookups"
# A read: its kind, its label and its path ("{id}" for a movie's).
Pick = Callable[[random.Random], tuple[str, str, str]]


# -- HTTP ---------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: the connection failed
    body: bytes
    started: float  # time.perf_counter() when the request was sent
    elapsed_ms: float
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One connection of one client, reopened after a failure."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, staff: bool = False
    ) -> Answer:
        headers = {"Accept": "application/json"}
        if staff:
            headers["Authorization"] = f"Token {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(None, b"", started, elapsed, f"{type(error).__name__}: {error}")
        return Answer(response.status, data, started, (time.perf_counter() - started) * 1000)

    def close(self) -> None:
        self.connection.close()


# -- what the clients record --------------------------------------------------


@dataclass
class Recorder:
    """One client's samples, failures and stale reads; merged after the run."""

    run_started: float
    samples: list[tuple[str, str, float, float, int | None]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    stale_reads: list[dict[str, Any]] = field(default_factory=list)
    read_after_write_checks: int = 0

    def record(self, kind: str, label: str, path: str, answer: Answer, expected: int) -> bool:
        """Keep the sample; True when the answer has the expected status."""
        started = answer.started - self.run_started
        self.samples.append((kind, label, started, answer.elapsed_ms, answer.status))
        if answer.status == expected:
            return True
        self.failures.append(
            {
                "kind": kind,
                "path": path,
                "at_seconds": round(started, 2),
                "status": answer.status,
                "expected": expected,
                "error": answer.error,
                "body": answer.body[:500].decode(errors="replace"),
            }
        )
        return False


@dataclass
class TrackedMovie:
    token: str
    id: int | None = None
    state: dict[str, Any] = field(default_factory=dict)  # the last acknowledged values
    deleted: bool = False
    uncertain: str | None = None  # why its state is unknown, if it is
    writes: int = 0


def movie_state(data: dict[str, Any]) -> dict[str, Any]:
    """A movie's values as compared here: genres by lower-case name, sorted."""
    return {
        "name": data["name"],
        "director": data["director"],
        "popularity": float(data["popularity"]),
        "imdb_score": float(data["imdb_score"]),
        "genre": sorted(
            (genre["name"] if isinstance(genre, dict) else genre).strip().lower()
            for genre in data["genre"]
        ),
    }


# -- the clients --------------------------------------------------------------


def legacy_mix(rng: random.Random) -> tuple[str, str, str]:
    kind, label, path, _ = rng.choices(READ_MIX, [weight for *_, weight in READ_MIX])[0]
    return kind, label, path


def longtail_mix(database_url: str, seed: int = 0) -> Pick:
    """Reads from the long tail of the catalogue's own words, a few of them asked often."""
    queries = long_tail(vocabulary_of(database_url), LONGTAIL_POOL, seed=seed)
    by_path = {query.path: query for query in queries}
    paths = Zipf(list(by_path))

    def pick(rng: random.Random) -> tuple[str, str, str]:
        query = by_path[paths.pick(rng)]
        return query.kind, query.shape, query.path

    return pick


def reader(
    index: int,
    port: int,
    movie_ids: Sequence[int],
    deadline: float,
    recorder: Recorder,
    pick: Pick = legacy_mix,
) -> None:
    rng = random.Random(index)
    client = Client(port)
    try:
        while time.perf_counter() < deadline:
            kind, label, path = pick(rng)
            if "{id}" in path:
                path = path.format(id=rng.choice(movie_ids))
            recorder.record(kind, label, path, client.send("GET", path), 200)
    finally:
        client.close()


class Writer:
    """A staff client creating, changing and deleting its own movies."""

    def __init__(
        self,
        index: int,
        port: int,
        token: str,
        run_id: str,
        genres: Sequence[str],
        recorder: Recorder,
    ) -> None:
        self.index = index
        self.client = Client(port, token)
        self.run_id = run_id
        self.genres = list(genres)
        self.recorder = recorder
        self.rng = random.Random(1000 + index)
        self.movies: list[TrackedMovie] = []
        self.live: list[TrackedMovie] = []

    def run(self, deadline: float, interval: float | None = None) -> None:
        """Write until ``deadline``: one write every ``interval`` seconds, or without pause."""
        started = time.perf_counter()
        try:
            for number in itertools.count():
                if interval is not None:
                    time.sleep(max(0.0, started + number * interval - time.perf_counter()))
                if time.perf_counter() >= deadline:
                    return
                operation = "create"
                if len(self.live) >= 3:
                    operation = self.rng.choices(
                        list(WRITE_WEIGHTS), list(WRITE_WEIGHTS.values())
                    )[0]
                getattr(self, operation)()
        finally:
            self.client.close()

    def some_genres(self) -> list[str]:
        return self.rng.sample(self.genres, self.rng.randint(1, min(3, len(self.genres))))

    def create(self) -> None:
        # Fixed width: no token is a substring of another, so a search finds one movie.
        movie = TrackedMovie(f"{self.run_id}w{self.index}n{len(self.movies):06d}")
        self.movies.append(movie)
        body = {
            "name": f"{NAME_PREFIX} {movie.token}",
            "director": DIRECTOR,
            "popularity": round(self.rng.uniform(0, 100), 1),
            "imdb_score": round(self.rng.uniform(1, 10), 1),
            "genre": self.some_genres(),
        }
        answer = self.client.send("POST", "/api/movies", body, staff=True)
        if not self.recorder.record("create", "create", "/api/movies", answer, 201):
            movie.uncertain = f"create answered {answer.status or answer.error}"
            return
        data = answer.json()
        movie.id, movie.state, movie.writes = data["id"], movie_state(data), 1
        self.expect_echo(movie, movie_state(body), "create")
        self.live.append(movie)
        self.read_after_write(movie)

    def update(self) -> None:
        movie = self.rng.choice(self.live)
        change: dict[str, Any] = {}
        choice = self.rng.random()
        if choice < 0.6:
            change["imdb_score"] = round(self.rng.uniform(1, 10), 1)
        if choice >= 0.4:
            change["genre"] = self.some_genres()
        path = f"/api/movies/{movie.id}"
        answer = self.client.send("PATCH", path, change, staff=True)
        if not self.recorder.record("update", "update", path, answer, 200):
            self.lose_track(movie, f"update answered {answer.status or answer.error}")
            return
        expected = movie_state({**movie.state, **change})
        movie.state = movie_state(answer.json())
        movie.writes += 1
        self.expect_echo(movie, expected, "update")
        self.read_after_write(movie)

    def delete(self) -> None:
        movie = self.rng.choice(self.live)
        path = f"/api/movies/{movie.id}"
        answer = self.client.send("DELETE", path, staff=True)
        if not self.recorder.record("delete", "delete", path, answer, 204):
            self.lose_track(movie, f"delete answered {answer.status or answer.error}")
            return
        movie.deleted, movie.writes = True, movie.writes + 1
        self.live.remove(movie)
        self.read_after_write(movie)

    def lose_track(self, movie: TrackedMovie, reason: str) -> None:
        movie.uncertain = reason
        self.live.remove(movie)

    def expect_echo(self, movie: TrackedMovie, expected: dict[str, Any], write: str) -> None:
        if movie.state != expected:
            self.recorder.stale_reads.append(
                {
                    "check": f"{write} response",
                    "movie": movie.id,
                    "expected": expected,
                    "found": movie.state,
                }
            )
            movie.state = expected

    def read_after_write(self, movie: TrackedMovie) -> None:
        """An anonymous search for the movie must show the write that was just acknowledged."""
        terms = [movie.token]
        if movie.state and movie.state["genre"] and not movie.deleted:
            terms.append(movie.state["genre"][0])  # a search must follow genre changes too
        path = "/api/movies?search=" + quote(",".join(terms), safe=",")
        answer = self.client.send("GET", path)
        self.recorder.read_after_write_checks += 1
        if not self.recorder.record("read after write", "read after write", path, answer, 200):
            return
        found = [movie_state(row) for row in answer.json()["results"]]
        expected = [] if movie.deleted else [movie.state]
        if found != expected:
            self.recorder.stale_reads.append(
                {
                    "check": "search right after the write",
                    "movie": movie.id,
                    "path": path,
                    "expected": expected,
                    "found": found,
                }
            )


# -- the workers, sampled ------------------------------------------------------


def sample_processes(
    pids: Sequence[int],
    database: str,
    run_started: float,
    stop: threading.Event,
    samples: list[dict[str, Any]],
) -> None:
    """Every second: each worker's VmRSS and every process's CPU time."""
    while True:
        samples.append(
            {
                "at_seconds": round(time.perf_counter() - run_started, 2),
                "rss_kb": {str(pid): harness.rss_kb(pid) for pid in pids},
                "processes": harness.process_table(),
            }
        )
        if stop.wait(1.0):
            return


def cpu_by_process(
    samples: Sequence[dict[str, Any]], start: float, end: float
) -> dict[int, tuple[str, float]]:
    """CPU seconds each process used between two times, to a second's accuracy.

    Processes come and go (database connections are renewed after
    CONN_MAX_AGE), so each is followed from its last sample before the start,
    or from zero when it started later.
    """
    first: dict[int, float] = {}
    last: dict[int, tuple[str, float]] = {}
    for sample in samples:
        if sample["at_seconds"] > end:
            break
        for pid, (name, cpu) in sample["processes"].items():
            if sample["at_seconds"] <= start or pid not in first:
                first[pid] = cpu if sample["at_seconds"] <= start else 0.0
            last[pid] = (name, cpu)
    return {pid: (name, cpu - first[pid]) for pid, (name, cpu) in last.items()}


def cpu_breakdown(
    samples: Sequence[dict[str, Any]],
    start: float,
    end: float,
    database: str,
    ours: Sequence[int],
) -> dict[str, Any]:
    """CPU seconds of the database's backends, its autovacuum, and the busiest other processes."""
    used = cpu_by_process(samples, start, end)
    backends = autovacuum = 0.0
    others: list[dict[str, Any]] = []
    for pid, (name, cpu) in used.items():
        if harness.serves_database(name, database):
            if "autovacuum" in name.split():
                autovacuum += cpu
            else:
                backends += cpu
        elif pid not in ours and cpu >= 0.5:
            others.append({"process": name, "cpu_seconds": round(cpu, 1)})
    others.sort(key=lambda other: -other["cpu_seconds"])
    return {
        "database_backends": round(backends, 1),
        "database_autovacuum": round(autovacuum, 1),
        "busiest_other_processes": others[:8],
    }


def memory_summary(
    pids: Sequence[int], samples: Sequence[dict[str, Any]], warmup: float, end: float
) -> list[dict[str, Any]]:
    """Per worker: VmRSS at the end of the warm-up, at the end, and the growth between."""
    workers = []
    for pid in pids:
        series = [
            (sample["at_seconds"], sample["rss_kb"][str(pid)])
            for sample in samples
            if sample["rss_kb"][str(pid)] is not None
        ]
        after_warmup = next((kb for at, kb in series if at >= warmup), None)
        at_end = [kb for at, kb in series if at <= end]
        if after_warmup is None or not at_end:
            workers.append({"pid": pid, "error": "no VmRSS samples"})
            continue
        growth = (at_end[-1] - after_warmup) / after_warmup
        workers.append(
            {
                "pid": pid,
                "first_mb": round(series[0][1] / 1024, 1),
                "after_warmup_mb": round(after_warmup / 1024, 1),
                "end_mb": round(at_end[-1] / 1024, 1),
                "max_mb": round(max(kb for _, kb in series) / 1024, 1),
                "growth": round(growth, 4),
            }
        )
    return workers


# -- the database, read directly ----------------------------------------------


def count_movies(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as connection:
        (count,) = connection.execute("SELECT count(*) FROM catalog_movie").fetchone() or (0,)
    return count


def stored_movies(database_url: str, run_id: str) -> dict[int, dict[str, Any]]:
    """This run's movies as the database holds them, by id."""
    import psycopg

    movies: dict[int, dict[str, Any]] = {}
    with psycopg.connect(database_url) as connection:
        rows = connection.execute(
            "SELECT m.id, m.name, m.director, m.popularity, m.imdb_score, g.name "
            "FROM catalog_movie m "
            "LEFT JOIN catalog_movie_genres mg ON mg.movie_id = m.id "
            "LEFT JOIN catalog_genre g ON g.id = mg.genre_id "
            "WHERE m.name LIKE %s",
            [f"{NAME_PREFIX} {run_id}%"],
        ).fetchall()
    for movie_id, name, director, popularity, imdb_score, genre in rows:
        movie = movies.setdefault(
            movie_id,
            {"name": name, "director": director, "popularity": popularity},
        )
        movie["imdb_score"] = imdb_score
        movie.setdefault("genre", [])
        if genre is not None:
            movie["genre"].append(genre)
    return {movie_id: movie_state(movie) for movie_id, movie in movies.items()}


# -- checks after the run -----------------------------------------------------


def verify_writes(
    port: int, database_url: str, run_id: str, movies: Sequence[TrackedMovie]
) -> dict[str, Any]:
    """Every acknowledged write, through the API and in the database."""
    acknowledged = [movie for movie in movies if movie.uncertain is None]
    surviving = {
        movie.id: movie for movie in acknowledged if movie.id is not None and not movie.deleted
    }
    uncertain_names = {f"{NAME_PREFIX} {movie.token}" for movie in movies if movie.uncertain}
    lost: list[dict[str, Any]] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(path: str) -> tuple[int, bytes]:
        status, _, body = harness.http_get(port, path, connection)
        return status, body

    for movie in acknowledged:
        status, body = get(f"/api/movies/{movie.id}")
        if movie.deleted:
            if status != 404:
                lost.append(
                    {"check": "detail", "movie": movie.id, "expected": 404, "found": status}
                )
            continue
        found = movie_state(json.loads(body)) if status == 200 else status
        if found != movie.state:
            lost.append(
                {"check": "detail", "movie": movie.id, "expected": movie.state, "found": found}
            )

    searched: dict[int, dict[str, Any]] = {}
    offset = 0
    while True:
        status, body = get(f"/api/movies?search={run_id}&limit=100&offset={offset}")
        if status != 200:
            raise harness.BenchError(f"the search for {run_id} answered {status}: {body[:300]!r}")
        page = json.loads(body)
        searched.update({row["id"]: movie_state(row) for row in page["results"]})
        if not page["next"]:
            break
        offset += 100
    connection.close()

    stored = stored_movies(database_url, run_id)
    for source, found_movies in (("search", searched), ("database", stored)):
        for movie_id, movie in surviving.items():
            if found_movies.get(movie_id) != movie.state:
                lost.append(
                    {
                        "check": source,
                        "movie": movie_id,
                        "expected": movie.state,
                        "found": found_movies.get(movie_id),
                    }
                )
        for movie_id, found in found_movies.items():
            if movie_id not in surviving and found["name"] not in uncertain_names:
                lost.append({"check": source, "movie": movie_id, "expected": None, "found": found})
    return {
        "movies_written": len(movies),
        "movies_acknowledged": len(acknowledged),
        "surviving": len(surviving),
        "deleted": sum(movie.deleted for movie in acknowledged),
        "uncertain": [
            {"token": movie.token, "id": movie.id, "reason": movie.uncertain}
            for movie in movies
            if movie.uncertain
        ],
        "found_by_search": len(searched),
        "found_in_database": len(stored),
        "lost": lost,
    }


# -- statistics -----------------------------------------------------------------


def latency(samples_ms: Sequence[float], seconds: float) -> dict[str, Any]:
    if not samples_ms:
        return {"requests": 0}
    return {
        "requests": len(samples_ms),
        "requests_per_second": round(len(samples_ms) / seconds, 1),
        "p50_ms": round(harness.percentile(samples_ms, 50), 1),
        "p95_ms": round(harness.percentile(samples_ms, 95), 1),
        "p99_ms": round(harness.percentile(samples_ms, 99), 1),
        "max_ms": round(max(samples_ms), 1),
        "mean_ms": round(statistics.fmean(samples_ms), 1),
    }


def summarise_samples(
    samples: Sequence[tuple[str, str, float, float, int | None]],
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    measured = [sample for sample in samples if warmup <= sample[2] < warmup + duration]
    kinds: dict[str, list[float]] = {}
    labels: dict[str, list[float]] = {}
    for kind, label, _, elapsed_ms, _ in measured:
        kinds.setdefault(kind, []).append(elapsed_ms)
        labels.setdefault(f"{kind}: {label}", []).append(elapsed_ms)
    ordered = sorted(kinds, key=lambda kind: KIND_ORDER.index(kind))
    reads = [ms for kind, _, _, ms, _ in measured if kind not in EXPECTED_STATUS]
    writes = [ms for kind, _, _, ms, _ in measured if kind in EXPECTED_STATUS]
    return {
        "overall": latency([sample[3] for sample in measured], duration),
        "reads": latency(reads, duration),
        "writes": latency(writes, duration),
        "by_kind": {kind: latency(kinds[kind], duration) for kind in ordered},
        "by_request": {label: latency(values, duration) for label, values in labels.items()},
    }


def count_errors(
    samples: Sequence[tuple[str, str, float, float, int | None]], failures: Sequence[dict]
) -> dict[str, Any]:
    server = sum(1 for sample in samples if sample[4] is not None and sample[4] >= 500)
    socket = sum(1 for sample in samples if sample[4] is None)
    return {
        "total": len(failures),
        "server_errors": server,
        "socket_errors": socket,
        "unexpected_status": len(failures) - server - socket,
        "examples": sorted(failures, key=lambda failure: failure["at_seconds"])[:EXAMPLES_KEPT],
    }


# -- setup ----------------------------------------------------------------------


def manage(app_dir: Path, env: dict[str, str], *args: str) -> str:
    return harness.run([sys.executable, str(app_dir / "manage.py"), *args], env=env)


def staff_token(app_dir: Path, env: dict[str, str]) -> str:
    """An API token of a staff account, created in the benchmark's database if absent."""
    account = {
        **env,
        "DJANGO_SUPERUSER_USERNAME": STAFF_USERNAME,
        "DJANGO_SUPERUSER_PASSWORD": secrets.token_urlsafe(24),
        "DJANGO_SUPERUSER_EMAIL": f"{STAFF_USERNAME}@example.com",
    }
    try:
        manage(app_dir, account, "createsuperuser", "--noinput")
    except harness.BenchError as error:
        if "already taken" not in str(error):
            raise
    return manage(app_dir, env, "api_token", "issue", STAFF_USERNAME).splitlines()[-1].strip()


def catalogue_facts(port: int) -> tuple[list[int], list[str]]:
    """Ids of movies to read in detail, and genre names for the writers."""
    ids: list[int] = []
    for ordering in ("-popularity", "name", "imdb_score"):
        status, _, body = harness.http_get(port, f"/api/movies?ordering={ordering}&limit=100")
        if status != 200:
            raise harness.BenchError(f"/api/movies answered {status}: {body[:300]!r}")
        ids += [row["id"] for row in json.loads(body)["results"] if row["id"] not in ids]
    status, _, body = harness.http_get(port, "/api/genres?limit=100")
    if status != 200:
        raise harness.BenchError(f"/api/genres answered {status}: {body[:300]!r}")
    genres = [row["name"] for row in json.loads(body)["results"]]
    if not ids or not genres:
        raise harness.BenchError("the catalogue has no movies or no genres")
    return ids, genres


# -- the run ----------------------------------------------------------------------


def run_load(
    server: harness.Gunicorn,
    args: argparse.Namespace,
    token: str,
    run_id: str,
    *,
    port: int,
    proxy_pids: Sequence[int] = (),
    pick: Pick = legacy_mix,
) -> dict[str, Any]:
    """The load, its checks and measures; clients send to ``port`` (nginx's, or gunicorn's)."""
    movie_ids, genres = catalogue_facts(port)
    # Writers share the rate asked for; without one they write as fast as they are answered.
    interval = None
    if args.writes_per_second:
        interval = args.writers / args.writes_per_second
    pids = harness.worker_pids(server.pid)
    if len(pids) != 2:
        raise harness.BenchError(f"expected 2 gunicorn workers, found {pids}")
    run_started = time.perf_counter()
    deadline = run_started + args.warmup + args.duration
    stop = threading.Event()
    memory: list[dict[str, Any]] = []
    recorders = [Recorder(run_started) for _ in range(args.connections)]
    writers = [
        Writer(index, port, token, run_id, genres, recorders[index])
        for index in range(args.writers)
    ]
    crashes: list[str] = []

    def guarded(target: Callable[..., None], *target_args: Any) -> threading.Thread:
        def body() -> None:
            try:
                target(*target_args)
            except Exception:
                crashes.append(traceback.format_exc())

        return threading.Thread(target=body)

    database = urlsplit(args.database_url).path.lstrip("/")
    threads = [guarded(sample_processes, pids, database, run_started, stop, memory)]
    threads += [guarded(writer.run, deadline, interval) for writer in writers]
    threads += [
        guarded(reader, index, port, movie_ids, deadline, recorders[index], pick)
        for index in range(args.writers, args.connections)
    ]
    load_before = os.getloadavg()
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, run_started + args.warmup - time.perf_counter()))
    metrics_after_warmup = server.metrics()
    lookups_after_warmup = cache_lookups(server.port)
    cpu_before = harness.CpuSnapshot.take()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    cpu_after = harness.CpuSnapshot.take()
    if crashes:
        raise harness.BenchError("a client failed:\n" + crashes[0])
    routes = harness.metrics_delta(metrics_after_warmup, server.metrics())
    lookups = {
        outcome: count - lookups_after_warmup.get(outcome, 0)
        for outcome, count in cache_lookups(server.port).items()
    }
    load_after = os.getloadavg()

    pids_after = harness.worker_pids(server.pid)
    samples = [sample for recorder in recorders for sample in recorder.samples]
    failures = [failure for recorder in recorders for failure in recorder.failures]
    stale = [read for recorder in recorders for read in recorder.stale_reads]
    movies = [movie for writer in writers for movie in writer.movies]
    harness.say(f"[{args.label}] load done: {len(samples):,} requests; checking the writes")
    writes = verify_writes(port, args.database_url, run_id, movies)
    acknowledged = {
        kind: sum(1 for sample in samples if sample[0] == kind and sample[4] == status)
        for kind, status in EXPECTED_STATUS.items()
    }
    writes["acknowledged"] = {**acknowledged, "total": sum(acknowledged.values())}
    writes["read_after_write_checks"] = sum(r.read_after_write_checks for r in recorders)
    writes["stale_reads"] = stale
    return {
        "latency": summarise_samples(samples, args.warmup, args.duration),
        "requests_including_warmup": len(samples),
        "errors": count_errors(samples, failures),
        "errors_during_warmup": sum(
            1 for failure in failures if failure["at_seconds"] < args.warmup
        ),
        "writes": writes,
        "memory": {
            "workers": memory_summary(pids, memory, args.warmup, args.warmup + args.duration),
            "worker_pids_before": pids,
            "worker_pids_after": pids_after,
            "workers_recycled": pids_after != pids,
            "samples": [
                {"at_seconds": sample["at_seconds"], "rss_kb": sample["rss_kb"]}
                for sample in memory
            ],
        },
        "routes": routes,
        "response_cache": {
            "hits": lookups.get("hit", 0),
            "misses": lookups.get("miss", 0),
            "hit_ratio": round(lookups.get("hit", 0) / sum(lookups.values()), 4)
            if sum(lookups.values())
            else None,
            "note": "lookups of anonymous reads after the warm-up (bench.counted_wsgi)",
        },
        # After the warm-up: where the machine's CPU went (the client shares it).
        "cpu_seconds": {
            "available": args.duration * len(os.sched_getaffinity(0)),
            "machine_busy": round(cpu_after.machine - cpu_before.machine, 1),
            "gunicorn_workers": round(cpu_after.of(pids) - cpu_before.of(pids), 1),
            "nginx": round(cpu_after.of(proxy_pids) - cpu_before.of(proxy_pids), 1),
            "load_client": round(cpu_after.own - cpu_before.own, 1),
            **cpu_breakdown(
                memory,
                args.warmup,
                args.warmup + args.duration,
                database,
                [*pids, *proxy_pids, server.pid, os.getpid()],
            ),
        },
        "load_average_before": [round(value, 2) for value in load_before],
        "load_average_after": [round(value, 2) for value in load_after],
        "detail_movie_ids": len(movie_ids),
        "genres_written": genres,
    }


def cache_lookups(port: int) -> dict[str, int]:
    """The response cache's lookups so far by outcome (hit, miss), from gunicorn's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = harness.http_get(port, "/metrics")
    if status != 200:
        raise harness.BenchError(f"/metrics answered {status}")
    return {
        sample.labels["outcome"]: int(sample.value)
        for family in text_string_to_metric_families(body.decode())
        if family.name == CACHE_LOOKUPS
        for sample in family.samples
        if sample.name == f"{CACHE_LOOKUPS}_total"
    }


def targets(measured: dict[str, Any]) -> list[dict[str, Any]]:
    errors = measured["errors"]
    writes = measured["writes"]
    memory = measured["memory"]
    worst = max((worker.get("growth", float("inf")) for worker in memory["workers"]), default=0)
    growth = ", ".join(
        f"{worker['after_warmup_mb']:.0f} → {worker['end_mb']:.0f} MB ({worker['growth']:+.1%})"
        for worker in memory["workers"]
        if "growth" in worker
    )
    p95 = measured["latency"]["overall"].get("p95_ms")
    return [
        {
            "target": f"p95 < {TARGET_P95_MS:g} ms",
            "measured": f"p95 {p95} ms",
            "met": p95 is not None and p95 < TARGET_P95_MS,
        },
        {
            "target": "no errors: no 5xx, no socket error, no unexpected status",
            "measured": f"{errors['server_errors']} 5xx, {errors['socket_errors']} socket errors, "
            f"{errors['unexpected_status']} unexpected statuses",
            "met": errors["total"] == 0,
        },
        {
            "target": "no lost writes: API, search and database agree with every acknowledged "
            "write",
            "measured": f"{writes['acknowledged']['total']} writes acknowledged, "
            f"{len(writes['lost'])} mismatches",
            "met": not writes["lost"],
        },
        {
            "target": "the answer to a write, and a search right after it, show the write",
            "measured": f"{writes['read_after_write_checks']} checks, "
            f"{len(writes['stale_reads'])} stale",
            "met": not writes["stale_reads"],
        },
        {
            "target": f"worker memory growth after warm-up < {TARGET_MEMORY_GROWTH:.0%}",
            "measured": growth + ("; workers were recycled" if memory["workers_recycled"] else ""),
            "met": worst < TARGET_MEMORY_GROWTH and not memory["workers_recycled"],
        },
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(
        parser, description="a PostgreSQL catalogue this benchmark may write to"
    )
    parser.add_argument("--label", default="postgres-1m", help="names the result: load-LABEL.json")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="emptied at the start")
    parser.add_argument("--duration", type=int, default=60, help="measured seconds (default 60)")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before (10)")
    parser.add_argument("--connections", type=int, default=32, help="clients (default 32)")
    parser.add_argument("--writers", type=int, default=4, help="of which staff writers (4)")
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=None,
        help="writes a second, shared by the writers (0: none); default: as fast as answered",
    )
    parser.add_argument(
        "--mix",
        choices=("legacy", "longtail"),
        default="legacy",
        help="the reads: the legacy service's examples (default), or the long tail of the "
        f"catalogue's words ({LONGTAIL_POOL:,} distinct requests, the first asked most)",
    )
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument(
        "--no-proxy",
        dest="proxy",
        action="store_false",
        help="send to gunicorn directly, without nginx (deploy/nginx.conf) in front",
    )
    harness.add_source_argument(parser)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if harness.engine_of(args.database_url) != "postgresql":
        parser.error("--database-url must be a PostgreSQL database")
    if args.writes_per_second == 0:
        args.writers = 0
    if args.writes_per_second is not None and args.writes_per_second < 0:
        parser.error("--writes-per-second must be 0 or more")
    if not 0 <= args.writers < args.connections or (args.writers == 0) != (
        args.writes_per_second == 0
    ):
        parser.error(
            "--writers must be fewer than --connections, and 0 only with --writes-per-second 0"
        )
    if args.duration < 1 or args.warmup < 1:
        parser.error("--duration and --warmup must be at least 1 second")
    if args.proxy and nginx_binary() is None:
        parser.error("nginx is not installed (apt-get install nginx), or pass --no-proxy")
    return harness.measure_and_publish(
        lambda: measure(args), args.results_dir / f"load-{args.label}.json"
    )


def measure(args: argparse.Namespace) -> dict[str, Any]:
    kept_log: Path | None = None
    with harness.scratch_dir("movies-bench-load-") as workdir:
        machine = harness.machine_facts(args.database_url)
        machine.update(harness.server_versions(args.redis_url))
        machine["nginx"] = harness.tool_version(
            [nginx_binary() or "nginx", "-v"], r"nginx/([\d.]+)"
        )
        harness.run(["redis-cli", "-u", args.redis_url, "FLUSHDB"])
        app_dir = harness.app_snapshot(args.source, workdir)
        code = harness.code_facts(app_dir, args.source)
        env = harness.app_environment(args.database_url, REDIS_URL=args.redis_url, DEBUG="0")
        # For bench.counted_wsgi, served in place of config.wsgi.
        env["PYTHONPATH"] = str(harness.REPO_ROOT)
        for name in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY", "PORT"):
            env.pop(name, None)  # the settings file and this command line decide
        # nginx appends the client's address to X-Forwarded-For.
        env["NUM_PROXIES"] = "1" if args.proxy else "0"
        # As the release step does: the measured code may need tables the copy lacks.
        manage(app_dir, env, "migrate", "--no-input", "--verbosity", "0")
        token = staff_token(app_dir, env)
        movies = count_movies(args.database_url)
        run_id = "lb" + secrets.token_hex(4)
        harness.say(
            f"[{args.label}] {movies:,} movies; {args.connections} clients "
            f"({args.writers} writing) for {args.warmup} + {args.duration} s; run {run_id}"
        )
        with (
            harness.ProductionGunicorn(
                "bench.counted_wsgi:application",
                chdir=app_dir,
                env=env,
                ready_path="/healthz",
                metrics=True,
            ) as server,
            ExitStack() as stack,
        ):
            command = server.command
            port, proxy_pids = server.port, []
            if args.proxy:
                nginx = stack.enter_context(
                    Nginx(port=harness.free_port(), upstream=f"127.0.0.1:{server.port}")
                )
                port, master = nginx.port, harness.pid_of(nginx.process)
                proxy_pids = [master, *harness.worker_pids(master)]
            pick = longtail_mix(args.database_url) if args.mix == "longtail" else legacy_mix
            measured = run_load(
                server, args, token, run_id, port=port, proxy_pids=proxy_pids, pick=pick
            )
            met = all(target["met"] for target in targets(measured))
            if not met:
                # The log holds the app's tracebacks; the server deletes it on a clean exit.
                kept_log = Path(tempfile.gettempdir()) / f"movies-bench-load-{run_id}.log"
                shutil.copyfile(server.log, kept_log)
                harness.say(f"a target was missed; the gunicorn log is kept at {kept_log}")
        result: dict[str, Any] = {
            "benchmark": "load",
            "label": args.label,
            "database": "postgresql",
            "database_url": args.database_url,
            "movies": movies,
            "run_id": run_id,
            "connections": args.connections,
            "writers": args.writers,
            "writes_per_second": args.writes_per_second,
            "mix": args.mix,
            "readers": args.connections - args.writers,
            "warmup_seconds": args.warmup,
            "duration_seconds": args.duration,
            "proxy": {"nginx": "deploy/nginx.conf"} if args.proxy else None,
            "gunicorn": {
                "command": " ".join(command),
                "workers": 2,
                "worker_class": "sync (config.gunicorn_json.JSONErrorSyncWorker)",
                "max_requests": 0,
                "note": "sync workers close the connection after each response, so every "
                "request opens a new loopback TCP connection to gunicorn (from nginx, "
                "which keeps the clients' connections open, unless --no-proxy)",
            },
            "settings": {
                "DEBUG": env["DEBUG"],
                "REDIS_URL": args.redis_url,
                "THROTTLE_ANON_RATE": env["THROTTLE_ANON_RATE"],
                "THROTTLE_USER_RATE": env["THROTTLE_USER_RATE"],
                "PROMETHEUS_MULTIPROC_DIR": "a temporary directory",
                "LOG_LEVEL": env["LOG_LEVEL"],
                "NUM_PROXIES": env["NUM_PROXIES"],
                "CONN_MAX_AGE": env.get("CONN_MAX_AGE", "60 (default)"),
            },
            "read_mix": [
                {"kind": kind, "label": label, "path": path, "weight": weight}
                for kind, label, path, weight in READ_MIX
            ]
            if args.mix == "legacy"
            else f"{LONGTAIL_POOL:,} long-tail requests (bench.longtail_queries, seed 0), "
            "picked by Zipf over their order",
            "write_mix": {
                "weights": WRITE_WEIGHTS,
                "note": "a writer creates until it has 3 movies of its own; an update "
                "changes imdb_score, genres or both; each acknowledged write is followed "
                "by an anonymous search for the movie (read after write)",
            },
            **measured,
            "targets": targets(measured),
            "gunicorn_log": str(kept_log) if kept_log else None,
            "machine": machine,
            "code": code,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        harness.warn_if_code_changed(app_dir, code, result)
        return result


if __name__ == "__main__":
    sys.exit(main())
