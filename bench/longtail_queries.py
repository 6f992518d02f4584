"""Queries drawn the way people type them, from a catalogue's own names and words.

A Vocabulary holds what people search for, most frequent first: popular movie
titles, the catalogue's words (catalog_word, by how many movies use them),
directors (by movie count) and genres. ``long_tail`` draws distinct requests
from it, each name or word picked by a Zipf distribution over those ranks, so
a few are asked for often and most rarely: full titles, title prefixes,
directors, titles with one or two typos, genre words, two- and three-term mixes
and numbers (scores, popularities, years), in every list ordering, some on deep
pages, and suggestions for what is half typed. Seeded and deterministic.

Nothing here imports the app: the constants below mirror catalog.reads.query,
which tests/test_longtail_bench.py checks.
"""

from __future__ import annotations

import bisect
import random
import re
import sqlite3
import string
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any
from urllib.parse import urlencode, urlsplit

# As catalog.reads.query has them ("" is the default: relevance with a search).
ORDERINGS = ("", "name", "-name", "popularity", "-popularity", "imdb_score", "-imdb_score")
MAX_OFFSET = 10_000
PAGE = 20
LIST_PATH = "/api/movies"
SUGGEST_PATH = "/api/movies/suggest"

LIST, DEEP, SUGGEST, NUMBER = "list", "deep page", "suggest", "number"
KINDS = (LIST, DEEP, SUGGEST, NUMBER)
KIND_WEIGHTS = (60, 10, 20, 10)
# The steering mix: searches with syntax ("phrases", -exclusions, field:terms),
# lists with genre counts (facets=genre), and searches with and without highlight=1.
SYNTAX, FACETS, HIGHLIGHT, UNMARKED = "syntax", "facets", "highlight", "highlight off"
STEERING_KINDS = (SYNTAX, FACETS, HIGHLIGHT)
STEERING_WEIGHTS = (50, 30, 20)
FACET_SHAPES = ("search", "search and a genre", "a genre", "whole list")
SYNTAX_SHAPES = ("phrase", "exclusion", "director field", "name field", "genre field", "mixed")
MIXES = {"longtail": (KINDS, KIND_WEIGHTS), "steering": (STEERING_KINDS, STEERING_WEIGHTS)}
# What a list search or a deep page searches for.
SHAPES = ("title", "prefix", "director", "typo", "genre", "word", "two terms", "three terms")
SHAPE_WEIGHTS = (20, 15, 12, 12, 8, 15, 12, 6)
SUGGEST_SHAPES = ("title prefix", "director prefix", "word prefix", "typo prefix")
NUMBER_SHAPES = ("score", "popularity", "year", "digits")
ZIPF_EXPONENT = 1.0
DEEP_PAGE_BLANK = 0.2  # deep pages of the whole list, no search
MAX_ATTEMPTS_PER_QUERY = 50


@dataclass(frozen=True)
class Vocabulary:
    """What people search for, each list most frequent first."""

    titles: Sequence[str]
    words: Sequence[str]
    directors: Sequence[str]
    genres: Sequence[str]


@dataclass(frozen=True)
class LongtailQuery:
    """One request: its kind, what it searches for (shape), its ordering and offset."""

    kind: str
    shape: str
    ordering: str  # "" for the default
    offset: int
    path: str

    @property
    def group(self) -> str:
        """What results are reported by: lists per ordering, syntax per shape, the other
        kinds alone."""
        if self.kind == LIST:
            return f"list {self.ordering or 'relevance'}"
        if self.kind == SYNTAX:
            return f"syntax: {self.shape}"
        return self.kind


class Zipf:
    """Picks from ranked items with probability proportional to 1 / rank ** exponent."""

    def __init__(self, items: Sequence[str], exponent: float = ZIPF_EXPONENT) -> None:
        if not items:
            raise ValueError("nothing to pick from")
        self.items = items
        self.cumulative = list(accumulate(1 / rank**exponent for rank in range(1, len(items) + 1)))

    def pick(self, rng: random.Random) -> str:
        index = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


_LETTER_COLON = re.compile(r"[^\W\d_]:")


def typo(word: str, rng: random.Random, edits: int = 1) -> str:
    """``word`` with ``edits`` letters substituted, dropped, doubled or swapped; never ``word``.

    A digit is mistyped as another digit, and a letter never lands right
    before a colon (unless the word has one there): ``3:10`` mistyped as
    ``i:10`` would name a field, which the API refuses by design.
    """
    letters = string.ascii_lowercase
    for _ in range(100):
        typed = list(word)
        for _ in range(edits):
            at = rng.randrange(len(typed))
            edit = rng.choice(("substitute", "delete", "insert", "swap"))
            if edit == "substitute":
                keys = string.digits if typed[at].isdigit() else letters
                typed[at] = rng.choice(keys.replace(typed[at].lower(), ""))
            elif edit == "delete" and len(typed) > 2:
                del typed[at]
            elif edit == "insert":
                typed.insert(at, rng.choice(letters))
            elif at + 1 < len(typed) and typed[at] != typed[at + 1]:
                typed[at], typed[at + 1] = typed[at + 1], typed[at]
        candidate = "".join(typed)
        names_a_field = _LETTER_COLON.search(candidate) and not _LETTER_COLON.search(word)
        if candidate.lower() != word.lower() and not names_a_field:
            return candidate
    raise ValueError(f"no typo of {word!r}")


