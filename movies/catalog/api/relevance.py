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
   order). Names with every term: collected through the
   trigram index when they are few, else walked in popularity order along the
   popularity index, which holds search_text. The rest: walked along the
   same index, leaving out what came before.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models import F, Q, QuerySet

from catalog.search import (
    NameLine,
    name_begins_with,
    name_has_every_term,
    relevance_tier,
    split_terms,
    words,
)

POPULARITY_ORDER = ("-popularity", "-id")
# Names beginning with the query's words: fewer than this many are found
# through name_words' index and sorted; more are common enough to walk the
# popularity index for.
BEGINNING_SORTED = 20_000


def by_popularity(rows: list[tuple]) -> list[int]:
    """Keys of (pk, popularity) rows, the more popular first, then the higher id."""
    return [row[0] for row in sorted(rows, key=lambda row: (-row[1], -row[0]))]


@dataclass
class RankedPage:
    keys: list[int]
    count: int
    count_exact: bool
    has_more: bool


def plan_relevance_page(
    queryset: QuerySet, *, query: str, offset: int, limit: int, count_limit: int
) -> RankedPage:
    """The keys of one page of the matches of ``query`` in ``queryset``, best first.

    With their count: exact up to count_limit, else count_limit (a lower bound).
    """
    terms = split_terms(query)
    queryset = queryset.order_by()
    candidates = list(queryset.values_list("pk", "popularity", NameLine())[: count_limit + 1])
    if len(candidates) <= count_limit:
        ranked = sorted(
            candidates,
            key=lambda row: (
                relevance_tier(name_line=row[2], terms=terms, query=query),
                -row[1],
                -row[0],
            ),
        )
        keys = [row[0] for row in ranked[offset : offset + limit]]
        return RankedPage(keys, len(candidates), True, offset + limit < len(candidates))
    wanted = offset + limit + 1
    keys = best_keys(queryset, terms=terms, query=query, wanted=wanted)
    return RankedPage(keys[offset : offset + limit], count_limit, False, len(keys) == wanted)


def best_keys(queryset: QuerySet, *, terms: list[str], query: str, wanted: int) -> list[int]:
    """The first ``wanted`` keys of a broad search in relevance order (fewer if there are not)."""
    keys: list[int] = []
    query_words = words(query)
    if query_words:
        same = queryset.filter(name_words=query_words)
        keys += by_popularity(list(same.values_list("pk", "popularity")[:wanted]))
        if len(keys) >= wanted:
            return keys[:wanted]
        beginning = queryset.filter(name_begins_with(query_words, connections[queryset.db].vendor))
        needed = wanted - len(keys)
        if beginning[:BEGINNING_SORTED].count() < BEGINNING_SORTED:
            # Found through name_words' index and sorted: popularity + 0
            # keeps PostgreSQL from walking the popularity index instead,
            # which would visit the table for every movie it passes.
            ordered = beginning.order_by((F("popularity") + 0).desc(), "-pk")
        else:
            # So many that walking the popularity index soon finds a page.
            ordered = beginning.order_by(*POPULARITY_ORDER)
        keys += list(ordered.values_list("pk", flat=True)[:needed])
        if len(keys) >= wanted:
            return keys[:wanted]
    # Every tier so far is complete: the next ones leave out what they hold.
    ahead = set(keys)
    # A term in the name is in search_text too: said again for the trigram index.
    in_name = queryset.filter(name_has_every_term(terms)).filter(
        *[Q(search_text__contains=term) for term in terms]
    )
    rows = list(in_name.values_list("pk", "popularity")[: wanted + len(ahead) + 1])
    if len(rows) <= wanted + len(ahead):
        keys += by_popularity([row for row in rows if row[0] not in ahead])
    else:
        walk = in_name.order_by(*POPULARITY_ORDER).values_list("pk", flat=True)
        keys += [pk for pk in walk[: wanted + len(ahead)] if pk not in ahead][: wanted - len(keys)]
    if len(keys) >= wanted:
        return keys[:wanted]
    rest = queryset.exclude(name_has_every_term(terms))
    if ahead:
        rest = rest.exclude(pk__in=ahead)
    walk = rest.order_by(*POPULARITY_ORDER).values_list("pk", flat=True)
    return keys + list(walk[: wanted - len(keys)])
