"""How well search ranks the movie a person is looking for: labelled queries, scored.

``python -m bench.search_quality [--database-url URL] [--generated N] [--label L]
[--out FILE] [--kinds K,...] [--limit-queries N] [--seed S] [--source worktree]``

Every movie of ``fixtures/imdb.json`` gives labelled queries, each of a kind,
with the movie it looks for as its target (a hit is that exact movie, by name
and director: of two "Batman", only the one asked for counts):

- ``exact``: the full title;
- ``prefix-40``, ``prefix-60``, ``prefix-80``: the title's first 40, 60 or 80%
  of characters, rounded up, at least 2 (the whole title when shorter), as a
  person typing it;
- ``typo-1``: one edit (a letter inserted, deleted or replaced, or two
  neighbours swapped) in one word of 5 or more letters, the rest of the title
  kept; titles without such a word give none;
- ``typo-2``: two edits in one word of 9 or more letters;
- ``misspelt-word``: one word of 5 or more letters with one edit, alone.

Words are runs of letters; a word written with a digit ("Se7en", "8½") is
never edited, so numbers stay exact. An edit always changes the word as
search compares it (case and accents folded): the edited word is exactly one
(or two) edits from the original. Queries depend only on the fixture, the
kind, the movie and ``--seed``, so every run asks the same ones;
``--limit-queries`` keeps a fixed sample of each kind for quick runs.

Each query goes to the movie list (``GET /api/movies?search=TEXT&limit=20``, in
its default order) and to the suggestions (``GET /api/movies/suggest?q=TEXT
&limit=8``); a query of a typo kind whose list answer carries a
``did_you_mean`` is asked again with that text. Per endpoint and kind: top-1
and top-5 hit rates, the mean reciprocal rank within the first page (0 when
the target is not on it) and how often nothing was found.

Two settings, each in a database of its own, migrated and filled with
``manage.py populate_db``: the fixture alone, and the fixture among
``--generated`` (default 100,000; 0 skips it) movies of ``bench.generate``,
without the generated movies whose (name, director) is a fixture movie's (the
importer would merge the two). By default each database is a temporary
SQLite file; ``--database-url`` names a PostgreSQL server instead, on which a
scratch database is created per setting and dropped at the end (its role
needs CREATEDB, and the right to create the pg_trgm extension).

The requests run in a child process that imports a snapshot of the app
(``harness.run_in_app``), through Django's test ``Client`` and the full
middleware stack, with DEBUG off, throttling off and the response cache
cleared before each request. The result goes to ``search-quality-<label>.json``
in the results directory (``--results-dir``, see bench.report), or to
``--out``, with the machine's and the code's facts, and its tables
(``bench.report``) are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import re
import secrets
import statistics
import sys
import time
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import generate, harness

FIXTURE = harness.REPO_ROOT / "fixtures" / "imdb.json"
LIST_PATH = "/api/movies"
SUGGEST_PATH = "/api/movies/suggest"
LIST_LIMIT = 20
SUGGEST_LIMIT = 8
TOP = 5
DEFAULT_GENERATED = 100_000
DEFAULT_SEED = 0
PREFIX_KINDS = {"prefix-40": 40, "prefix-60": 60, "prefix-80": 80}
# The typo kinds: the fewest letters of the word edited, and how many edits.
TYPO_KINDS = {"typo-1": (5, 1), "typo-2": (9, 2), "misspelt-word": (5, 1)}
KINDS = ("exact", *PREFIX_KINDS, *TYPO_KINDS)
MIN_PREFIX = 2
EDITS = ("insert", "delete", "substitute", "swap")
TYPED_LETTERS = "abcdefghijklmnopqrstuvwxyz"
EDIT_ATTEMPTS = 100
MISS_EXAMPLES = 5
PROGRESS_EVERY = 1_000


@dataclass(frozen=True)
class Target:
    """A goal of the search, as its specification states it."""

    text: str
    endpoint: str  # "list", "suggest" or "did_you_mean"
    kind: str
    metric: str  # a key of the kind's scores
    threshold: float


TARGETS = (
    Target("exact title first", "list", "exact", "top1", 0.97),
    Target("60% of the title typed → suggestions' top 5", "suggest", "prefix-60", "top5", 0.85),
    Target(
        "one typo in a word of 5+ letters → suggestions' top 5", "suggest", "typo-1", "top5", 0.90
    ),
    Target(
        "two typos in a word of 9+ letters → suggestions' top 5", "suggest", "typo-2", "top5", 0.75
    ),
    Target("did_you_mean leads to the movie (one typo)", "did_you_mean", "typo-1", "leads", 0.85),
    Target("did_you_mean leads to the movie (two typos)", "did_you_mean", "typo-2", "leads", 0.85),
)


# -- text as the catalogue stores and search compares it ---------------------------


def stored(text: str) -> str:
    """Text as the catalogue stores it: NFC, trimmed, whitespace runs made one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def identity(name: str, director: str) -> tuple[str, str]:
    """What identifies a movie: its stored (name, director)."""
    return stored(name), stored(director)


