"""The cost of corrections on a large vocabulary: did_you_mean and suggestions.

``python -m bench.correction_bench fill --database-url URL [--words 322000]``
fills the vocabulary (``catalog_word``) of a migrated, throwaway database with
generated words: the words of ``fixtures/imdb.json``'s names and directors,
then Latin, Greek and Cyrillic words of 3 to 16 letters (about 41% of 9 to 12),
each with a number of movies drawn with a Zipf skew. Nothing else is written;
the movie table may stay empty, since only the correction work is measured.

``python -m bench.correction_bench measure --database-url URL --label LABEL
[--runs 15] [--source worktree|head|live]`` times, in a child process that
imports the app (``--source``, see bench.harness.app_snapshot), DEBUG off and
no Redis:

- ``did_you_mean`` of searches that find nothing (the search itself is not
  timed): the attack of 18 ten-letter Greek words (197 characters: nine terms
  of two words joined by ``-``), 10 Cyrillic words, and misspelt titles of
  ``fixtures/imdb.json`` (loaded into the database with populate_db after
  the fill): one, three and four words misspelt;
- ``suggest`` (catalog.suggestions, the whole call) for 10 Greek words (the
  most it takes), 10 Cyrillic words and the same misspelt titles;

each ``--runs`` times, and writes the medians, p95s and maxima with the
corrections found and the machine's facts to ``correction-<label>.json`` in the
results directory (``--results-dir``, see bench.report), and prints them as a table.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness

GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыэюя"
CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"
LENGTHS = {3: 2, 4: 4, 5: 6, 6: 8, 7: 9, 8: 10, 9: 11, 10: 11, 11: 10, 12: 9, 13: 7, 14: 5}
LENGTHS.update({15: 4, 16: 4})
SCRIPTS = {"latin": 70, "greek": 15, "cyrillic": 15}
ROWS_PER_INSERT = 1_000


def latin_word(rng: random.Random, length: int) -> str:
    letters = [rng.choice(CONSONANTS if i % 2 == 0 else VOWELS) for i in range(length)]
    return "".join(letters)


def script_word(rng: random.Random, script: str, length: int) -> str:
    if script == "latin":
        return latin_word(rng, length)
    alphabet = GREEK if script == "greek" else CYRILLIC
    return "".join(rng.choice(alphabet) for _ in range(length))


def generated_words(count: int, seed: int = 0) -> dict[str, int]:
    """``count`` distinct words with their number of movies, the fixture's words first."""
    from catalog.vocabulary import words_of  # the app's own splitting and normalising

    fixture = json.loads((harness.REPO_ROOT / "fixtures" / "imdb.json").read_text())
    found: dict[str, int] = {}
    for record in fixture:
        for word in words_of(record["name"]) | words_of(record["director"]):
            found[word] = found.get(word, 0) + 1
    rng = random.Random(seed)
    lengths, weights = list(LENGTHS), list(LENGTHS.values())
    scripts, shares = list(SCRIPTS), list(SCRIPTS.values())
    while len(found) < count:
        script = rng.choices(scripts, shares)[0]
        word = script_word(rng, script, rng.choices(lengths, weights)[0])
        found.setdefault(word, max(1, int(1000 / rng.paretovariate(1.0))))
    return found


