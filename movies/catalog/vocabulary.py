"""The catalogue's vocabulary, and "did you mean" for searches that find nothing.

The vocabulary is every word of the movies' names and directors and of the
genres' names, as catalog.search.words splits them (maximal runs of ``\\w``
in the normalised text), words with a digit left out. Each word is stored
once (``Word``) with the number of movies (by name or director) and genres that
use it; a word whose number reaches 0 goes. catalog.writes keeps it right on
every write, by the words each adds and removes; catalog.consistency checks
and repairs it.

A search that finds nothing may have a correction. A term may be one edit
from the word that replaces it when the longer of the two has 5 to 8
characters, two edits when it has 9 or more (optimal string alignment: a
letter inserted, deleted or replaced, or two neighbours swapped): so ``whie``
may be ``white``, a word of five letters with one deleted. Shorter words and
terms with a digit are never corrected, so numbers stay exact. Each word of a
term (``prizi`` and ``s`` in ``prizi's``) is corrected on its own: it is
misspelt when it is not a substring of any word of the vocabulary (search
matches substrings: ``godf`` is fine), and then replaced by its closest word:
the fewest edits, then the word of more movies, then the first alphabetically.
The correction is the terms in the order they were typed, joined by spaces,
and it is only offered when it finds a movie; when it finds none, the next
closest words are tried (CORRECTIONS_TRIED corrections at most, closest_first),
so that ``the wzard of oz`` becomes ``the wizard of oz`` although ``ward`` is
as close to ``wzard`` and more used.

The work is bounded, whatever the query and the vocabulary (Budget): at most
CORRECTED_PARTS words of a query are corrected (the others are kept as
typed), each reads at most CANDIDATES_READ candidates, and when the request
has spent CORRECTION_BUDGET_MS on corrections it answers without one. On
PostgreSQL the candidates come through the trigram index in any script: the
similarity threshold that keeps every word within the allowed edits is
computed from the term's trigrams as pg_trgm counts them.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, reduce

from django.conf import settings
from django.db import connections, router
from django.db.models import Q, Sum
from django.db.models.functions import Length
from rapidfuzz.distance import OSA

from catalog.models import Word
from catalog.search import InvalidSearch, Search, words

# Words whose trigrams Python counts as pg_trgm does (trigram_threshold); for the
# others, PostgreSQL counts them (show_trgm).
_PLAIN = re.compile(r"[a-z]+")
_ROWS_PER_STATEMENT = 500
_WORD_PARTS = re.compile(r"(\w+)")
# Corrections a search that found nothing tries, the closest first.
CORRECTIONS_TRIED = 4
# Words of one query corrected (or of one suggestion given alternatives).
CORRECTED_PARTS = 4
# Candidates read for one term and number of edits: on PostgreSQL the most similar
# by trigrams, elsewhere (or when trigrams bound nothing) the first of their lengths.
CANDIDATES_READ = 2_000
_UPSERT = (
    "INSERT INTO catalog_word (word, movies) VALUES {rows} "
    "ON CONFLICT (word) DO UPDATE SET movies = catalog_word.movies + excluded.movies"
)
_DELETE_UNUSED = "DELETE FROM catalog_word WHERE movies <= 0 AND word IN ({words})"
# Words within the allowed edits of a term share trigrams with it (see
# similarity_bound), in any script: found through the trigram index.
_CANDIDATES_POSTGRESQL = (
    "SELECT word, movies FROM catalog_word "
    "WHERE word %% %s AND length(word) BETWEEN %s AND %s "
    "ORDER BY similarity(word, %s) DESC, word LIMIT %s"
)
_TRIGRAMS_POSTGRESQL = "SELECT cardinality(show_trgm(%s))"
_CHUNK = 10_000


# Words


@lru_cache(maxsize=65_536)  # directors and genres recur: an import meets them again and again
def words_of(text: str) -> frozenset[str]:
    """The vocabulary's words in ``text``: runs of ``\\w`` once normalised, none with a digit."""
    return kept_words(words(text))


