"""The catalogue lock and the catalogue version: how writers queue and readers notice.

- The catalogue lock is the version's row, taken FOR UPDATE until commit.
  Every writer (catalog.writes) takes it before it reads anything it decides
  on or changes any row, so writers go one at a time, always in the same
  order, and each sees every write committed before it.
- The catalogue version rises with every write, in the write's transaction,
  and so do the versions of the parts of the catalogue the write changed
  (catalog.scopes): they take the new catalogue version. A cached response
  or ETag is kept while the versions of what it depends on are unchanged, so
  a write invalidates at once, in every process, every answer it may change
  and no other. With Redis as the cache, the new versions are also published
  there (in the transaction and again on commit), so that a repeated read
  needs no database query; a published version only ever grows and expires
  after VERSION_HINT_TTL_MS, which bounds how long readers can miss a write
  whose writer died between commit and publication.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from catalog.models import CatalogueVersion, ScopeVersion
from catalog.scopes import ALL

VERSION_HINT_KEY = "catalogue-version"
VERSION_HINT_TTL_MS = 1000
# Sets each published version unless a newer one is there (writers may commit in
# one order and publish in another), and restarts its expiry: KEYS[i] takes
# ARGV[i]; the last ARGV is the expiry.
RAISE_VERSION_SCRIPT = """
local ttl = ARGV[#ARGV]
for i, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key))
  local new = tonumber(ARGV[i])
  if current == nil or current < new then
    redis.call('SET', key, ARGV[i], 'PX', ttl)
  elseif current == new then
    redis.call('PEXPIRE', key, ttl)
  end
end
"""
_RAISE_SCOPES = (
    "INSERT INTO catalog_scopeversion (scope, version) VALUES {rows} "
    "ON CONFLICT (scope) DO UPDATE SET version = excluded.version"
)
_ROWS_PER_STATEMENT = 500

logger = logging.getLogger(__name__)


def lock_catalogue(using: str | None = None) -> None:
    """Make other catalogue writers wait from here until this transaction ends.

    Outside a transaction, and on SQLite (where a write transaction begins
    IMMEDIATE, so one runs at a time anyway), it does nothing.
    """
    connection = connections[using or router.db_for_write(CatalogueVersion)]
    if not connection.features.has_select_for_update or not connection.in_atomic_block:
        return
    table = CatalogueVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [CatalogueVersion.SINGLETON_ID]
        )
        if cursor.fetchone() is None:
            # A database restored without the row: make it, then lock it.
            CatalogueVersion.objects.using(connection.alias).get_or_create(
                pk=CatalogueVersion.SINGLETON_ID
            )
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = %s FOR UPDATE",
                [CatalogueVersion.SINGLETON_ID],
            )


def bump_version(using: str | None = None, scopes: Iterable[str] = ()) -> int:
    """Raise the catalogue version, and these scopes' to it, in the current transaction;
    publish them."""
    using = using or router.db_for_write(CatalogueVersion)
    # Microseconds since the epoch, or one more when writes come faster:
    # a version is never reused, even after a database restore or rollback.
    now = time.time_ns() // 1000
    versions = CatalogueVersion.objects.using(using).filter(pk=CatalogueVersion.SINGLETON_ID)
    if not versions.update(version=Greatest(F("version") + 1, Value(now))):
        CatalogueVersion.objects.using(using).get_or_create(
            pk=CatalogueVersion.SINGLETON_ID, defaults={"version": now}
        )
    version = versions.get().version
    raised = sorted(set(scopes) - {ALL})
    with connections[using].cursor() as cursor:
        for start in range(0, len(raised), _ROWS_PER_STATEMENT):
            chunk = raised[start : start + _ROWS_PER_STATEMENT]
            cursor.execute(
                _RAISE_SCOPES.format(rows=", ".join(["(%s, %s)"] * len(chunk))),
                [value for scope in chunk for value in (scope, version)],
            )
    _announce({ALL: version, **dict.fromkeys(raised, version)}, using)
    return version


def current_versions(scopes: Iterable[str], using: str | None = None) -> dict[str, int]:
    """The stored version of each scope (0 for one never raised), in one query."""
    wanted = set(scopes)
    using = using or router.db_for_read(CatalogueVersion)
    found: dict[str, int] = dict.fromkeys(wanted, 0)
    others = sorted(wanted - {ALL})
    if ALL in wanted and not others:
        found[ALL] = CatalogueVersion.current()
        return found
    scoped = ScopeVersion._meta.db_table
    sql = f"SELECT scope, version FROM {scoped} WHERE scope IN ({', '.join(['%s'] * len(others))})"
    params: list = list(others)
    if ALL in wanted:
        version_table = CatalogueVersion._meta.db_table
        sql = f"SELECT %s, version FROM {version_table} WHERE id = %s UNION ALL " + sql
        params = [ALL, CatalogueVersion.SINGLETON_ID, *params]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        found.update(dict(cursor.fetchall()))
    return found


def hint_key(scope: str) -> str:
    return VERSION_HINT_KEY if scope == ALL else f"{VERSION_HINT_KEY}:{scope}"


def published_versions(scopes: Iterable[str]) -> dict[str, int]:
    """The versions published in the shared cache for these scopes (those that are there)."""
    keys = {hint_key(scope): scope for scope in scopes}
    return {keys[key]: version for key, version in cache.get_many(list(keys)).items()}


def shares_versions() -> bool:
    """Whether the cache is Redis, which every process shares, so the version can live there."""
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def publish_version(version: int) -> None:
    """Make ``version`` the published catalogue version, unless a newer one already is."""
    publish_versions({ALL: version})


def publish_versions(versions: Mapping[str, int]) -> None:
    """Publish each scope's version, unless a newer one already is."""
    from django_redis import get_redis_connection

    keys = [cache.make_key(hint_key(scope)) for scope in versions]
    try:
        get_redis_connection("default").eval(
            RAISE_VERSION_SCRIPT, len(keys), *keys, *versions.values(), VERSION_HINT_TTL_MS
        )
    except Exception as error:  # noqa: BLE001 - Redis away: readers fall back to the database
        logger.warning("could not publish catalogue versions %s: %s", dict(versions), error)


def _announce(versions: Mapping[str, int], using: str) -> None:
    if not shares_versions():
        return
    # Now, so readers stop replaying the old answers before the commit (they
    # then read the database, which still has the old versions), and on
    # commit, in case the first publication expired during a long
    # transaction. Outside a transaction the write is already committed:
    # once is enough.
    publish_versions(versions)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: publish_versions(versions), using=using)
