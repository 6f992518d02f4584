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

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet, TextField
from django.db.models.functions import Cast

from catalog.models import Genre
from catalog.reads.walking import estimated_matches

# Counts are exact up to this many movies, a lower bound past it.
FACET_COUNT_LIMIT = 10_000
# From about this many matches on, they are counted in ranges of ids, the first
# meant to hold FACET_HEAD of them: most genres pass the bound among those, and
# only the others are counted further (count_by_id_ranges).
FACET_HEAD_FROM = 200_000
FACET_HEAD = 100_000
# How many more matches than the genre furthest from the bound needs each next
# range is sized for: one range, not two, when the share read so far runs low.
FACET_SPARE = 1.25
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
       (count_past_the_bound); four queries or more, an estimate of the
       matches among them.
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
    1.2 s), where a genre is known to pass ``limit`` long before. Past
    FACET_HEAD_FROM estimated matches they are counted range of ids by range
    (count_by_id_ranges). A count per genre instead re-read a mid-sized
    search's matches once per genre (22 reads of 49,250 matches, 4.1 s, where
    one pass took 0.28 s).
    """
    if not genres:
        return {}
    expected = estimated_matches(found, 1.0)
    if expected < FACET_HEAD_FROM:
        return count_each_genre(found, genres)[1]
    return count_by_id_ranges(found, genres, limit, expected)


def count_by_id_ranges(
    found: QuerySet, genres: list[int], limit: int, expected: float
) -> dict[int, int]:
    """count_past_the_bound, reading ``found`` (about ``expected`` movies) in ranges
    of ids: the first meant to hold FACET_HEAD matches, each next one as many
    as the genre furthest from passing ``limit`` needs at its share so far (and
    FACET_HEAD at least), counting only the genres not past it yet. A genre
    still short when the last id is read has its exact count.

    The ranges are sized by how densely the matches read so far lie among the
    ids; where they lie otherwise, only the number of ranges changes.
    """
    ids = found.model._default_manager.using(found.db).aggregate(low=Min("pk"), high=Max("pk"))
    counts = dict.fromkeys(genres, 0)
    if ids["low"] is None:
        return counts
    low, high = ids["low"], ids["high"]
    start, read, wanted = low - 1, 0, float(FACET_HEAD)
    ids_per_match = (high - start) / max(expected, 1.0)
    short = list(genres)
    while short:
        end = start + math.ceil(wanted * ids_per_match)
        within = (
            found.filter(pk__gt=start) if end >= high else found.filter(pk__range=(start + 1, end))
        )
        matches, found_counts = count_each_genre(within, short)
        counts = _added(counts, found_counts)
        if end >= high:
            break
        read += matches
        start = end
        short = [pk for pk in short if counts[pk] <= limit]
        ids_per_match = (end - low + 1) / max(read, 1)
        still = [(limit + 1 - counts[pk]) * read / max(counts[pk], 1) for pk in short]
        wanted = max([FACET_HEAD, *still]) * FACET_SPARE
    return counts


def _added(counts: dict[int, int], more: dict[int, int]) -> dict[int, int]:
    return {pk: count + more.get(pk, 0) for pk, count in counts.items()}


def count_each_genre(movies: QuerySet, genres: Iterable[int]) -> tuple[int, dict[int, int]]:
    """How many ``movies`` (unordered) there are, and how many of
    them have each of ``genres`` (their ids): one query, one pass over the
    movies, whatever the number of genres."""
    counted = {f"genre_{pk}": Count("pk", filter=Q(genre_ids__has_key=str(pk))) for pk in genres}
    totals = movies.aggregate(read=Count("pk"), **counted)
    read = totals.pop("read")
    counts = {int(name.removeprefix("genre_")): count for name, count in totals.items()}
    return read, counts
