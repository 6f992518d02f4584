"""The first rows of a filtered queryset in an indexed order, at a cost bounded by the data.

Walking an order index (popularity, imdb_score or name, then id) finds the
first matches of a broad search at once when they are spread along it, and
passes most of the table when they are not: ``77`` matches the movies whose
popularity is 77.x, which sit together in popularity order, and a deep page of
a rarer term needs many entries per match. Sorting every match instead costs
what they number. The database's estimates cannot choose (they take matches
to be spread evenly), so the walk is made in steps that stop:

1. Walk only the first ``budget`` entries of the order: a range ending at the
   entry found there (boundary), so the walk stops there whatever it finds.
2. Not enough there: the matches found say how dense they are at the start of
   the order. While that density makes the rest of the walk cheaper than
   sorting every match (as many as PostgreSQL estimates, else density x rows),
   the walk is tried again, as far as that density says it needs; otherwise
   every match is found through whatever narrows them (the trigram index) and
   sorted, with no index walk.

A boundary depends on the catalogue, not on the search, so each process
remembers it for BOUNDARY_TTL seconds. A stale one is still exact: every range
ending at an entry is a prefix of the order, so only where the walk stops moves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from django.db import connections
from django.db.models import F, FloatField, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Concat

WALK_BUDGET = 10_000
WALK_SPARE = 1.25
BOUNDARY_TTL = 60.0

_remembered: dict[tuple, tuple[float, object]] = {}


def first_in_order(
    queryset: QuerySet, keys: Sequence[str], needed: int, *, after: tuple | None = None
) -> list:
    """The primary keys of the first ``needed`` rows of ``queryset`` ordered by ``keys``:
    a field, then the primary key (``("-popularity", "-id")``), as ordering_keys gives.

    With ``after`` (an entry's values of ``keys``), the queryset holds only rows
    past it (``past``), and the walk starts there: a cursor page deep in the
    order costs what the first page does.
    """
    ordered = queryset.order_by(*keys).values_list("pk", flat=True)
    budget = WALK_BUDGET
    while budget < needed:
        budget *= 2
    while True:
        edge = boundary(queryset, keys, budget, after=after)
        if edge is None:  # fewer entries than the budget: the walk is bounded by the table
            return list(ordered[:needed])
        found = list(ordered.filter(within(keys, edge))[:needed])
        if len(found) >= needed:
            return found
        density = len(found) / budget
        if density == 0 or (needed - len(found)) / density > estimated_matches(queryset, density):
            return sorted_matches(queryset, keys, needed)
        # Far enough, at that density, with room to spare; budgets double, so that
        # boundaries are shared by many searches.
        while budget * density < needed * WALK_SPARE:
            budget *= 2


def walk_order(queryset: QuerySet) -> tuple[str, str] | None:
    """The queryset's ordering if first_in_order can walk it: a field, then the key."""
    order = [key for key in queryset.query.order_by if isinstance(key, str)]
    if len(order) != 2 or len(queryset.query.order_by) != 2:
        return None
    field, tie = order
    if tie.lstrip("-") not in ("pk", queryset.model._meta.pk.name) or "__" in field:
        return None
    return field, tie


def sorted_matches(queryset: QuerySet, keys: Sequence[str], needed: int) -> list:
    """The first ``needed`` keys in the order of ``keys``, every match found and sorted.

    The ordering field is wrapped in an expression no index holds, so the
    database cannot walk an order index instead.
    """
    field, tie = keys
    name = field.lstrip("-")
    wrapped = unindexed(queryset, name)
    first = wrapped.desc() if field.startswith("-") else wrapped.asc()
    return list(queryset.order_by(first, tie).values_list("pk", flat=True)[:needed])


def unindexed(queryset: QuerySet, name: str):
    """The field ``name`` as an expression that sorts like it and that no index serves."""
    if isinstance(queryset.model._meta.get_field(name), (IntegerField, FloatField)):
        return F(name) + 0
    return Concat(F(name), Value(""))


def within(keys: Sequence[str], edge: tuple) -> Q:
    """Rows at or before the entry ``edge`` (its values of ``keys``) in that order.

    Written as a range on the first key (which bounds the index walk), then the
    tie-break on the second.
    """
    (field, tie), (value, tie_value) = keys, edge
    name, tie_name = field.lstrip("-"), tie.lstrip("-")
    before, at_or_before = ("gt", "gte") if field.startswith("-") else ("lt", "lte")
    tie_at_or_before = "gte" if tie.startswith("-") else "lte"
    return Q(**{f"{name}__{at_or_before}": value}) & (
        Q(**{f"{name}__{before}": value}) | Q(**{f"{tie_name}__{tie_at_or_before}": tie_value})
    )


def past(keys: Sequence[str], edge: tuple) -> Q:
    """Rows after the entry ``edge`` (its values of ``keys``) in that order: within's
    complement, written the same way so that the range bounds the index walk."""
    (field, tie), (value, tie_value) = keys, edge
    name, tie_name = field.lstrip("-"), tie.lstrip("-")
    beyond, at_or_beyond = ("lt", "lte") if field.startswith("-") else ("gt", "gte")
    tie_beyond = "lt" if tie.startswith("-") else "gt"
    return Q(**{f"{name}__{at_or_beyond}": value}) & (
        Q(**{f"{name}__{beyond}": value}) | Q(**{f"{tie_name}__{tie_beyond}": tie_value})
    )


def boundary(
    queryset: QuerySet, keys: Sequence[str], budget: int, *, after: tuple | None = None
) -> tuple | None:
    """The values of ``keys`` at the ``budget``-th entry of the whole table in that order
    (counted past the entry ``after``, if given), or None when there are fewer entries.

    From the start of the order, the entry is remembered; past an entry, it is
    read each time (an index range of ``budget`` entries).
    """
    model, using = queryset.model, queryset.db

    def read():
        names = [key.lstrip("-") for key in keys]
        whole = model._default_manager.using(using).order_by(*keys)
        if after is not None:
            whole = whole.filter(past(keys, after))
        return whole.values_list(*names)[budget - 1 : budget].first()

    if after is not None:
        return read()
    return _remember((using, model._meta.label, tuple(keys), budget), read)


def estimated_matches(queryset: QuerySet, density: float) -> float:
    """About how many rows the queryset holds: PostgreSQL's estimate, else as many as
    ``density`` (the share of matches at the start of the order) of the table."""
    if connections[queryset.db].vendor == "postgresql":
        plan = json.loads(queryset.order_by().explain(format="json"))
        return plan[0]["Plan"]["Plan Rows"]
    return density * table_rows(queryset)


def table_rows(queryset: QuerySet) -> int:
    """About how many rows the queryset's table has (PostgreSQL's estimate, else a count)."""
    model, using = queryset.model, queryset.db

    def read() -> int:
        connection = connections[using]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [model._meta.db_table],
                )
                row = cursor.fetchone()
            if row is not None and row[0] > 0:
                return row[0]
        return model._default_manager.using(using).count()

    return _remember((using, model._meta.label, "rows"), read)


def _remember(key: tuple, read):
    now = time.monotonic()
    kept = _remembered.get(key)
    if kept is not None and now - kept[0] < BOUNDARY_TTL:
        return kept[1]
    value = read()
    _remembered[key] = (now, value)
    return value


def forget() -> None:
    """Forget every remembered boundary and row count (tests change the table under them)."""
    _remembered.clear()
