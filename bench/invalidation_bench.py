"""How much of the load mix's kept searches the writes of bench.load_bench invalidate.

``python -m bench.invalidation_bench --database-url URL [--writes 60] [--history 60]
[--results-dir DIR]``

No server and no cache: the parts of the catalogue (catalog.scopes) that
answers depend on and that writes raise are computed as the app computes
them. The reads are the long-tail load mix (bench.load_bench: 5,000 requests
from the catalogue's own words, bench.longtail_queries, seed 0, picked by
Zipf); the searches among them, weighted by how often the mix picks them.
The writes are shaped like the load benchmark's: a ``Load test`` movie by
``Load Bench`` with one to three of the catalogue's genres and random
numbers, each raising what catalog.writes raises for it (its text and
genre names' buckets, its words' buckets), before and after.

After ``--history`` writes, every search's answer is kept; then ``--writes``
more are made. Reported, after 1, 10 and all of them: the share of the mix's
searches whose kept answer a write since has invalidated, when a search
depends on its first trigram's bucket (search_scope), and when it depends on
the one of its buckets raised longest ago when it was kept (least_raised,
with the versions the history left: the app's choice). Only searches are
counted: suggestions, searches that found nothing and lists depend on the
same parts either way. The result goes to ``invalidation.json`` in the
results directory (see bench.report), and its table is printed.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import harness
from bench.load_bench import DIRECTOR, LONGTAIL_POOL, NAME_PREFIX
from bench.longtail_queries import Zipf, long_tail, vocabulary_of

CHECKPOINTS = (1, 10)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = harness.argument_parser(__doc__)
    harness.add_database_url_argument(parser)
    parser.add_argument("--writes", type=int, default=60, help="writes counted (default 60)")
    parser.add_argument("--history", type=int, default=60, help="writes before (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=harness.RESULTS_DIR)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    harness.require_database_url(parser, args)
    if not args.child:
        return harness.run_in_app("bench.invalidation_bench", harness.APP_DIR, [*argv, "--child"])
    harness.setup_django(args.database_url)
    result = measure(args)
    harness.say(f"wrote {harness.write_json(args.results_dir / 'invalidation.json', result)}")
    harness.say("\n".join(table(result)))
    return 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from django.http import QueryDict

    from catalog.models import Genre
    from catalog.reads.query import MovieQuery
    from catalog.scopes import least_raised, search_scopes

    pool = list(
        dict.fromkeys(q.path for q in long_tail(vocabulary_of(args.database_url), LONGTAIL_POOL))
    )
    cumulative = Zipf(pool).cumulative
    weights = [b - a for a, b in zip([0.0, *cumulative], cumulative, strict=False)]
    searches = []
    for path, weight in zip(pool, weights, strict=True):
        split = urlsplit(path)
        if split.path.rstrip("/").endswith("suggest"):
            continue
        search = MovieQuery.from_params(QueryDict(split.query), count_limit=10_000).search
        if search_scopes(search):  # a term to be scoped by
            searches.append((search, weight))
    total = sum(weights)
    genres = list(Genre.objects.values_list("search_name", flat=True))
    rng = random.Random(args.seed)
    raised_at: dict[str, int] = {}
    for number in range(1, args.history + 1):
        raised_at.update(dict.fromkeys(write_scopes(rng, genres), number))
    weighed = [search_scopes(search) for search, _ in searches]
    first = [scopes[0] for scopes in weighed]  # search_scope's
    # As the app reads them: 0 for a bucket never raised.
    least = [
        least_raised(scopes, {scope: raised_at.get(scope, 0) for scope in scopes})
        for scopes in weighed
    ]
    raised: set[str] = set()
    shares = {}
    for number in range(1, args.writes + 1):
        raised |= write_scopes(rng, genres)
        if number in CHECKPOINTS or number == args.writes:
            shares[number] = {
                "first trigram": share(first, searches, raised, total),
                "raised longest ago": share(least, searches, raised, total),
            }
    return {
        "machine": harness.machine_facts(args.database_url),
        "searches_share": sum(weight for _, weight in searches) / total,
        "history": args.history,
        "invalidated": shares,
    }


def write_scopes(rng: random.Random, genres: list[str]) -> set[str]:
    """What a load-benchmark write raises: its movie's buckets, as it was and as it is."""
    from catalog.scopes import movie_text_scopes
    from catalog.search import search_document

    def text() -> str:
        return search_document(
            name=f"{NAME_PREFIX} {rng.getrandbits(40):010x}w{rng.randrange(8)}",
            director=DIRECTOR,
            popularity=round(rng.uniform(0, 100), 1),
            imdb_score=round(rng.uniform(1, 10), 1),
        )

    texts = [text(), text()]
    names = rng.sample(genres, rng.randint(1, min(3, len(genres))))
    return movie_text_scopes(texts, names)


def share(chosen: list[str], searches: list, raised: set[str], total: float) -> float:
    return (
        sum(weight for scope, (_, weight) in zip(chosen, searches, strict=True) if scope in raised)
        / total
    )


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"searches with a term: {result['searches_share']:.1%} of the mix; kept after "
        f"{result['history']} writes",
        "",
        "| writes since | first trigram's bucket | bucket raised longest ago |",
        "|---:|---:|---:|",
    ]
    for number, shares in result["invalidated"].items():
        lines.append(
            f"| {number} | {shares['first trigram']:.1%} | {shares['raised longest ago']:.1%} |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
