"""Facets of the movie list: how many movies each genre would give, at a bounded cost.

A genre's count is of the matches that have it: exact up to FACET_COUNT_LIMIT,
past it that many as a lower bound (``count_exact`` false), as the list's own
count is bounded (catalog.reads.paging). Which matches are counted is the
caller's choice (catalog.reads.listing): the API's genre facet counts the
list's matches with its genre filters left out, so that choosing a genre
never changes the genre facet (disjunctive faceting); the search page's chips
count the page's own matches, the genres it adds narrowing them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast

from catalog.models import Genre
from catalog.reads.walking import estimated_matches

# Counts are exact up to this many movies, a lower bound past it.
FACET_COUNT_LIMIT = 10_000
# From about this many matches on, the genres of FACET_HEAD of them are counted
# first: most genres pass the bound among them, and only the others need more.
FACET_HEAD_FROM = 200_000
FACET_HEAD = 100_000
# A key of genre_ids in its JSON text: ids are digits, and every value is true.
_GENRE_ID_KEY = re.compile(r'"([0-9]+)":')


@dataclass(frozen=True)
class GenreCount:
    """A genre and how many of the matches counted have it: exactly, or when
    ``count_exact`` is false, at least that many (FACET_COUNT_LIMIT)."""

    id: int
    name: str
    count: int
    count_exact: bool = True


def genre_facet(
    matches: Callable[[], QuerySet],
    *,
    using: str,
    whole_catalogue: bool = False,
    tally: Counter[str] | None = None,
) -> list[GenreCount]:
    """How many of the movies ``matches()`` finds have each genre, the most first, then
    by name; genres none of them has are left out.

    ``matches`` is called only when they are read (a search may read the
    catalogue as it is built); ``using``, the database. ``whole_catalogue``:
    they are every movie (no search terms, no filter). ``tally``: the keys of
    the genre_ids of every match (Page.tally of an exact count), when the list
    read them already. The plan, cheapest first:

    1. Every movie: each genre's stored movie_count. One query.
    2. A tally at hand: one query, naming the genres.
    3. Up to FACET_COUNT_LIMIT matches: the genre_ids of at most
       FACET_COUNT_LIMIT + 1 of them, read as text and tallied
       (tally_genre_ids); two queries.
    4. More: every genre with movies counted over the matches
       (count_past_the_bound); three queries or more.
    """
    if tally is not None and not tally:
        return []
    limit = FACET_COUNT_LIMIT
    catalogue = list(
        Genre.objects.using(using).order_by().values_list("pk", "name", "movie_count")
    )
    if whole_catalogue:
        counts = {pk: movie_count for pk, _, movie_count in catalogue}
    else:
        found = None
        if tally is None:
            found = matches().order_by()
            texts = found.annotate(genre_text=Cast("genre_ids", TextField()))
            rows = list(texts.values_list("genre_text", flat=True)[: limit + 1])
            if len(rows) <= limit:
                tally = tally_genre_ids(rows)
        if tally is not None:
            counts = {pk: tally[str(pk)] for pk, _, _ in catalogue}
        else:
            assert found is not None
            genres = [pk for pk, _, count in catalogue if count > 0]
            counts = count_past_the_bound(found, genres, limit)
    given = [
        GenreCount(pk, name, min(count, limit), count <= limit)
        for pk, name, _ in catalogue
        if (count := counts.get(pk, 0)) > 0
    ]
    return sorted(given, key=lambda genre: (-genre.count, genre.name))


def tally_genre_ids(texts: Iterable[str]) -> Counter[str]:
    """How many of the genre_ids ``texts`` (JSON objects as text) have each key.

    Read as text, not decoded: several times cheaper for ten thousand rows,
    and exact for what genre_ids holds (digit keys, true values; within JSON
    text a quote only ends a string, so ``"7":`` can only be the key 7).
    """
    return Counter(_GENRE_ID_KEY.findall("\n".join(texts)))


def count_past_the_bound(found: QuerySet, genres: list[int], limit: int) -> dict[int, int]:
    """How many of ``found`` (more than ``limit`` movies, unordered) have each of
    ``genres``: exactly, or more than ``limit``.

    One pass over every match counts each genre exactly, but a search that
    matches most of the catalogue reads it all (``drama``: 847,160 matches,
    1.2 s). Past FACET_HEAD_FROM estimated matches, FACET_HEAD of them are
    counted first; a genre more than ``limit`` of those have is done. Each
    other genre is then counted on until it passes ``limit`` if that reads
    fewer matches in all than one more pass (judged by its share of the
    head), else one pass counts them all: a count per genre of a mid-sized
    search re-reads its matches once per genre (22 reads of 49,250 matches,
    4.1 s, where one pass took 0.28 s).
    """
    if not genres:
        return {}
    expected = estimated_matches(found, 1.0)
    if expected < FACET_HEAD_FROM:
        return count_each_genre(found, genres)[1]
    head, counts = count_each_genre(found[:FACET_HEAD], genres)
    if head < FACET_HEAD:
        return counts
    short = [pk for pk in genres if counts[pk] <= limit]
    to_read = sum((limit + 1) * head / counts[pk] if counts[pk] else expected for pk in short)
    if to_read < expected:
        for pk in short:
            counts[pk] = found.filter(genre_ids__has_key=str(pk))[: limit + 1].count()
    elif short:
        counts.update(count_each_genre(found, short)[1])
    return counts


def count_each_genre(movies: QuerySet, genres: Iterable[int]) -> tuple[int, dict[int, int]]:
    """How many ``movies`` (unordered; may be sliced) there are, and how many of
    them have each of ``genres`` (their ids): one query, one pass over the
    movies, whatever the number of genres."""
    counted = {f"genre_{pk}": Count("pk", filter=Q(genre_ids__has_key=str(pk))) for pk in genres}
    totals = movies.aggregate(read=Count("pk"), **counted)
    read = totals.pop("read")
    counts = {int(name.removeprefix("genre_")): count for name, count in totals.items()}
    return read, counts