class Typist:
    """Draws what one person types, from a vocabulary."""

    def __init__(self, vocabulary: Vocabulary, rng: random.Random) -> None:
        self.rng = rng
        self.titles = Zipf(vocabulary.titles)
        self.words = Zipf(vocabulary.words)
        self.directors = Zipf(vocabulary.directors)
        self.genres = Zipf(vocabulary.genres)
        self.long_words = Zipf([word for word in vocabulary.words if len(word) >= 4])

    def prefix(self, text: str) -> str:
        """The first two letters or more, ended at random."""
        text = text.strip()
        return text[: self.rng.randint(min(2, len(text)), len(text))].strip() or text

    def mistyped(self) -> str:
        """A title, or a long word, with one or two typos in one of its words."""
        words = self.titles.pick(self.rng).split()
        candidates = [index for index, word in enumerate(words) if len(word) >= 4]
        if not candidates or self.rng.random() < 0.3:
            return typo(self.long_words.pick(self.rng), self.rng, self.rng.choice((1, 1, 2)))
        at = self.rng.choice(candidates)
        words[at] = typo(words[at], self.rng, self.rng.choice((1, 1, 2)))
        return " ".join(words)

    def search(self, shape: str) -> str:
        rng = self.rng
        if shape == "title":
            return self.titles.pick(rng)
        if shape == "prefix":
            return self.prefix(self.titles.pick(rng))
        if shape == "director":
            return self.directors.pick(rng)
        if shape == "typo":
            return self.mistyped()
        if shape == "genre":
            return self.genres.pick(rng).lower()
        if shape == "word":
            return self.words.pick(rng)
        terms = [self.words.pick(rng), rng.choice((self.genres, self.words)).pick(rng)]
        if shape == "three terms":
            terms.append(rng.choice((self.words, self.directors, self.genres)).pick(rng))
        return rng.choice((" ", ",")).join(terms)

    def phrase(self) -> str:
        """Two or three adjacent words of a title, quoted (the title itself when shorter)."""
        words = self.titles.pick(self.rng).split()
        size = min(len(words), self.rng.choice((2, 2, 3)))
        start = self.rng.randint(0, len(words) - size)
        return '"' + " ".join(words[start : start + size]) + '"'

    def syntax(self, shape: str) -> str:
        rng = self.rng
        if shape == "phrase":
            return self.phrase()
        if shape == "exclusion":
            return f"{self.words.pick(rng)} -{self.words.pick(rng)}"
        if shape == "director field":
            director = self.directors.pick(rng)
            if rng.random() < 0.5:
                return f'director:"{director}"'
            return "director:" + director.split()[-1]
        if shape == "name field":
            return "name:" + self.words.pick(rng)
        if shape == "genre field":
            return f"genre:{self.genres.pick(rng).lower()} {self.words.pick(rng)}"
        return f"{self.phrase()} -{self.words.pick(rng)}"

    def suggestion(self, shape: str) -> str:
        if shape == "title prefix":
            return self.prefix(self.titles.pick(self.rng))
        if shape == "director prefix":
            return self.prefix(self.directors.pick(self.rng))
        if shape == "word prefix":
            return self.prefix(self.words.pick(self.rng))
        return self.prefix(self.mistyped())

    def number(self, shape: str) -> str:
        rng = self.rng
        if shape == "score":
            return f"{rng.randint(1, 9)}.{rng.randint(0, 9)}"
        if shape == "popularity":
            return f"{rng.randint(1, 99)}.{rng.randint(0, 9)}"
        if shape == "year":
            return str(rng.randint(1920, 2025))
        return str(rng.randint(1, 99))


def list_path(search: str | None, ordering: str, offset: int, **more: str) -> str:
    params: dict[str, str | int] = {} if search is None else {"search": search}
    if ordering:
        params["ordering"] = ordering
    if offset:
        params["offset"] = offset
    params.update(more)
    return f"{LIST_PATH}?{urlencode(params)}" if params else LIST_PATH


