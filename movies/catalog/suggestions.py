"""Suggestions as someone types: the movies whose name or director has the words typed.

The query is split into words as catalog.search.words splits names (case,
accents and punctuation ignored). Each word must match a word of the movie's
name or director: the last one as a prefix (it is still being typed), the
others whole. A word may be one edit away from the word it matches when the
longer of the two has 5 to 8 letters, two when it has 9 or more
(catalog.vocabulary's rule: a letter inserted, deleted or replaced, or two
neighbours swapped); shorter words and words with a digit match exactly. The
last word, when mistyped, matches words within those edits, whole or as a
prefix.

Suggestions are ranked by fewer edits, then more words matched whole (the last
word counts when it is a whole word of the movie's name), then the name's tier as
catalog.search.relevance_tier ranks a search of the words meant (corrections
for typos), read as typing (a name that begins with the text typed so far,
even in the middle of a word, begins with the query), then names that the
words make up more of (fewer other words; ``nosfer`` suggests "Nosferatu"
before "Nosferatu the Vampyre"), then popularity, then id. Text that ends in
a space says another word is coming: a name that is just the words typed then
comes after the names that go on.

They are ranked among at most 3 x CANDIDATES (150) movies: the most popular
that hold every typed word (or one of its corrections) as a word, found
through a word index of names and directors (migration 0009), the most
popular whose name begins with the typed text, and those whose name is it.
Typos are looked for within catalog.vocabulary's Budget: in at most four
words (the last, then the first ones typed), and not once its time is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, Max, QuerySet
from django.db.models.expressions import RawSQL

from catalog import vocabulary
from catalog.search import (
    MAX_QUERY_LENGTH,
    NAME_BEGINS_WITH_QUERY,
    NAME_IS_QUERY,
    OTHER_MATCH,
    line_words,
    name_and_director_lines,
    name_words_starting,
    popular_first,
    relevance_tier,
    words,
)

MAX_WORDS = 10
QUERY_TOO_LONG = f"Suggestions are limited to {MAX_QUERY_LENGTH} characters."
TOO_MANY_WORDS = f"Suggestions are limited to {MAX_WORDS} words."
CANDIDATES = 50
# Names beginning with what is typed: fewer than this many (in the whole
# catalogue) are collected and sorted by popularity, more are walked for in
# popularity order.
BEGINNING_SORTED = 20_000
# The same for movies holding the typed words, as expected_movies estimates;
# PostgreSQL sorts those in the popular slice first (most_popular), about one
# in ten of them, so it sorts more before walking pays.
WORDS_SORTED = 10_000
WORDS_SORTED_IN_SLICE = 30_000
# The popularity from which movies are in their own word index (migration 0010).
POPULAR_SLICE = 80.0
# Corrections kept for each mistyped word: the closest, then the most used.
ALTERNATIVES = 5


class InvalidSuggestion(ValueError):
    """A query the suggestions refuse; the message is meant for the client."""


@dataclass(frozen=True)
class Alternative:
    """A word that may stand for a typed one, and how many edits that takes."""

    word: str
    edits: int


def typed_words(query: str) -> list[str]:
    """The words of ``query``; raises InvalidSuggestion past the limits."""
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidSuggestion(QUERY_TOO_LONG)
    found = words(query).split()
    if len(found) > MAX_WORDS:
        raise InvalidSuggestion(TOO_MANY_WORDS)
    return found


def alternatives(word: str, using: str, budget: vocabulary.Budget) -> list[Alternative]:
    """The word itself, then the catalogue's words within the edits it may be off by
    (within ``budget``: past it, the word alone)."""
    found = [Alternative(word, 0)]
    if not vocabulary.reach(word) or not budget.take_part():
        return found
    close = [
        (vocabulary.distance(word, other), -movies, other)
        for other, movies in vocabulary.candidates(word, using).items()
        if other != word
    ]
    found += [
        Alternative(other, off)
        for off, _, other in sorted(
            rank for rank in close if rank[0] <= vocabulary.allowed_edits(word, rank[2])
        )[:ALTERNATIVES]
    ]
    return found


def suggest(queryset: QuerySet, query: str, limit: int) -> list[int]:
    """The keys of up to ``limit`` movies of ``queryset`` for ``query``, best first."""
    typed = typed_words(query)
    if not typed:
        return []
    # The word still being typed first: it is the one most likely mistyped.
    budget = vocabulary.Budget.start()
    last = alternatives(typed[-1], queryset.db, budget)
    options = [alternatives(word, queryset.db, budget) for word in typed[:-1]] + [last]
    more_words = query[-1:].isspace()
    ranked = []
    for pk, popularity, search_text in candidates(queryset, options, " ".join(typed)):
        name_line, director_line = name_and_director_lines(search_text)
        matched = match(
            options, set(line_words(name_line).split()), set(line_words(director_line).split())
        )
        if matched is not None:
            key = rank(
                matched,
                name_line=name_line,
                more_words=more_words,
                popularity=popularity,
                pk=pk,
            )
            ranked.append((key, pk))
    return [pk for _, pk in sorted(ranked)[:limit]]


def candidates(queryset: QuerySet, options: list[list[Alternative]], typed_text: str) -> list:
    """(pk, popularity, search_text) of the movies suggestions are ranked among, once each.

    The CANDIDATES most popular holding every typed word (or an alternative),
    the CANDIDATES most popular whose name begins with the text typed, and
    those whose name is it.
    """
    using = queryset.db
    columns = ("pk", "popularity", "search_text")
    vendor = connections[using].vendor
    names = queryset.model._default_manager.using(using)
    last = len(options) - 1
    used = vocabulary.movies_using(
        [([a.word for a in choices], i == last) for i, choices in enumerate(options)], using
    )
    # The catalogue's size, taken as its highest id, which an index answers.
    size = None
    if len(options) > 1 or vendor == "sqlite":
        size = names.aggregate(size=Max("pk"))["size"] or 0
    # Few enough to collect through the word index and sort, else walked for.
    sorted_at_most = WORDS_SORTED_IN_SLICE if vendor == "postgresql" else WORDS_SORTED
    walk = expected_movies(used, size) > sorted_at_most
    condition = holding_every_word(options, using, walk=walk)
    popular = queryset.filter(condition) if condition is not None else queryset.none()
    rows = {row[0]: row for row in most_popular(popular, columns, walk=walk, vendor=vendor)}
    starting = name_words_starting(typed_text, vendor)

    # SQLite's popularity index holds no names: a walk reads the table for
    # each movie it passes (about CANDIDATES * size / found), sorting for
    # each movie found.
    def walk_for(found: int) -> bool:
        if vendor == "sqlite" and found * found > CANDIDATES * (size or 0):
            return True
        return found >= BEGINNING_SORTED

    # A name beginning with the text typed uses each typed word: the fewest
    # movies using one bounds how many there are, and when even that bound
    # says to sort, they need not be counted.
    many = walk_for(min(used))
    if many:
        many = walk_for(names.filter(starting)[:BEGINNING_SORTED].count())
    starting = name_words_starting(typed_text, vendor, indexed=not many)
    beginning = popular_first(queryset.filter(starting), walk=many)
    # Names that are the text typed: too few to be among the most popular of
    # a short beginning ("M"), yet the best of suggestions.
    named = popular_first(queryset.filter(name_words=typed_text), walk=False)
    # Their keys first, from name_words' index alone (it holds what orders
    # them), then the texts of the few kept: the table is read for those only.
    keys = [*beginning.values_list("pk", flat=True)[:CANDIDATES]]
    keys += named.values_list("pk", flat=True)[:CANDIDATES]
    missing = [key for key in keys if key not in rows]
    if missing:
        rows.update((row[0], row) for row in names.filter(pk__in=missing).values_list(*columns))
    return list(rows.values())


def most_popular(popular: QuerySet, columns: tuple[str, ...], *, walk: bool, vendor: str) -> list:
    """The CANDIDATES most popular of ``popular`` (the more popular first, then the higher id).

    Collected and sorted, on PostgreSQL first among the movies of popularity
    POPULAR_SLICE or more, which an index of their own serves (migration
    0010): when they are enough, no other movie could be among them.
    """
    if not walk and vendor == "postgresql":
        slice_ = popular.filter(popularity__gte=POPULAR_SLICE)
        found = list(popular_first(slice_, walk=False).values_list(*columns)[:CANDIDATES])
        if len(found) == CANDIDATES:
            return found
    return list(popular_first(popular, walk=walk).values_list(*columns)[:CANDIDATES])


# The movies whose words hold every typed word (or an alternative to it), the
# last as a prefix, through the word index of migration 0009.
# On the movie's own row on PostgreSQL, so that the planner weighs the GIN
# index against walking the popularity index with its statistics of the column.
_HOLDING_POSTGRESQL = "words @@ to_tsquery('simple', %s)"
# On SQLite, ``+`` keeps the planner from looking the matches up by id and
# sorting them all when a walk in popularity order is wanted.
_HOLDING_SQLITE = (
    "{plus}catalog_movie.id IN "
    "(SELECT rowid FROM catalog_movie_words WHERE catalog_movie_words MATCH %s)"
)


def holding_every_word(
    options: list[list[Alternative]], using: str, *, walk: bool = False
) -> RawSQL | None:
    """A condition on movies: their words hold every typed word.

    None where the database has no word index; the words index ignores case
    as the words are already folded, and splits text at what is not a letter
    or digit, as catalog.search.words does. ``walk``: the movies are to be
    found walking the popularity index.
    """
    vendor = connections[using].vendor
    last = len(options) - 1
    if vendor == "postgresql":
        query = " & ".join(
            "(" + " | ".join(_tsquery_word(a.word, prefix=i == last) for a in choices) + ")"
            for i, choices in enumerate(options)
        )
        return RawSQL(_HOLDING_POSTGRESQL, [query], output_field=BooleanField())
    if vendor == "sqlite":
        query = " AND ".join(
            "(" + " OR ".join(f'"{a.word}"' + ("*" if i == last else "") for a in choices) + ")"
            for i, choices in enumerate(options)
        )
        sql = _HOLDING_SQLITE.format(plus="+" if walk else "")
        return RawSQL(sql, [query], output_field=BooleanField())
    return None


def _tsquery_word(word: str, *, prefix: bool) -> str:
    # Quoted, so that a word that is also tsquery syntax stays a word; the
    # parser splits it as it split the indexed text.
    return "'" + word + "'" + (":*" if prefix else "")


def expected_movies(used: list[int], size: int | None) -> float:
    """About how many movies hold every typed word, from the vocabulary's counts.

    ``used``: for each typed word, the movies using it or its alternatives
    (the last word as a prefix). Each word's share of the ``size`` movies,
    multiplied as if the words were independent: an estimate, only used to
    choose between sorting and walking. One word needs no size.
    """
    if len(used) == 1:
        return float(used[0])
    if not size:
        return 0
    expected = float(size)
    for count in used:
        expected *= min(1.0, count / size)
    return expected


@dataclass(frozen=True)
class Match:
    """How a movie's words match what was typed: the words meant, edits, words whole."""

    meant: tuple[str, ...]
    edits: int
    whole: int


