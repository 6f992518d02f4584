"""A deterministic synthetic catalogue in the legacy format, for benchmarks.

``python -m bench.generate N OUT.json [--seed S]`` writes N movies as a JSON
array of objects with the keys ``99popularity``, ``director``, ``genre``,
``imdb_score`` and ``name``, one object per line, exactly as the importer reads
them. The same N and seed give a byte-identical file, and a smaller N gives a
prefix of a larger one (same seed).

The vocabulary comes from ``fixtures/imdb.json``: title words ranked by how
often they occur there and drawn with a Zipf skew (``the``, ``of``, ``war`` are
common, most words are rare), directors' first and last names and the genres
with their frequencies, accents kept. Scores follow a broad IMDb-like
distribution and popularity is about ten times the score, with noise.

(name, director) identifies a movie, so each pair occurs once per file: a pair
already written gets a sequel numeral (" II", " III", ...). Seen pairs are kept
in a fixed-size Bloom filter, so memory stays constant at any N. A false
positive only adds a needless numeral; a pair reported unseen never was.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

FIXTURE_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "imdb.json"
DEFAULT_SEED = 0
ZIPF_EXPONENT = 1.0
MAX_TITLE_WORDS = 5
MAX_GENRES = 4
# IMDb-wide scores are broader than our fixture's (a list of classics).
SCORE_MEAN, SCORE_SD, SCORE_RANGE = 6.4, 1.2, (1.0, 9.9)
POPULARITY_NOISE_SD = 2.3  # the fixture's spread of popularity around score * 10
# 2**27 bits (16 MiB): a false positive rate of about 1e-6 at a million pairs.
BLOOM_BITS_LOG2 = 27
BLOOM_HASHES = 4
# Characters that wrap a word in a title ("Wars:", "(The", "Bill,") and are not part of it.
EDGE_PUNCTUATION = '"()[]{},:;!?'


@dataclass(frozen=True)
class _Weighted:
    """Items with cumulative weights, for drawing one with a single random number."""

    items: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, weights: Sequence[tuple[str, float]]) -> _Weighted:
        items, running, total = [], [], 0.0
        for item, weight in weights:
            total += weight
            items.append(item)
            running.append(total)
        return cls(tuple(items), tuple(running))

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(frozen=True)
class Vocabulary:
    words: _Weighted  # any title word
    first_words: _Weighted  # words a title may start with: "The", not "Of"
    last_words: _Weighted  # words a title may end with: no "the", "of", ...
    title_lengths: _Weighted  # "1" .. "5"
    first_names: _Weighted
    last_names: _Weighted
    genres: _Weighted
    genre_counts: _Weighted  # "1" .. "4"


def _title_word(token: str) -> str:
    return token.strip(EDGE_PUNCTUATION)


def _zipf(ranked: Sequence[str]) -> list[tuple[str, float]]:
    return [(item, 1.0 / (rank + 1) ** ZIPF_EXPONENT) for rank, item in enumerate(ranked)]


def _by_frequency(counts: Counter[str]) -> list[tuple[str, float]]:
    return [(item, float(count)) for item, count in sorted(counts.items())]


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = FIXTURE_PATH) -> Vocabulary:
    """The words, names and genres of the catalogue at ``path``, with their frequencies."""
    with path.open(encoding="utf-8") as stream:
        movies = json.load(stream)
    word_counts: Counter[str] = Counter()
    # Surface forms by lower-cased word, split by position: "The" starts
    # titles, "the" is the form inside them.
    forms: dict[str, Counter[tuple[bool, str]]] = defaultdict(Counter)
    title_lengths: Counter[str] = Counter()
    first_names: Counter[str] = Counter()
    last_names: Counter[str] = Counter()
    genres: Counter[str] = Counter()
    genre_counts: Counter[str] = Counter()
    for movie in movies:
        words = [w for w in map(_title_word, movie["name"].split()) if any(map(str.isalnum, w))]
        for position, word in enumerate(words):
            word_counts[word.lower()] += 1
            forms[word.lower()][(position > 0, word)] += 1
        if words:
            title_lengths[str(min(len(words), MAX_TITLE_WORDS))] += 1
        first, *last = movie["director"].split()
        if last:
            first_names[first] += 1
            last_names[" ".join(last)] += 1
        names = sorted({name.strip() for name in movie["genre"] if name.strip()})
        genres.update(names)
        if names:
            genre_counts[str(min(len(names), MAX_GENRES))] += 1

    def surface(key: str) -> str:
        # The form used inside titles when there is one, else the commonest.
        (inner, form), _ = max(forms[key].items(), key=lambda item: (item[0][0], item[1]))
        return form

    def lower_inside(key: str) -> int:
        return sum(n for (inner, form), n in forms[key].items() if inner and form.islower())

    def is_function_word(key: str) -> bool:
        # Written in lower case inside titles: "the", "of", "de".
        return lower_inside(key) >= 2

    def rarely_opens(key: str) -> bool:
        # "The" and "A" open many titles; "of", "and", "de" hardly any.
        opening = sum(n for (inner, _), n in forms[key].items() if not inner)
        return is_function_word(key) and 2 * opening < lower_inside(key)

    ranked = _zipf(sorted(word_counts, key=lambda key: (-word_counts[key], key)))
    return Vocabulary(
        words=_Weighted.of([(surface(key), weight) for key, weight in ranked]),
        first_words=_Weighted.of(
            [(surface(key), weight) for key, weight in ranked if not rarely_opens(key)]
        ),
        last_words=_Weighted.of(
            [(surface(key), weight) for key, weight in ranked if not is_function_word(key)]
        ),
        title_lengths=_Weighted.of(_by_frequency(title_lengths)),
        first_names=_Weighted.of(_by_frequency(first_names)),
        last_names=_Weighted.of(_by_frequency(last_names)),
        genres=_Weighted.of(_by_frequency(genres)),
        genre_counts=_Weighted.of(_by_frequency(genre_counts)),
    )


class _SeenPairs:
    """A Bloom filter of (name, director) pairs: "not seen" is always true."""

    def __init__(self) -> None:
        self._bits = bytearray(1 << (BLOOM_BITS_LOG2 - 3))
        self._mask = (1 << BLOOM_BITS_LOG2) - 1

    def add(self, name: str, director: str) -> bool:
        """Record the pair; False when it was certainly not recorded before."""
        digest = hashlib.blake2b(
            f"{name}\x00{director}".encode(), digest_size=4 * BLOOM_HASHES
        ).digest()
        value = int.from_bytes(digest, "little")
        bits, mask, seen = self._bits, self._mask, True
        for _ in range(BLOOM_HASHES):
            index = value & mask
            value >>= 32
            byte, bit = index >> 3, 1 << (index & 7)
            if not bits[byte] & bit:
                seen = False
                bits[byte] |= bit
        return seen


def roman(number: int) -> str:
    """``number`` (1 or more) in Roman numerals: 2 -> "II", 14 -> "XIV"."""
    numerals = (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    )  # fmt: skip
    out = []
    for value, letters in numerals:
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def _title(vocabulary: Vocabulary, rng: random.Random) -> str:
    length = int(vocabulary.title_lengths.draw(rng))
    words: list[str] = []
    for position in range(length):
        if position == length - 1:
            table = vocabulary.last_words
        elif position == 0:
            table = vocabulary.first_words
        else:
            table = vocabulary.words
        word = table.draw(rng)
        while words and word == words[-1]:
            word = table.draw(rng)
        words.append(word)
    first = words[0]
    words[0] = first[:1].upper() + first[1:]
    return " ".join(words)


def _genres(vocabulary: Vocabulary, rng: random.Random) -> list[str]:
    count = int(vocabulary.genre_counts.draw(rng))
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(vocabulary.genres.draw(rng))
    first, *rest = sorted(chosen)
    # The legacy files pad every genre after the first with one space.
    return [first, *(" " + name for name in rest)]


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def generate_records(
    n: int, seed: int = DEFAULT_SEED, *, vocabulary_path: Path = FIXTURE_PATH
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` catalogue records, the same ones for the same ``n`` and ``seed``.

    Each is a dict with the legacy keys in file order; (name, director) pairs
    are unique. The records of a smaller ``n`` are a prefix of a larger one's.
    """
    vocabulary = load_vocabulary(vocabulary_path)
    rng = random.Random(seed)
    seen = _SeenPairs()
    for _ in range(n):
        name = _title(vocabulary, rng)
        director = f"{vocabulary.first_names.draw(rng)} {vocabulary.last_names.draw(rng)}"
        genres = _genres(vocabulary, rng)
        score = round(_clamp(rng.gauss(SCORE_MEAN, SCORE_SD), *SCORE_RANGE), 1)
        popularity = round(_clamp(score * 10 + rng.gauss(0.0, POPULARITY_NOISE_SD), 0.0, 100.0), 1)
        unique_name, sequel = name, 1
        while seen.add(unique_name, director):
            sequel += 1
            unique_name = f"{name} {roman(sequel)}"
        yield {
            "99popularity": popularity,
            "director": director,
            "genre": genres,
            "imdb_score": score,
            "name": unique_name,
        }


def write_catalogue(path: Path, n: int, seed: int = DEFAULT_SEED) -> None:
    """Write ``generate_records(n, seed)`` to ``path``, one record per line.

    The file appears complete or not at all: it is written beside ``path`` and
    renamed into place.
    """
    partial = path.with_name(path.name + ".tmp")
    with partial.open("w", encoding="utf-8", newline="\n") as stream:
        stream.write("[")
        separator = "\n"
        for record in generate_records(n, seed):
            stream.write(separator)
            stream.write(json.dumps(record, ensure_ascii=False))
            separator = ",\n"
        stream.write("\n]\n")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of movies")
    parser.add_argument("out", type=Path, help="the JSON file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be 0 or more")
    started = time.perf_counter()
    write_catalogue(args.out, args.n, args.seed)
    elapsed = time.perf_counter() - started
    rate = args.n / elapsed if elapsed else math.inf
    sys.stderr.write(f"{args.n} movies written to {args.out} in {elapsed:.1f}s ({rate:,.0f}/s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
