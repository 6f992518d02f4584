"""A deterministic synthetic catalogue in the legacy format, for benchmarks.

``python -m bench.generate N OUT.json [--seed S] [--profile P] [--word-skew S]
[--title-words K] [--genres-per-movie M] [--director-skew S]`` writes N movies
as a JSON array of objects with the keys ``99popularity``, ``director``,
``genre``, ``imdb_score`` and ``name``, one object per line, exactly as the
importer reads them. The same N, seed and options give a byte-identical file,
and a smaller N gives a prefix of a larger one (same seed and options).

The vocabulary comes from ``fixtures/imdb.json``: title words ranked by how
often they occur there and drawn with a Zipf skew (``the``, ``of``, ``war`` are
common, most words are rare), directors' first and last names and the genres
with their frequencies, accents kept. Scores follow a broad IMDb-like
distribution and popularity is about ten times the score, with noise.

(name, director) identifies a movie, so each pair occurs once per file: a pair
already written gets a sequel numeral (" II", " III", ...). Seen pairs are kept
in a fixed-size Bloom filter, so memory stays constant at any N. A false
positive only adds a needless numeral; a pair reported unseen never was.

The options vary the distributions, so that search latency can be shown to
hold for any realistic catalogue, not only this generator's. Without them the
output is exactly the default one, byte for byte.

``--word-skew S`` (default 1.0)
    The Zipf exponent of title words: the word of rank r is drawn with weight
    1 / r**S. A larger S puts more of the mass on the commonest words: 1.3
    puts "the" in two titles in five instead of one in five, "war" in 6% of
    them instead of 4%. A smaller S spreads it over rare words: 0.7 puts "the"
    in one title in sixteen. Rationale: how many rows a common term matches
    is what makes broad searches slow.
``--title-words K`` (default: the fixture's, about 2.55)
    The mean number of words per title. The fixture's lengths (1 to 5) are
    scaled by K / 2.55 and rounded at random up or down, so the mean is K,
    within 1 to 12 words per title; past about 6 the cap pulls the mean below
    K. Rationale: longer titles hold more words, so every term matches more
    movies.
``--genres-per-movie M`` (default: the fixture's, about 2.69)
    The mean number of genres per movie. The fixture's counts (1 to 4) are
    scaled by M / 2.69 in the same way, within 1 and the catalogue's limit
    of 20 per movie, so M may be 1 to 20; past about 13 the cap pulls the
    mean below M. Rationale: genre filters and the genre prefetch cost more
    with more genres per movie.
``--director-skew S`` (default: first and last names drawn apart)
    Directors are drawn with a Zipf skew of exponent S over every pairing of
    the fixture's first and last names (about 112,000), ranked by how common
    the two names are together. A large S gives few directors with many
    movies each, a small one many directors with a few each: among 100,000
    movies, 1.0 gives about 25,000 directors, the first with 8,000 movies;
    0.3 about 64,000, none with more than about 30 (by default, 46,000 and
    about 130). Rationale: a director's name matches a handful of movies or
    thousands.
``--profile other``
    A different catalogue in one option: ``--word-skew 1.3`` (denser common
    words), ``--genres-per-movie 6`` and ``--director-skew 0.3`` (sparser
    directors: more of them, fewer movies each); title lengths stay the
    fixture's. Options given beside a profile override its values.
    ``--profile default`` is the plain output.
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
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

FIXTURE_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "imdb.json"
DEFAULT_SEED = 0
ZIPF_EXPONENT = 1.0
MAX_TITLE_WORDS = 5
MAX_GENRES = 4
# The bounds of the scaled distributions: a title's words and a movie's genres
# (the catalogue's limit).
MAX_SCALED_TITLE_WORDS = 12
MAX_SCALED_GENRES = 20
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

    def weights(self) -> list[float]:
        return [high - low for low, high in pairwise((0.0, *self.cumulative))]

    def mean(self) -> float:
        """The mean of numeric items."""
        total = sum(
            float(item) * weight for item, weight in zip(self.items, self.weights(), strict=True)
        )
        return total / self.cumulative[-1]


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


WORD_SKEW_RANGE = "--word-skew must be more than 0"
TITLE_WORDS_RANGE = f"--title-words must be from 1 to {MAX_SCALED_TITLE_WORDS}"
GENRES_PER_MOVIE_RANGE = f"--genres-per-movie must be from 1 to {MAX_SCALED_GENRES}"
DIRECTOR_SKEW_RANGE = "--director-skew must be more than 0"


@dataclass(frozen=True)
class Distributions:
    """How the catalogue is drawn; the defaults give the default output.

    ``None`` keeps the fixture's distribution (title lengths, genre counts) or
    the independent draw of first and last names (directors).
    """

    word_skew: float = ZIPF_EXPONENT
    title_words: float | None = None
    genres_per_movie: float | None = None
    director_skew: float | None = None

    def __post_init__(self) -> None:
        if not self.word_skew > 0:
            raise ValueError(WORD_SKEW_RANGE)
        if self.title_words is not None and not 1 <= self.title_words <= MAX_SCALED_TITLE_WORDS:
            raise ValueError(TITLE_WORDS_RANGE)
        if (
            self.genres_per_movie is not None
            and not 1 <= self.genres_per_movie <= MAX_SCALED_GENRES
        ):
            raise ValueError(GENRES_PER_MOVIE_RANGE)
        if self.director_skew is not None and not self.director_skew > 0:
            raise ValueError(DIRECTOR_SKEW_RANGE)


PROFILES = {
    "default": Distributions(),
    # Denser common words, more genres per movie, sparser directors.
    "other": Distributions(word_skew=1.3, genres_per_movie=6.0, director_skew=0.3),
}


def _title_word(token: str) -> str:
    return token.strip(EDGE_PUNCTUATION)


def _zipf(ranked: Sequence[str], exponent: float = ZIPF_EXPONENT) -> list[tuple[str, float]]:
    return [(item, 1.0 / (rank + 1) ** exponent) for rank, item in enumerate(ranked)]


def _by_frequency(counts: Counter[str]) -> list[tuple[str, float]]:
    return [(item, float(count)) for item, count in sorted(counts.items())]


@lru_cache(maxsize=4)
def load_vocabulary(path: Path = FIXTURE_PATH, word_skew: float = ZIPF_EXPONENT) -> Vocabulary:
    """The words, names and genres of the catalogue at ``path``, with their frequencies.

    Title words are weighted by a Zipf skew of exponent ``word_skew`` over their rank.
    """
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

    ranked = _zipf(sorted(word_counts, key=lambda key: (-word_counts[key], key)), word_skew)
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


@lru_cache(maxsize=4)
def _director_roster(path: Path, skew: float) -> _Weighted:
    """Every "first last" pairing of the names at ``path``, with a Zipf skew of exponent ``skew``.

    Pairings are ranked by the product of their names' frequencies, so the
    commonest names together come first.
    """
    firsts, lasts = load_vocabulary(path).first_names, load_vocabulary(path).last_names
    pairs = sorted(
        (-first_weight * last_weight, first, last)
        for first, first_weight in zip(firsts.items, firsts.weights(), strict=True)
        for last, last_weight in zip(lasts.items, lasts.weights(), strict=True)
    )
    return _Weighted.of(_zipf([f"{first} {last}" for _, first, last in pairs], skew))


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


def _scaled_count(count: int, scale: float, cap: int, rng: random.Random) -> int:
    """``count * scale`` rounded up or down at random so its mean is kept, within 1 and ``cap``."""
    scaled = count * scale
    whole = math.floor(scaled)
    if rng.random() < scaled - whole:
        whole += 1
    return min(max(whole, 1), cap)


@dataclass(frozen=True)
class _Drawing:
    """The tables and scales that ``Distributions`` give for one vocabulary."""

    vocabulary: Vocabulary
    title_scale: float | None = None
    genre_scale: float | None = None
    directors: _Weighted | None = None

    @classmethod
    def of(cls, path: Path, distributions: Distributions) -> _Drawing:
        vocabulary = load_vocabulary(path, distributions.word_skew)
        drawing = cls(vocabulary)
        if distributions.title_words is not None:
            scale = distributions.title_words / vocabulary.title_lengths.mean()
            drawing = replace(drawing, title_scale=scale)
        if distributions.genres_per_movie is not None:
            scale = distributions.genres_per_movie / vocabulary.genre_counts.mean()
            drawing = replace(drawing, genre_scale=scale)
        if distributions.director_skew is not None:
            roster = _director_roster(path, distributions.director_skew)
            drawing = replace(drawing, directors=roster)
        return drawing


def _title(drawing: _Drawing, rng: random.Random) -> str:
    vocabulary = drawing.vocabulary
    length = int(vocabulary.title_lengths.draw(rng))
    if drawing.title_scale is not None:
        length = _scaled_count(length, drawing.title_scale, MAX_SCALED_TITLE_WORDS, rng)
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


def _director(drawing: _Drawing, rng: random.Random) -> str:
    if drawing.directors is not None:
        return drawing.directors.draw(rng)
    vocabulary = drawing.vocabulary
    return f"{vocabulary.first_names.draw(rng)} {vocabulary.last_names.draw(rng)}"


def _genres(drawing: _Drawing, rng: random.Random) -> list[str]:
    vocabulary = drawing.vocabulary
    count = int(vocabulary.genre_counts.draw(rng))
    if drawing.genre_scale is not None:
        cap = min(MAX_SCALED_GENRES, len(vocabulary.genres.items))
        count = _scaled_count(count, drawing.genre_scale, cap, rng)
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(vocabulary.genres.draw(rng))
    first, *rest = sorted(chosen)
    # The legacy files pad every genre after the first with one space.
    return [first, *(" " + name for name in rest)]


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def generate_records(
    n: int,
    seed: int = DEFAULT_SEED,
    *,
    distributions: Distributions = PROFILES["default"],
    vocabulary_path: Path = FIXTURE_PATH,
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` catalogue records, the same ones for the same arguments.

    Each is a dict with the legacy keys in file order; (name, director) pairs
    are unique. The records of a smaller ``n`` are a prefix of a larger one's.
    """
    drawing = _Drawing.of(vocabulary_path, distributions)
    rng = random.Random(seed)
    seen = _SeenPairs()
    for _ in range(n):
        name = _title(drawing, rng)
        director = _director(drawing, rng)
        genres = _genres(drawing, rng)
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


