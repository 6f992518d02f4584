"""The catalogue lock and the catalogue version: how writers queue and readers notice.

- The catalogue lock is the version's row, taken FOR UPDATE until commit.
  Every writer (catalog.writes) takes it before it reads anything it decides
  on or changes any row, so writers go one at a time, always in the same
  order, and each sees every write committed before it.
- The catalogue version rises with every write, in the write's transaction.
  Cached responses and ETags are keyed by it, so one write invalidates them
  at once in every process. With Redis as the cache, the new version is also
  published there (in the transaction and again on commit), so that a
  repeated read needs no database query; the published version only ever
  grows and expires after VERSION_HINT_TTL_MS, which bounds how long readers
  can miss a write whose writer died between commit and publication.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from catalog.models import CatalogueVersion

VERSION_HINT_KEY = "catalogue-version"
VERSION_HINT_TTL_MS = 1000
# Sets the published version unless a newer one is there (writers may commit in
# one order and publish in another), and restarts its expiry.
RAISE_VERSION_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]))
local new = tonumber(ARGV[1])
if current == nil or current < new then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif current == new then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
"""

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


def bump_version(using: str | None = None) -> int:
    """Raise the version in the current transaction and publish the new one."""
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
    _announce(version, using)
    return version


def shares_versions() -> bool:
    """Whether the cache is Redis, which every process shares, so the version can live there."""
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def publish_version(version: int) -> None:
    """Make ``version`` the published one, unless a newer one already is."""
    from django_redis import get_redis_connection

    try:
        get_redis_connection("default").eval(
            RAISE_VERSION_SCRIPT, 1, cache.make_key(VERSION_HINT_KEY), version, VERSION_HINT_TTL_MS
        )
    except Exception as error:  # noqa: BLE001 - Redis away: readers fall back to the database
        logger.warning("could not publish catalogue version %s: %s", version, error)


def _announce(version: int, using: str) -> None:
    if not shares_versions():
        return
    # Now, so readers stop replaying the old version before the commit (they
    # then read the database, which still has it), and on commit, in case the
    # first publication expired during a long transaction. Outside a
    # transaction the write is already committed: once is enough.
    publish_version(version)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: publish_version(version), using=using)