def folded(text: str) -> str:
    """Text as search compares it: accents stripped, case folded (catalog.search.normalise)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``.

    The optimal string alignment distance: no substring is edited twice.
    """
    before = None
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (char_a != char_b),
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                assert before is not None
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[-1]


# -- the labelled queries -------------------------------------------------------------


@dataclass(frozen=True)
class LabelledQuery:
    kind: str
    text: str
    name: str  # the target movie's
    director: str


_TOKEN = re.compile(r"\S+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


def word_spans(title: str, min_letters: int) -> list[tuple[int, int]]:
    """Where the title's words of ``min_letters`` letters or more are, if no digit is in them."""
    spans = []
    for token in _TOKEN.finditer(title):
        if any(char.isnumeric() for char in token.group()):
            continue
        for run in _LETTER_RUN.finditer(token.group()):
            if len(run.group()) >= min_letters:
                spans.append((token.start() + run.start(), token.start() + run.end()))
    return spans


def edited(word: str, rng: random.Random) -> str:
    """``word`` with one random edit, which may happen to change nothing."""
    operation = rng.choice(EDITS)
    if operation == "insert":
        at = rng.randrange(len(word) + 1)
        return word[:at] + rng.choice(TYPED_LETTERS) + word[at:]
    if operation == "delete":
        at = rng.randrange(len(word))
        return word[:at] + word[at + 1 :]
    if operation == "substitute":
        at = rng.randrange(len(word))
        letter = rng.choice([c for c in TYPED_LETTERS if c != folded(word[at])])
        return word[:at] + (letter.upper() if word[at].isupper() else letter) + word[at + 1 :]
    # The letters change places; the capitals stay where they were ("Afternoon", not "fAternoon").
    at = rng.randrange(len(word) - 1)
    left, right = word[at + 1], word[at]
    left = left.upper() if word[at].isupper() else left.lower()
    right = right.upper() if word[at + 1].isupper() else right.lower()
    return word[:at] + left + right + word[at + 2 :]


def misspelt(word: str, edits: int, rng: random.Random) -> str:
    """``word`` exactly ``edits`` edits away, as search compares words."""
    for _ in range(EDIT_ATTEMPTS):
        typo = word
        for _ in range(edits):
            typo = edited(typo, rng)
        if edit_distance(folded(word), folded(typo)) == edits:
            return typo
    raise harness.BenchError(f"no word {edits} edits from {word!r} in {EDIT_ATTEMPTS} attempts")


def query_text(kind: str, title: str, rng: random.Random) -> str | None:
    """The text of a query of ``kind`` for a movie of ``title``; None when it has none."""
    if kind == "exact":
        return title
    if kind in PREFIX_KINDS:
        share = PREFIX_KINDS[kind]
        cut = max(MIN_PREFIX, -(-len(title) * share // 100))
        return title[:cut]
    min_letters, edits = TYPO_KINDS[kind]
    spans = word_spans(title, min_letters)
    if not spans:
        return None
    start, end = rng.choice(spans)
    typo = misspelt(title[start:end], edits, rng)
    if kind == "misspelt-word":
        return typo
    return title[:start] + typo + title[end:]


def build_queries(
    movies: Sequence[dict[str, Any]], *, kinds: Sequence[str], seed: int, limit: int | None
) -> list[LabelledQuery]:
    """The labelled queries of ``kinds``, in fixture order, the same for the same seed.

    Each query's randomness is its own (seeded by seed, kind and movie), so a
    kind's queries do not depend on which other kinds are asked for. With
    ``limit``, a fixed sample of that many queries of each kind.
    """
    queries = []
    for kind in kinds:
        of_kind = []
        for index, movie in enumerate(movies):
            name, director = identity(movie["name"], movie["director"])
            text = query_text(kind, name, random.Random(f"{seed}:{kind}:{index}"))
            if text is not None:
                of_kind.append(LabelledQuery(kind, text, name, director))
        if limit is not None and limit < len(of_kind):
            chosen = random.Random(f"{seed}:{kind}:sample").sample(range(len(of_kind)), limit)
            of_kind = [of_kind[i] for i in sorted(chosen)]
        queries += of_kind
    return queries


# -- catalogues and databases ----------------------------------------------------------


def write_catalogue(
    path: Path, fixture: Sequence[dict[str, Any]], generated: int, seed: int
) -> dict[str, int]:
    """The fixture's movies after ``generated`` synthetic ones that are not among them."""
    taken = {identity(movie["name"], movie["director"]) for movie in fixture}
    dropped = 0
    with path.open("w", encoding="utf-8") as stream:
        stream.write("[")
        separator = "\n"
        for record in generate.generate_records(generated, seed):
            if identity(record["name"], record["director"]) in taken:
                dropped += 1
                continue
            stream.write(separator + json.dumps(record, ensure_ascii=False))
            separator = ",\n"
        for movie in fixture:
            stream.write(separator + json.dumps(movie, ensure_ascii=False))
            separator = ",\n"
        stream.write("\n]\n")
    return {
        "generated": generated,
        "generated_dropped_as_fixture_movies": dropped,
        "records": generated - dropped + len(fixture),
    }


def psql(url: str, sql: str) -> str:
    return harness.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-qtAc", sql])


@contextmanager
def scratch_database(server_url: str | None, directory: Path, setting: str) -> Iterator[str]:
    """An empty database for one setting, gone at the end; its DATABASE_URL.

    A SQLite file in ``directory``, or a database created on the PostgreSQL
    server of ``server_url`` (whose own database is only connected to).
    """
    if server_url is None:
        yield f"sqlite:///{directory / f'{setting}.sqlite3'}"
        return
    name = f"search_quality_{setting}_{secrets.token_hex(4)}"
    psql(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        psql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_catalogue(app_dir: Path, database_url: str, catalogue: Path) -> None:
    """Migrate the database and import the catalogue with the app's own commands."""
    env = harness.app_environment(database_url)
    env.pop("DATABASE_REPLICA_URLS", None)
    manage = [sys.executable, str(app_dir / "manage.py")]
    harness.run([*manage, "migrate", "--no-input", "--verbosity", "0"], env=env, cwd=app_dir)
    harness.run([*manage, "populate_db", str(catalogue), "--no-progress"], env=env, cwd=app_dir)


def server_url_without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", "@")))


# -- the child: asking the app --------------------------------------------------------


def movie_of(result: Any) -> tuple[str, str] | None:
    """The (name, director) of a movie in an answer; None for anything else."""
    if not isinstance(result, dict):
        return None
    name, director = result.get("name"), result.get("director")
    if not isinstance(name, str) or not isinstance(director, str):
        return None
    return identity(name, director)


def rank_of(results: Sequence[Any], target: tuple[str, str]) -> int | None:
    """The target's 1-based position among the results, None when absent."""
    for position, result in enumerate(results, start=1):
        if movie_of(result) == target:
            return position
    return None


def child(args: argparse.Namespace) -> int:
    """Ask every query of ``--queries`` and write what came back to ``--output``."""
    harness.setup_django(args.database_url)
    from django.core.cache import cache
    from django.test import Client

    from catalog.models import Movie

    # A refused query (400) is an outcome here, not news; static files are never served.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")
    client = Client(HTTP_HOST="127.0.0.1", HTTP_ACCEPT="application/json")
    client.raise_request_exception = False
    timings: dict[str, list[float]] = {"list": [], "suggest": [], "did_you_mean": []}

    def ask(endpoint: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        cache.clear()
        started = time.perf_counter()
        response = client.get(path, params)
        timings[endpoint].append((time.perf_counter() - started) * 1000)
        try:
            return response.status_code, json.loads(response.content)
        except ValueError:
            return response.status_code, None

    def answered(status: int, body: Any) -> list[Any] | None:
        ok = status == 200 and isinstance(body, dict) and isinstance(body.get("results"), list)
        return body["results"] if ok else None

    def first(results: list[Any] | None) -> list[str] | None:
        movie = movie_of(results[0]) if results else None
        return list(movie) if movie else None

    queries = json.loads(Path(args.queries).read_text())
    outcomes = []
    for number, query in enumerate(queries, start=1):
        target = (query["name"], query["director"])
        status, body = ask("list", LIST_PATH, {"search": query["text"], "limit": LIST_LIMIT})
        results = answered(status, body)
        listed: dict[str, Any] = {
            "status": status,
            "rank": rank_of(results or [], target),
            "found": len(results) if results is not None else None,
            "first": first(results),
        }
        correction = body.get("did_you_mean") if isinstance(body, dict) else None
        if query["kind"] in TYPO_KINDS and isinstance(correction, str) and correction:
            listed["did_you_mean"] = correction
            status, body = ask(
                "did_you_mean", LIST_PATH, {"search": correction, "limit": LIST_LIMIT}
            )
            listed["did_you_mean_status"] = status
            listed["did_you_mean_rank"] = rank_of(answered(status, body) or [], target)
        status, body = ask("suggest", SUGGEST_PATH, {"q": query["text"], "limit": SUGGEST_LIMIT})
        results = answered(status, body)
        suggested = {
            "status": status,
            "rank": rank_of(results or [], target),
            "found": len(results) if results is not None else None,
            "first": first(results),
        }
        outcomes.append({"list": listed, "suggest": suggested})
        if number % PROGRESS_EVERY == 0:
            harness.say(f"  {number:,} of {len(queries):,} queries")
    timing = {
        endpoint: {
            "requests": len(samples),
            "p50_ms": round(harness.percentile(samples, 50), 2),
            "p95_ms": round(harness.percentile(samples, 95), 2),
            "mean_ms": round(statistics.fmean(samples), 2),
        }
        for endpoint, samples in timings.items()
        if samples
    }
    output = {
        "movies": Movie.objects.count(),
        "outcomes": outcomes,
        "timing": timing,
    }
    Path(args.output).write_text(json.dumps(output, ensure_ascii=False))
    return 0


def ask_app(app_dir: Path, database_url: str, queries_file: Path) -> dict:
    argv = ["--measure", "--database-url", database_url, "--queries", str(queries_file)]
    return harness.results_of_child(
        "bench.search_quality", app_dir, argv, role="process asking the app"
    )


# -- scores ---------------------------------------------------------------------------


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def scores(queries: Sequence[LabelledQuery], outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Hit rates, mean reciprocal rank and misses of one endpoint's answers to ``queries``."""
    ranks = [outcome["rank"] for outcome in outcomes]
    title_first = [
        outcome["first"] is not None and folded(outcome["first"][0]) == folded(query.name)
        for query, outcome in zip(queries, outcomes, strict=True)
    ]
    misses = [
        {
            "query": query.text,
            "target": [query.name, query.director],
            "rank": outcome["rank"],
            "first": outcome["first"],
        }
        for query, outcome in zip(queries, outcomes, strict=True)
        if outcome["rank"] is None or outcome["rank"] > TOP
    ]
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        if outcome["status"] != 200:
            statuses[str(outcome["status"])] = statuses.get(str(outcome["status"]), 0) + 1
    return {
        "queries": len(ranks),
        "top1": share(sum(rank == 1 for rank in ranks), len(ranks)),
        "top5": share(sum(rank is not None and rank <= TOP for rank in ranks), len(ranks)),
        # Queries of one text for different movies ("Batman" and "Batman"): one of them at most
        # can be first.
        "top1_ceiling": share(len({folded(query.text) for query in queries}), len(ranks)),
        "mrr": round(statistics.fmean(1 / rank if rank else 0.0 for rank in ranks), 4)
        if ranks
        else None,
        "title_first": share(sum(title_first), len(ranks)),
        "nothing_found": share(sum(outcome["found"] == 0 for outcome in outcomes), len(ranks)),
        "errors": statuses,
        "misses": misses[:MISS_EXAMPLES],
    }


def did_you_mean_scores(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """How often the list found nothing and offered a correction, and where it led."""
    total = len(outcomes)
    empty = [outcome for outcome in outcomes if outcome["found"] == 0]
    offered = [outcome for outcome in outcomes if "did_you_mean" in outcome]
    leads = [
        outcome
        for outcome in offered
        if outcome["did_you_mean_rank"] is not None and outcome["did_you_mean_rank"] <= TOP
    ]
    return {
        "queries": total,
        "nothing_found": share(len(empty), total),
        "offered_when_nothing_found": share(sum("did_you_mean" in o for o in empty), total),
        "offered": share(len(offered), total),
        "leads": share(len(leads), total),
        "leads_when_offered": share(len(leads), len(offered)),
    }


def score_setting(
    queries: Sequence[LabelledQuery], answers: dict[str, Any], kinds: Sequence[str]
) -> dict[str, Any]:
    outcomes = answers["outcomes"]
    by_kind = {
        kind: [i for i, query in enumerate(queries) if query.kind == kind] for kind in kinds
    }
    endpoints: dict[str, Any] = {
        endpoint: {"kinds": {}} for endpoint in ("list", "suggest", "did_you_mean")
    }
    for kind, indexes in by_kind.items():
        if not indexes:
            continue
        asked = [queries[i] for i in indexes]
        for endpoint in ("list", "suggest"):
            answered = [outcomes[i][endpoint] for i in indexes]
            endpoints[endpoint]["kinds"][kind] = scores(asked, answered)
        if kind in TYPO_KINDS:
            answered = [outcomes[i]["list"] for i in indexes]
            endpoints["did_you_mean"]["kinds"][kind] = did_you_mean_scores(answered)
    return endpoints


def target_results(endpoints: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with what was measured: None when its kind was not asked."""
    results = []
    for target in TARGETS:
        measured = endpoints[target.endpoint]["kinds"].get(target.kind, {})
        value = measured.get(target.metric)
        results.append(
            {
                **asdict(target),
                "measured": value,
                "ceiling": measured.get("top1_ceiling") if target.metric == "top1" else None,
                "met": None if value is None else value >= target.threshold,
            }
        )
    return results


# -- the run ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to run on, a scratch database per setting "
        "(default: a temporary SQLite file per setting)",
    )
    parser.add_argument(
        "--generated",
        type=int,
        default=DEFAULT_GENERATED,
        help=f"generated movies around the fixture's (default {DEFAULT_GENERATED:,}; 0: none)",
    )
    parser.add_argument(
        "--label", help="names the result file: search-quality-LABEL.json (default: the engine)"
    )
    parser.add_argument(
        "--out", type=Path, help="the result file (default: from --label, in --results-dir)"
    )
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"query kinds (default: {','.join(KINDS)})"
    )
    parser.add_argument(
        "--limit-queries", type=int, help="a fixed sample of this many queries per kind"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="the queries' and generator's seed"
    )
    harness.add_source_argument(parser)
    # Given to the child process that asks the app.
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return child(args)
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds takes some of {', '.join(KINDS)}")
    args.kinds = [kind for kind in KINDS if kind in kinds]
    if args.generated < 0:
        parser.error("--generated must be 0 or more")
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be 1 or more")
    if args.database_url:
        try:
            engine = harness.engine_of(args.database_url)
        except harness.BenchError as error:
            parser.error(str(error))
        if engine != "postgresql":
            parser.error("--database-url names a PostgreSQL server; SQLite is the default")
    label = args.label or ("postgres" if args.database_url else "sqlite")
    path = args.out or args.results_dir / f"search-quality-{label}.json"
    args.label = label
    return harness.measure_and_publish(lambda: measure(args), path)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Both settings: a catalogue each, loaded into a database of its own, and asked."""
    started = time.perf_counter()
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    queries = build_queries(fixture, kinds=args.kinds, seed=args.seed, limit=args.limit_queries)
    encoded = json.dumps([asdict(query) for query in queries], ensure_ascii=False)
    counts = {kind: sum(query.kind == kind for query in queries) for kind in args.kinds}
    harness.say(f"{len(queries):,} labelled queries: {counts}")
    machine = harness.machine_facts(args.database_url)
    plan = [("fixture", 0)] + ([("generated", args.generated)] if args.generated else [])
    settings = []
    with harness.scratch_dir("movies-bench-quality-") as workdir:
        app_dir = harness.app_snapshot(args.source, workdir)
        code = harness.code_facts(app_dir, args.source)
        queries_file = workdir / "queries.json"
        queries_file.write_text(encoded)
        for name, generated in plan:
            setting_started = time.perf_counter()
            catalogue = workdir / f"{name}.json"
            harness.say(f"[{name}] writing the catalogue ({generated:,} generated movies)")
            facts = write_catalogue(catalogue, fixture, generated, args.seed)
            with scratch_database(args.database_url, workdir, name) as database_url:
                harness.say(f"[{name}] loading {facts['records']:,} movies")
                load_catalogue(app_dir, database_url, catalogue)
                loaded = time.perf_counter()
                harness.say(f"[{name}] asking {len(queries):,} queries")
                answers = ask_app(app_dir, database_url, queries_file)
            catalogue.unlink()
            endpoints = score_setting(queries, answers, args.kinds)
            settings.append(
                {
                    "name": name,
                    "movies": answers["movies"],
                    **facts,
                    "load_seconds": round(loaded - setting_started, 1),
                    "ask_seconds": round(time.perf_counter() - loaded, 1),
                    "endpoints": endpoints,
                    "targets": target_results(endpoints),
                    "timing": answers["timing"],
                }
            )
        result: dict[str, Any] = {
            "benchmark": "search-quality",
            "label": args.label,
            "database": "postgresql" if args.database_url else "sqlite",
            "database_url": (
                server_url_without_password(args.database_url)
                if args.database_url
                else "a temporary SQLite file per setting"
            ),
            "seed": args.seed,
            "kinds": args.kinds,
            "limit_queries": args.limit_queries,
            "queries": counts,
            "queries_sha256": hashlib.sha256(encoded.encode()).hexdigest(),
            "list_request": f"{LIST_PATH}?search=TEXT&limit={LIST_LIMIT}",
            "suggest_request": f"{SUGGEST_PATH}?q=TEXT&limit={SUGGEST_LIMIT}",
            "top": TOP,
            "fixture": {
                "path": str(FIXTURE.relative_to(harness.REPO_ROOT)),
                "movies": len(fixture),
                "sha256": harness.fingerprint([FIXTURE]),
            },
            "cache": "cold: cache.clear() before each in-process request",
            "settings": settings,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "machine": machine,
            "code": {
                **code,
                "benchmark_sha256": harness.fingerprint(
                    [Path(__file__).resolve(), Path(generate.__file__).resolve()]
                ),
            },
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        harness.warn_if_code_changed(app_dir, code, result)
    return result


if __name__ == "__main__":
    sys.exit(main())