def match(
    options: list[list[Alternative]], name_words: set[str], director_words: set[str]
) -> Match | None:
    """The best way the movie's words match the typed words (or their alternatives), or None.

    Best: fewest edits, then most words matched whole, then the words meant
    first alphabetically. The word still being typed counts as whole only as
    a word of the name: that "F." directed a movie says nothing of ``the f``.
    """
    movie_words = name_words | director_words
    meant: list[str] = []
    edits = whole = 0
    last = len(options) - 1
    for position, choices in enumerate(options):
        best = None
        for choice in choices:
            if choice.word in (name_words if position == last else movie_words):
                found = (choice.edits, -1, choice.word)
            elif position == last and any(w.startswith(choice.word) for w in movie_words):
                found = (choice.edits, 0, choice.word)
            else:
                continue
            if best is None or found < best:
                best = found
        if best is None:
            return None
        edits += best[0]
        whole -= best[1]
        meant.append(best[2])
    return Match(tuple(meant), edits, whole)


def rank(found: Match, *, name_line: str, more_words: bool, popularity: float, pk: int) -> tuple:
    """The sort key of a suggestion, best first (see the module's docstring)."""
    meant = " ".join(found.meant)
    tier = relevance_tier(
        name_line=name_line, terms=found.meant, query_words=meant, still_typing=True
    )
    if more_words and tier == NAME_IS_QUERY:
        tier = NAME_BEGINS_WITH_QUERY  # another word is coming: the name must go on
    # Within a tier of the name, the name the words typed make up more of first.
    extra = len(line_words(name_line).split()) - len(found.meant) if tier < OTHER_MATCH else 0
    length = (more_words and extra <= 0, extra)
    return (found.edits, -found.whole, tier, length, -popularity, -pk)