def write_catalogue(
    path: Path,
    n: int,
    seed: int = DEFAULT_SEED,
    *,
    distributions: Distributions = PROFILES["default"],
) -> None:
    """Write ``generate_records(n, seed, distributions=...)`` to ``path``, one record per line.

    The file appears complete or not at all: it is written beside ``path`` and
    renamed into place.
    """
    partial = path.with_name(path.name + ".tmp")
    with partial.open("w", encoding="utf-8", newline="\n") as stream:
        stream.write("[")
        separator = "\n"
        for record in generate_records(n, seed, distributions=distributions):
            stream.write(separator)
            stream.write(json.dumps(record, ensure_ascii=False))
            separator = ",\n"
        stream.write("\n]\n")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="The module's docstring describes the options that vary the distributions.",
    )
    parser.add_argument("n", type=int, help="number of movies")
    parser.add_argument("out", type=Path, help="the JSON file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 0)")
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="a named set of the options below (default: default); options given override it",
    )
    parser.add_argument(
        "--word-skew",
        type=float,
        metavar="S",
        help=f"Zipf exponent of title words (default {ZIPF_EXPONENT}); "
        "larger: denser common words",
    )
    parser.add_argument(
        "--title-words",
        type=float,
        metavar="K",
        help="mean words per title (default: the fixture's, about 2.55)",
    )
    parser.add_argument(
        "--genres-per-movie",
        type=float,
        metavar="M",
        help=f"mean genres per movie, {MAX_SCALED_GENRES} at most "
        "(default: the fixture's, about 2.69)",
    )
    parser.add_argument(
        "--director-skew",
        type=float,
        metavar="S",
        help="Zipf exponent of directors; larger: fewer directors with more movies "
        "(default: first and last names drawn apart)",
    )
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be 0 or more")
    given = {
        name: value
        for name in ("word_skew", "title_words", "genres_per_movie", "director_skew")
        if (value := getattr(args, name)) is not None
    }
    try:
        distributions = replace(PROFILES[args.profile], **given)
    except ValueError as error:
        parser.error(str(error))
    started = time.perf_counter()
    write_catalogue(args.out, args.n, args.seed, distributions=distributions)
    elapsed = time.perf_counter() - started
    rate = args.n / elapsed if elapsed else math.inf
    sys.stderr.write(f"{args.n} movies written to {args.out} in {elapsed:.1f}s ({rate:,.0f}/s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