def draw(typist: Typist, kind: str) -> LongtailQuery:
    rng = typist.rng
    if kind == FACETS:
        shape = rng.choice(FACET_SHAPES)
        search = (
            typist.search(rng.choices(SHAPES, SHAPE_WEIGHTS)[0]) if "search" in shape else None
        )
        genre = {"genre": typist.genres.pick(rng)} if "genre" in shape else {}
        path = list_path(search, "", 0, facets="genre", **genre)
        return LongtailQuery(kind, shape, "", 0, path)
    if kind in (HIGHLIGHT, UNMARKED):
        shape = rng.choices(SHAPES, SHAPE_WEIGHTS)[0]
        flag = {"highlight": "1"} if kind == HIGHLIGHT else {}
        path = list_path(typist.search(shape), "", 0, **flag)
        return LongtailQuery(kind, shape, "", 0, path)
    if kind == SYNTAX:
        shape = rng.choice(SYNTAX_SHAPES)
        ordering = rng.choice(ORDERINGS)
        return LongtailQuery(
            kind, shape, ordering, 0, list_path(typist.syntax(shape), ordering, 0)
        )
    if kind == SUGGEST:
        shape = rng.choice(SUGGEST_SHAPES)
        q = typist.suggestion(shape)
        return LongtailQuery(kind, shape, "", 0, f"{SUGGEST_PATH}?{urlencode({'q': q})}")
    ordering = rng.choice(ORDERINGS)
    if kind == NUMBER:
        shape = rng.choice(NUMBER_SHAPES)
        return LongtailQuery(
            kind, shape, ordering, 0, list_path(typist.number(shape), ordering, 0)
        )
    offset = 0
    if kind == DEEP:
        offset = rng.randint(1, MAX_OFFSET // PAGE) * PAGE
        if rng.random() < DEEP_PAGE_BLANK:
            return LongtailQuery(
                kind, "whole list", ordering, offset, list_path(None, ordering, offset)
            )
    shape = rng.choices(SHAPES, SHAPE_WEIGHTS)[0]
    return LongtailQuery(
        kind, shape, ordering, offset, list_path(typist.search(shape), ordering, offset)
    )


def long_tail(
    vocabulary: Vocabulary, count: int, *, seed: int = 0, mix: str = "longtail"
) -> list[LongtailQuery]:
    """``count`` distinct requests of ``mix`` (one of MIXES), in the order drawn; the same
    for the same arguments. A highlighted search comes with the same search unmarked
    (the pair in random order), so the steering mix may hold one more."""
    rng = random.Random(seed)
    typist = Typist(vocabulary, rng)
    kinds, weights = MIXES[mix]
    queries: dict[str, LongtailQuery] = {}
    for _ in range(count * MAX_ATTEMPTS_PER_QUERY):
        if len(queries) >= count:  # one more when the last is a pair
            return list(queries.values())
        query = draw(typist, rng.choices(kinds, weights)[0])
        queries.setdefault(query.path, query)
        if query.kind == HIGHLIGHT:
            # The same search without highlights, first or second at random.
            unmarked = LongtailQuery(
                UNMARKED, query.shape, "", 0, query.path.replace("&highlight=1", "")
            )
            if rng.random() < 0.5:
                queries.pop(query.path)
                queries.setdefault(unmarked.path, unmarked)
                queries.setdefault(query.path, query)
            else:
                queries.setdefault(unmarked.path, unmarked)
    raise ValueError(f"only {len(queries)} distinct queries in this vocabulary, not {count}")


# Most frequent first; popular titles are typed more often than obscure ones.
VOCABULARY_SQL = {
    "titles": "SELECT name FROM catalog_movie ORDER BY popularity DESC, id LIMIT %d",
    "words": "SELECT word FROM catalog_word ORDER BY movies DESC, word LIMIT %d",
    "directors": "SELECT director FROM catalog_movie WHERE director <> '' "
    "GROUP BY director ORDER BY count(*) DESC, director LIMIT %d",
    "genres": "SELECT name FROM catalog_genre ORDER BY movie_count DESC, name LIMIT %d",
}
VOCABULARY_SIZE = 20_000


def connect(database_url: str) -> Any:
    """A DB-API connection to the catalogue: sqlite3's or psycopg's."""
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        return sqlite3.connect(url.path)
    import psycopg

    return psycopg.connect(database_url)


def read_vocabulary(connection: Any, size: int = VOCABULARY_SIZE) -> Vocabulary:
    """The catalogue's own names and words, read through a DB-API ``connection`` (``connect``'s,
    or Django's), PostgreSQL's or SQLite's."""
    lists = {}
    for name, sql in VOCABULARY_SQL.items():
        cursor = connection.cursor()
        try:
            cursor.execute(sql % size)
            lists[name] = [row[0] for row in cursor.fetchall()]
        finally:
            cursor.close()
    return Vocabulary(**lists)


def vocabulary_of(database_url: str) -> Vocabulary:
    """read_vocabulary of the database at ``database_url``."""
    connection = connect(database_url)
    try:
        return read_vocabulary(connection)
    finally:
        connection.close()
