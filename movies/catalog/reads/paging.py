"""A page of an ordered queryset, and how many rows match, at a bounded cost.

Counts are exact up to a count limit; past it the count is a lower bound, as
Elasticsearch's ``track_total_hits`` does, so a broad search never counts a
million rows. The plan is chosen from the data (plan_page). The rows counted
may be tallied by the keys of a JSON field in the same query (tally_keys), as
facets are counted alongside the hits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from django.core.exceptions import FieldDoesNotExist
from django.db.models import FloatField, IntegerField, QuerySet

from catalog.reads.cursors import Cursor, reversed_keys
from catalog.reads.walking import first_in_order, past, walk_order


@dataclass
class Page:
    """Rows of a list, how many the list holds, and whether rows follow (has_more) or,
    on a cursor page, come before them (has_before)."""

    rows: list
    count: int
    count_exact: bool
    has_more: bool
    has_before: bool = False
    # The tallied field's keys among the rows counted, when a tally was asked for.
    tally: Counter[str] | None = None


def tally_keys(objects: Iterable[dict | None]) -> Counter[str]:
    """How many of ``objects`` (a JSON object field's values) have each key."""
    return Counter(key for value in objects for key in value or ())


# The rows for these keys, in the order of the keys.
RowsFor = Callable[[list], list]


def rows_by_key(queryset: QuerySet) -> RowsFor:
    """Rows of ``queryset`` (with its column choice and prefetches) looked up by key."""

    def rows_for(keys: list) -> list:
        by_key = {row.pk: row for row in queryset.filter(pk__in=keys).order_by()}
        return [by_key[key] for key in keys if key in by_key]

    return rows_for


def numeric_ordering(queryset: QuerySet) -> list[tuple[str, bool]] | None:
    """The queryset's ordering as (field, descending) pairs, if every key is a number.

    Python orders numbers exactly as the database does, so it can sort
    candidates it already holds; text follows the database's collation, which
    Python does not share. None when any key is not a non-null number.
    """
    opts = queryset.model._meta
    keys = []
    for term in queryset.query.order_by:
        if not isinstance(term, str):
            return None
        name = term.lstrip("-")
        try:
            field = opts.pk if name == "pk" else opts.get_field(name)
        except FieldDoesNotExist:
            return None
        if field.null or not isinstance(field, (IntegerField, FloatField)):
            return None
        keys.append((field.attname, term.startswith("-")))
    return keys or None


def plan_page(
    queryset: QuerySet,
    *,
    rows_for: RowsFor,
    offset: int,
    limit: int,
    count_limit: int,
    tally: str | None = None,
    after: tuple | None = None,
) -> Page:
    """One page of an ordered queryset, and how many rows match.

    The plan is chosen from the data rather than left to the database's
    estimates, which go wrong for combined LIKE conditions:

    1. Up to count_limit + 1 matching keys, in no order (with the values they
       are ordered by, when those are numbers). A broad search stops early; a
       narrow one is collected through the trigram index.
    2. Few matches (count exact): order just those, in Python when the
       ordering is numeric, else by the database looking them up by key.
       Many matches: walk the ordering's index (on PostgreSQL, the numbers'
       hold search_text, so entries are filtered without visiting the table)
       as far as the matches found along it say is cheaper than sorting them
       all (catalog.reads.walking).
    3. The page's rows from ``rows_for``, by key, so the filters are never
       evaluated twice.

    With ``tally`` (a JSON object field), the keys of that field among the
    matches counted in step 1, read with them (Page.tally).

    With ``after`` (an entry of the order, a field then the key), the page
    holds only rows past it, and the walk starts there; the count is of those.
    """
    if after is not None:
        walked = walk_order(queryset)
        assert walked is not None, "pages after an entry are of a field, then the key"
        queryset = queryset.filter(past(walked, after))
    sort_keys = numeric_ordering(queryset)
    sort_columns = [field for field, _ in sort_keys or ()]
    read = ["pk", *sort_columns, *([tally] if tally else [])]
    candidates = list(queryset.values_list(*read).order_by()[: count_limit + 1])
    tallied = tally_keys(row[-1] for row in candidates[:count_limit]) if tally else None
    if len(candidates) <= count_limit:
        if sort_keys:
            # Stable sorts, least significant key first.
            for position, (_, descending) in reversed(list(enumerate(sort_keys, start=1))):
                candidates.sort(key=itemgetter(position), reverse=descending)
            keys = [row[0] for row in candidates[offset : offset + limit]]
        else:
            matching = queryset.model._default_manager.using(queryset.db).filter(
                pk__in=[row[0] for row in candidates]
            )
            ordered = matching.order_by(*queryset.query.order_by).values_list("pk", flat=True)
            keys = list(ordered[offset : offset + limit])
        has_more = offset + limit < len(candidates)
        return Page(rows_for(keys), len(candidates), True, has_more, tally=tallied)
    order = walk_order(queryset)
    if order is None:
        keys = list(queryset.values_list("pk", flat=True)[offset : offset + limit + 1])
    else:
        keys = first_in_order(queryset, order, offset + limit + 1, after=after)[offset:]
    return Page(rows_for(keys[:limit]), count_limit, False, len(keys) > limit, tally=tallied)


def plan_cursor_page(
    queryset: QuerySet,
    keys: Sequence[str],
    *,
    rows_for: RowsFor,
    cursor: Cursor,
    limit: int,
    count_limit: int,
) -> Page:
    """The page of ``queryset`` in the order of ``keys`` (a field, then the key) that
    ``cursor`` starts: past its entry, or before it read backwards and turned round.

    The count is of the whole list, as on an offset page (bounded the same way).
    """
    order = reversed_keys(keys) if cursor.backwards else tuple(keys)
    page = plan_page(
        queryset.order_by(*order),
        rows_for=rows_for,
        offset=0,
        limit=limit,
        count_limit=count_limit,
        after=cursor.entry,
    )
    if cursor.entry is not None and page.count_exact:
        # Past the cursor, fewer than the limit: the rows before it count too. (More
        # than the limit past it: the whole list's count is the lower bound already.)
        counted = queryset.order_by().values("pk")[: count_limit + 1].count()
        page.count, page.count_exact = min(counted, count_limit), counted <= count_limit
    if cursor.backwards:
        page.rows.reverse()
        page.has_more, page.has_before = True, page.has_more
    else:
        page.has_before = cursor.entry is not None
    return page
