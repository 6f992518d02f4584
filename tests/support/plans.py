"""PostgreSQL's plans, for tests that pin down which index a search reads."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def plan_with_indexes(queryset: QuerySet) -> str:
    """The plan of reading ``queryset``'s ids with sequential scans off: a test's
    few rows never make an index worth reading, as a million do. Within the
    test's transaction (SET LOCAL)."""
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())