def fill(database_url: str, count: int) -> int:
    harness.setup_django(database_url)
    from django.db import connection, transaction

    words = sorted(generated_words(count).items())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_word")
        for start in range(0, len(words), ROWS_PER_INSERT):
            chunk = words[start : start + ROWS_PER_INSERT]
            cursor.execute(
                "INSERT INTO catalog_word (word, movies) VALUES "
                + ", ".join(["(%s, %s)"] * len(chunk)),
                [value for row in chunk for value in row],
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_word")
    harness.say(f"{len(words)} words in catalog_word")
    return len(words)


def absent_words(script: str, count: int, length: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [script_word(rng, script, length) for _ in range(count)]


def cases() -> list[tuple[str, str, str]]:
    """(name, what is timed, the text): searches for did_you_mean, texts for suggest."""
    # A search takes 10 terms at most, but each word of a term is corrected on its own.
    greek = absent_words("greek", 18, 10, seed=101)
    greek_18 = " ".join("-".join(greek[i : i + 2]) for i in range(0, 18, 2))
    greek_10 = " ".join(absent_words("greek", 10, 10, seed=102))
    cyrillic_10 = " ".join(absent_words("cyrillic", 10, 10, seed=103))
    latin = ["the godfahter", "eternel sunshyne of the spotles mind", "crouchng tigr hiden dragn"]
    return [
        ("18 Greek words of 10 letters", "did_you_mean", greek_18),
        ("10 Cyrillic words of 10 letters", "did_you_mean", cyrillic_10),
        *((text, "did_you_mean", text) for text in latin),
        ("10 Greek words of 10 letters", "suggest", greek_10),
        ("10 Cyrillic words of 10 letters", "suggest", cyrillic_10),
        *((text, "suggest", text) for text in latin),
    ]


def measure_in_app(database_url: str, runs: int) -> dict[str, Any]:
    """In the child: each case ``runs`` times, after one run that warms the connection."""
    harness.setup_django(database_url)
    from django.db import connection

    from catalog import vocabulary
    from catalog.models import Movie, Word
    from catalog.reads import MovieQuery
    from catalog.reads.listing import finds
    from catalog.search import Search
    from catalog.suggestions import InvalidSuggestion, suggest

    def timed(kind: str, text: str) -> tuple[float, Any]:
        started = time.perf_counter()
        if kind == "did_you_mean":
            answer: Any = vocabulary.did_you_mean(
                Search.parse(text), finds=lambda corrected: finds(MovieQuery(), corrected)
            )
        else:
            try:
                answer = len(suggest(Movie.objects.all(), text, 8))
            except InvalidSuggestion as error:
                answer = f"refused: {error}"
        return (time.perf_counter() - started) * 1000, answer

    results = []
    for name, kind, text in cases():
        timed(kind, text)
        samples, answer = [], None
        for _ in range(runs):
            milliseconds, answer = timed(kind, text)
            samples.append(milliseconds)
        results.append(
            {
                "case": name,
                "kind": kind,
                "characters": len(text),
                "answer": answer,
                "median_ms": round(harness.percentile(samples, 50), 1),
                "p95_ms": round(harness.percentile(samples, 95), 1),
                "max_ms": round(max(samples), 1),
            }
        )
    return {
        "vocabulary_words": Word.objects.count(),
        "engine": connection.vendor,
        "runs": runs,
        "cases": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("step", choices=("fill", "measure"))
    harness.add_database_url_argument(parser, "a migrated, throwaway database")
    parser.add_argument("--words", type=int, default=322_000)
    parser.add_argument("--label", default="postgres")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    harness.add_source_argument(parser)
    parser.add_argument("--app-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if args.step == "fill":
        if args.app_dir is None:
            forwarded = ["fill", "--database-url", args.database_url, "--words", str(args.words)]
            return harness.run_in_snapshot(
                "bench.correction_bench", "live", forwarded, prefix="correction-fill-"
            )
        fill(args.database_url, args.words)
        return 0
    if args.output is not None:  # the child
        measured = measure_in_app(args.database_url, args.runs)
        args.output.write_text(json.dumps(measured))
        return 0
    with harness.scratch_dir("correction-bench-") as workdir:
        app_dir = harness.app_snapshot(args.source, workdir)
        code = harness.code_facts(app_dir, args.source)
        argv_child = ["measure", "--database-url", args.database_url, "--runs", str(args.runs)]
        measured = harness.results_of_child(
            "bench.correction_bench", app_dir, argv_child, role="measurement"
        )
    result = {
        "benchmark": "correction",
        "label": args.label,
        "machine": harness.machine_facts(args.database_url),
        "code": code,
        **measured,
    }
    harness.publish(result, args.results_dir / f"correction-{args.label}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
