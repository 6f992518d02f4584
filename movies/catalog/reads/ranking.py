"""Pages of a search in relevance order (catalog.search.relevance_tier).

The order is search.order_by_relevance's; one ORDER BY of it would rank every
match of a broad search (hundreds of thousands for ``the``) to show twenty.
Instead the page is planned from the data, as plan_page plans the other
orders:

1. Up to count_limit + 1 matches, with what ranks them. Few matches (the
   count is exact): ranked in Python, the page cut from them.
2. Many matches: the tiers one after the other, each until the page is full.
   Names that are the query's words, then names beginning with them: looked
   up in name_words' index (or, when they are very many, walked in popularity
   order). Names with every term: walked in popularity order along the
   popularity index, which holds search_text, when they are common among the
   first matches, else collected (through the trigram index on PostgreSQL).
   SQLite's popularity index holds no text, so a walk there reads the table
   for every movie it passes: it walks only as far as WALK_SQLITE movies and
   otherwise scans and sorts, which is several times cheaper per movie.
   The rest: walked along the same index, leaving out what came before, as
   far as that is cheaper than sorting them (catalog.reads.walking).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

from catalog.reads.paging import tally_keys
from catalog.reads.walking import first_in_order
from catalog.search import (
    POPULAR_FIRST,
    NameLine,
    Search,
    is_word,
    name_begins_with,
    name_has_every_term,
    popular_first,
    relevance_tier,
    term_in_text,
)

# Names with every term are walked for in popularity order when at least one
# in this many of the first matches has one; else they are collected.
NAMES_COMMON = 10
# Names beginning with the query's words: fewer than this many (in the whole
# catalogue) are found through name_words' index and sorted; more are common
# enough to walk the popularity index for.
BEGINNING_SORTED = 20_000
# Names with every term, in the whole catalogue, checked against the other
# filters by key rather than walked for; more are walked for.
NAMES_CHECKED = 2_000
# The most movies a walk in popularity order is expected to pass on SQLite.
WALK_SQLITE = 10_000


def walk_is_cheap(*, vendor: str, needed: int, share: float) -> bool:
    """Whether walking the popularity index for ``needed`` movies, ``share`` of those
    it passes, beats collecting them all and sorting."""
    if share <= 0:
        return False
    return vendor != "sqlite" or needed / share <= WALK_SQLITE


def matching_in_order(names: QuerySet, queryset: QuerySet | None, needed: int) -> list[int]:
    """Up to ``needed`` keys of ``names`` that ``queryset`` holds, the more popular first.

    ``names`` are sorted as found through name_words' index (popular_first),
    then checked against ``queryset`` a growing batch at a time; without
    ``queryset``, every one is taken.
    """
    ordered = popular_first(names, walk=False).values_list("pk", flat=True)
    if queryset is None:
        return list(ordered[:needed])
    found: list[int] = []
    start, batch = 0, max(2 * needed, 100)
    while len(found) < needed:
        keys = list(ordered[start : start + batch])
        held = set(queryset.filter(pk__in=keys).values_list("pk", flat=True)) if keys else set()
        found += [key for key in keys if key in held]
        if len(keys) < batch:
            break
        start, batch = start + batch, batch * 2
    return found[:needed]


def names_with_every_term(
    movies: QuerySet, terms: list[str], vendor: str, *, narrowed: bool = False
) -> QuerySet:
    """The movies whose name holds every term, as each database finds them fastest.

    On PostgreSQL each term is said again of search_text (term_in_text), for
    its indexes (a term in the name is in search_text too), ``narrowed`` as
    term_in_text says. On SQLite, when every term is a word, only name_words'
    index is scanned, which holds the names' words and the ids and is several
    times smaller than the table.
    """
    named = movies.filter(name_has_every_term(terms, vendor))
    if vendor != "sqlite":
        said = [term_in_text(term, vendor, narrowed=narrowed) for term in terms]
        return named.filter(*said)
    if all(is_word(term) for term in terms):
        return movies.filter(pk__in=named.values("pk"))
    return named


def by_popularity(rows: list[tuple]) -> list[int]:
    """Keys of (pk, popularity) rows, the more popular first, then the higher id."""
    return [row[0] for row in sorted(rows, key=lambda row: (-row[1], -row[0]))]


@dataclass
class RankedPage:
    keys: list[int]
    count: int
    count_exact: bool
    has_more: bool
    tally: Counter[str] | None = None


def plan_relevance_page(
    queryset: QuerySet,
    *,
    search: Search,
    offset: int,
    limit: int,
    count_limit: int,
    other_filters: bool = True,
    tally: str | None = None,
) -> RankedPage:
    """The keys of one page of the matches of ``search`` in ``queryset``, best first.

    With their count: exact up to count_limit, else count_limit (a lower bound).
    ``other_filters``: whether ``queryset`` is filtered by more than the search.
    ``tally``: a JSON object field whose keys are tallied among the matches
    counted, read with them (as paging.plan_page does).
    """
    terms = list(search.name_terms)
    queryset = queryset.order_by()
    read: list[str | NameLine] = ["pk", "popularity", NameLine(), *([tally] if tally else [])]
    candidates = list(queryset.values_list(*read)[: count_limit + 1])
    tallied = tally_keys(row[-1] for row in candidates[:count_limit]) if tally else None
    if len(candidates) <= count_limit:
        query_words = search.words
        ranked = sorted(
            candidates,
            key=lambda row: (
                relevance_tier(name_line=row[2], terms=terms, query_words=query_words),
                -row[1],
                -row[0],
            ),
        )
        keys = [row[0] for row in ranked[offset : offset + limit]]
        has_more = offset + limit < len(candidates)
        return RankedPage(keys, len(candidates), True, has_more, tallied)
    wanted = offset + limit + 1
    # How common names with every term are among the first matches says
    # whether to walk for them in popularity order or collect them.
    in_name = sum(all(term in row[2] for term in terms) for row in candidates)
    keys = best_keys(
        queryset,
        search=search,
        wanted=wanted,
        other_filters=other_filters,
        names_share=in_name / len(candidates),
    )
    page_keys = keys[offset : offset + limit]
    return RankedPage(page_keys, count_limit, False, len(keys) == wanted, tallied)


def best_keys(
    queryset: QuerySet,
    *,
    search: Search,
    wanted: int,
    other_filters: bool = True,
    names_share: float = 0.0,
) -> list[int]:
    """The first ``wanted`` keys of a broad search in relevance order (fewer if there are not).

    ``names_share``: the share of the first matches whose name holds every term.
    """
    vendor = connections[queryset.db].vendor
    keys: list[int] = []
    terms = list(search.name_terms)
    query_words = search.words
    if query_words:
        # The whole catalogue's names, through name_words' index; whether the
        # search and the other filters take them is asked of their keys.
        names = queryset.model._default_manager.using(queryset.db)
        same = names.filter(name_words=query_words)
        # A name whose words are, or begin with, the query's words holds every
        # term that is a word: when the search alone filters, it matches.
        words_match = not other_filters and all(is_word(term) for term in terms)
        held_by = None if words_match else queryset
        keys += matching_in_order(same, held_by, wanted)
        if len(keys) >= wanted:
            return keys[:wanted]
        beginning = name_begins_with(query_words, vendor)
        if names.filter(beginning)[:BEGINNING_SORTED].count() < BEGINNING_SORTED:
            keys += matching_in_order(names.filter(beginning), held_by, wanted - len(keys))
        else:
            # So many that walking the popularity index soon fills the page.
            walk = popular_first(queryset.filter(beginning), walk=True)
            keys += list(walk.values_list("pk", flat=True)[: wanted - len(keys)])
        if len(keys) >= wanted:
            return keys[:wanted]
    # Every tier so far is complete: the next ones leave out what they hold.
    ahead = set(keys)
    # A name with every term matches the search, so such names are read
    # from the whole catalogue, without the search's conditions on genres;
    # when other filters apply, the few found are then checked against them
    # by key, rather than every movie against the filters.
    whole = queryset.model._default_manager.using(queryset.db)
    named = names_with_every_term(whole, terms, vendor)
    in_name = queryset.filter(pk__in=named.values("pk")) if other_filters else named
    needed = wanted + len(ahead)
    few = None
    if names_share * NAMES_COMMON < 1:
        checked = max(needed, NAMES_CHECKED)
        # Every one read, no order walked: narrowed as far as the indexes go.
        narrowest = names_with_every_term(whole, terms, vendor, narrowed=True)
        few = list(narrowest.values_list("pk", "popularity")[: checked + 1])
        if len(few) > checked:
            few = None
        elif other_filters:
            held = set(
                queryset.filter(pk__in=[row[0] for row in few]).values_list("pk", flat=True)
            )
            few = [row for row in few if row[0] in held]
    if few is not None and len(few) <= needed:
        keys += by_popularity([row for row in few if row[0] not in ahead])
    else:
        cheap = walk_is_cheap(vendor=vendor, needed=needed, share=names_share)
        ordered = popular_first(in_name, walk=cheap).values_list("pk", flat=True)
        keys += [pk for pk in ordered[:needed] if pk not in ahead][: wanted - len(keys)]
    if len(keys) >= wanted:
        return keys[:wanted]
    rest = queryset.exclude(name_has_every_term(terms, vendor))
    if ahead:
        rest = rest.exclude(pk__in=ahead)
    return keys + first_in_order(rest, POPULAR_FIRST, wanted - len(keys))