def kept_words(text_words: str) -> frozenset[str]:
    """The vocabulary's words among search.words() of a text: those without a digit."""
    return frozenset(word for word in text_words.split() if not _has_digit(word))


def _has_digit(text: str) -> bool:
    # Most words are letters only: str.isalpha answers those at C speed.
    return not text.isalpha() and any(char.isdigit() for char in text)


def movie_words(name: str, director: str, *, name_words: str | None = None) -> frozenset[str]:
    """The words a movie counts once each, from its name and director.

    ``name_words``: search.words(name), when the caller has it already.
    """
    named = kept_words(name_words) if name_words is not None else words_of(name)
    return named | words_of(director)


def changes(before: Iterable[str], after: Iterable[str]) -> dict[str, int]:
    """How each word's count moves when a movie or genre using ``before`` now uses ``after``."""
    old, new = set(before), set(after)
    return {**dict.fromkeys(old - new, -1), **dict.fromkeys(new - old, 1)}


def shift(changes: Mapping[str, int], using: str) -> None:
    """Add each change to its word's count, creating words and dropping those no longer used.

    A handful of statements whatever the number of words, in word order so
    that two writers never wait for each other in a circle.
    """
    rows = sorted((word, amount) for word, amount in changes.items() if amount)
    if not rows:
        return
    with connections[using].cursor() as cursor:
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            chunk = rows[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(
                _UPSERT.format(rows=", ".join(["(%s, %s)"] * len(chunk))),
                [value for row in chunk for value in row],
            )
        fewer = [word for word, amount in rows if amount < 0]
        for start in range(0, len(fewer), _ROWS_PER_STATEMENT):
            gone = fewer[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(_DELETE_UNUSED.format(words=", ".join(["%s"] * len(gone))), gone)


# Corrections


def edits_for_length(length: int) -> int:
    """The edits allowed between two words the longer of which has ``length`` characters."""
    if length < 5:
        return 0
    return 1 if length <= 8 else 2


def allowed_edits(term: str, word: str = "") -> int:
    """How many edits ``term`` may be from ``word``: 0, 1 or 2, as the longer allows.

    Without ``word``: from the words no longer than ``term``.
    """
    if _has_digit(term) or _has_digit(word):
        return 0
    return edits_for_length(max(len(term), len(word)))


def reach(term: str) -> int:
    """The most edits ``term`` may be from any word (a longer word may allow more)."""
    if _has_digit(term):
        return 0
    return max((e for e in (1, 2) if edits_for_length(len(term) + e) >= e), default=0)


def distance(first: str, second: str) -> int:
    """The optimal string alignment distance between two words."""
    return OSA.distance(first, second)


def similarity_bound(term: str, trigrams: int, edits: int) -> float | None:
    """A pg_trgm similarity that every word within ``edits`` of ``term`` reaches.

    ``trigrams``: how many distinct trigrams pg_trgm finds in ``term``. An edit
    breaks at most four of them (a swap; the others three, and a letter made
    or unmade a word break two or three), so a word within ``edits`` keeps at
    least ``trigrams - 4 * edits`` of them; it has at most one trigram more
    than characters, and at most ``len(term) + edits`` characters. That holds
    for words of any script, however pg_trgm splits them. None when the bound
    says nothing: then every word of the right length is a candidate.
    """
    kept = trigrams - 4 * edits
    if kept <= 0:
        return None
    # Rounded down, and a little lower still: PostgreSQL compares in float4.
    return math.floor(kept / (len(term) + 1 + 5 * edits) * 1000) / 1000 - 0.001


def trigram_threshold(term: str, edits: int) -> float | None:
    """similarity_bound of a plain term (``[a-z]+``), its trigrams counted as pg_trgm does."""
    if not _PLAIN.fullmatch(term):
        return None
    return similarity_bound(term, _trigram_count(term, None), edits)


@dataclass
class Budget:
    """What one request may spend on corrections: CORRECTED_PARTS words corrected, and
    time until ``deadline`` (CORRECTION_BUDGET_MS from its start)."""

    deadline: float
    parts: int = CORRECTED_PARTS

    @classmethod
    def start(cls) -> Budget:
        return cls(time.monotonic() + settings.CORRECTION_BUDGET_MS / 1000)

    @property
    def spent(self) -> bool:
        """Whether the time is up."""
        return time.monotonic() >= self.deadline

    def take_part(self) -> bool:
        """Whether one more word may be corrected (counting it), time and parts allowing."""
        if self.parts <= 0 or self.spent:
            return False
        self.parts -= 1
        return True


def candidates(term: str, using: str) -> dict[str, int]:
    """Words (with their counts) that may be within the allowed edits of ``term``.

    A superset of them, unless a length holds more than CANDIDATES_READ
    candidates: then those most similar by trigrams (PostgreSQL), or the first
    read.
    """
    edits = reach(term)
    if not edits:
        return {}
    one_edit = (len(term) - 1, len(term) + 1)
    # Two edits only to words long enough to allow them (9 letters or more).
    two_edits = (max(len(term) - 2, 9), len(term) + 2)
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    trigrams = _trigram_count(term, connection) if postgresql else 0
    if edits == 1 or not postgresql or similarity_bound(term, trigrams, 2) is not None:
        # One read: the bound of two edits lets through every word the bound of one does.
        low = one_edit[0] if edits == 1 else min(one_edit[0], two_edits[0])
        return _candidates_by_length(term, trigrams, edits, low, len(term) + edits, using)
    # Two edits that trigrams cannot bound: the words one edit away through the
    # index all the same, the longer ones by length.
    found = _candidates_by_length(term, trigrams, 1, *one_edit, using)
    found.update(_candidates_by_length(term, trigrams, 2, *two_edits, using))
    return found


def _trigram_count(term: str, connection) -> int:
    """How many distinct trigrams pg_trgm finds in ``term``."""
    if _PLAIN.fullmatch(term):
        padded = f"  {term} "
        return len({padded[start : start + 3] for start in range(len(term) + 1)})
    with connection.cursor() as cursor:
        cursor.execute(_TRIGRAMS_POSTGRESQL, [term])
        return cursor.fetchone()[0] or 0


def _candidates_by_length(
    term: str, trigrams: int, edits: int, low: int, high: int, using: str
) -> dict[str, int]:
    connection = connections[using]
    if connection.vendor == "postgresql":
        threshold = similarity_bound(term, trigrams, edits)
        if threshold is not None:
            # One round trip: the statements of one query string run in one
            # transaction, which is as long as SET LOCAL lasts.
            set_threshold = f"SET LOCAL pg_trgm.similarity_threshold = {threshold:.3f}; "
            with connection.cursor() as cursor:
                cursor.execute(
                    set_threshold + _CANDIDATES_POSTGRESQL,
                    [term, low, high, term, CANDIDATES_READ],
                )
                cursor.nextset()
                return dict(cursor.fetchall())
    words = Word.objects.using(using).annotate(length=Length("word"))
    within = words.filter(length__gte=low, length__lte=high)
    return dict(within.values_list("word", "movies")[:CANDIDATES_READ])


def closest(term: str, words: Mapping[str, int], *, count: int = 1) -> list[str]:
    """Up to ``count`` of ``words`` within the allowed edits of ``term``, closest first.

    Closest: fewest edits, then most movies, then A-Z.
    """
    ranked = []
    for word, movies in words.items():
        edits = allowed_edits(term, word)
        off = OSA.distance(term, word, score_cutoff=edits)
        if off <= edits:
            ranked.append((off, -movies, word))
    return [word for _, _, word in sorted(ranked)[:count]]


def movies_using(groups: list[tuple[list[str], bool]], using: str) -> list[int]:
    """For each group of words, how many movies and genres use them, summed; in one query.

    A group is (words, prefix): with ``prefix``, the words starting with them.
    """
    conditions = []
    for group, prefix in groups:
        condition = Q()
        for word in group:
            condition |= Q(word__startswith=word) if prefix else Q(word=word)
        conditions.append(condition)
    if not conditions:
        return []
    sums = Word.objects.using(using).filter(reduce(operator.or_, conditions))
    totals = sums.aggregate(
        **{f"group{i}": Sum("movies", filter=condition) for i, condition in enumerate(conditions)}
    )
    return [totals[f"group{i}"] or 0 for i in range(len(conditions))]


def is_misspelt(term: str, using: str) -> bool:
    """Whether ``term`` is in no word of the vocabulary."""
    # Not exists(): PostgreSQL, expecting a few matches, would scan the table
    # for the first one, reading all of it for a term in no word; a limit
    # above its estimate keeps it on the trigram index.
    return not Word.objects.using(using).filter(word__contains=term)[:100].count()


def corrected_words(search: Search) -> list[str]:
    """The words of ``search`` did_you_mean may correct: each word of what it does not
    exclude that another may stand for (reach)."""
    clauses = dict.fromkeys(search.clauses)
    return [
        part
        for clause in clauses
        if not clause.excluded
        for part in _WORD_PARTS.findall(clause.text)
        if reach(part)
    ]


def did_you_mean(
    search: Search,
    *,
    finds: Callable[[Search], bool],
    using: str | None = None,
    budget: Budget | None = None,
) -> str | None:
    """The correction of a search that found nothing, as the text to search for, or None.

    ``finds`` runs the corrected search and says whether it finds a movie;
    the correction is only offered then. Within ``budget``
    (a new one by default): words past its parts are kept as typed, and past
    its time there is no correction.
    """
    using = using or router.db_for_read(Word)
    budget = budget or Budget.start()
    clauses = list(dict.fromkeys(search.clauses))  # the first of repeats
    # The query as pieces, each with the texts it may take: a term's words
    # (``prizi`` in ``prizi's``) are corrected one by one, the rest is kept,
    # its syntax too; what it excludes is never corrected into a result.
    pieces: list[list[str]] = []
    misspelt = False
    for position, clause in enumerate(clauses):
        if position:
            pieces.append([" "])
        if clause.excluded:
            pieces.append([clause.typed])
            continue
        quote = '"' if clause.phrase else ""
        if clause.field or quote:
            pieces.append([(f"{clause.field}:" if clause.field else "") + quote])
        for part in filter(None, _WORD_PARTS.split(clause.text)):
            words = []
            if (
                _WORD_PARTS.fullmatch(part)
                and reach(part)
                and budget.parts
                and not budget.spent
                and is_misspelt(part, using)
                and budget.take_part()
            ):
                words = closest(part, candidates(part, using), count=CORRECTIONS_TRIED)
            misspelt = misspelt or bool(words)
            pieces.append(words or [part])
        if quote:
            pieces.append([quote])
    if not misspelt:
        return None
    for steps in closest_first([len(texts) for texts in pieces], CORRECTIONS_TRIED):
        if budget.spent:
            return None
        suggestion = "".join(texts[step] for texts, step in zip(pieces, steps, strict=True))
        if _finds(finds, suggestion):
            return suggestion
    return None


def closest_first(sizes: list[int], count: int) -> list[tuple[int, ...]]:
    """The first ``count`` ways to pick one of each list of ``sizes``, the nearest the front first.

    Ordered by the sum of the positions picked, then as tuples: what sorting
    every way would give, without making them all.
    """
    found: list[tuple[int, ...]] = []
    total, most = 0, sum(size - 1 for size in sizes)
    while len(found) < count and total <= most:
        found += itertools.islice(_summing_to(total, sizes), count - len(found))
        total += 1
    return found


def _summing_to(total: int, sizes: list[int]) -> Iterator[tuple[int, ...]]:
    if not sizes:
        if total == 0:
            yield ()
        return
    for first in range(min(total, sizes[0] - 1) + 1):
        for rest in _summing_to(total - first, sizes[1:]):
            yield (first, *rest)


def _finds(finds: Callable[[Search], bool], suggestion: str) -> bool:
    try:
        return finds(Search.parse(suggestion))
    except InvalidSearch:  # normalisation made it longer than a search may be
        return False
