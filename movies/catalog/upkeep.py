"""The write side's rules: what every change to the catalogue must keep right.

Every path that writes (the API, the admin, populate_db, management commands)
goes through these functions, directly or through the signal handlers in
catalog.signals, which only adapt Django's signals to the events below
(movie_saving, links_changed, genre_deleting, ...):

- The catalogue lock. Every writer takes it before any row it changes (the
  version's row, FOR UPDATE, until commit): writers go one at a time and never
  wait for each other in a circle.
- The catalogue version. Each write raises CatalogueVersion in its own
  transaction, holding the version row's lock until commit: writers that
  change counts go one at a time, and cached responses and ETags, keyed by the
  version, are invalidated at once in every process. With Redis as the cache,
  the new version is also published there (in the transaction and again on
  commit), so a repeated read needs no database query; the published version
  only ever grows and expires after VERSION_HINT_TTL_MS, which bounds how long
  reads can miss a write whose writer died between commit and publication.
- Movie.search_text (catalog.search.search_document) holds a movie's own
  fields, Movie.name_words its name's words, Movie.digit_pairs the pieces of
  its search_text that hold a digit, and Genre.search_name a genre's name:
  each save builds its own.
  Movie.genre_ids follows the movie's links: every change of links rewrites it
  for the movies whose links changed (genre_ids_of). A genre's rename or
  deletion touches no movie row: a deleted genre's id may stay in genre_ids,
  where no search asks for it. The importer writes both in bulk.
- Genre.movie_count moves by the links a change really adds or removes, in
  the transaction that makes the change. A movie's links change only while its
  row is locked (lock_movies(), or an UPDATE of the movie: the importer
  updates every movie it relinks first), so the links read just before a
  change are the ones it acts on: adding a link another writer has just added,
  or removing one already gone, counts nothing. Counts move under the
  catalogue lock, so a recount made under it (the importer's) sees every
  committed change and none half-made.
- The vocabulary (catalog.vocabulary) moves by the words a change really adds
  or removes: a movie's save or deletion by its name's and director's words as
  stored before and as saved, a genre's by its name's. Genres inserted in bulk
  (GenreQuerySet.resolve) and the importer's movies count their own.

What an event computes before a change for after it (the counts a deletion
will move) is kept in a Pending, per instance, until the matching event
takes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import Count, F, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Greatest

from catalog import vocabulary
from catalog.models import CatalogueVersion, Genre, Movie
from catalog.search import digit_pairs, search_document, words

Link = Movie.genres.through

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

    bump_version() takes the same row lock; writers that must hold it before
    their first change call this. Outside a transaction, and on SQLite (where
    one write transaction runs at a time anyway), it does nothing.
    """
    connection = connections[using or router.db_for_write(CatalogueVersion)]
    if not connection.features.has_select_for_update or not connection.in_atomic_block:
        return
    table = CatalogueVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [CatalogueVersion.SINGLETON_ID]
        )


def bump_version() -> int:
    """Raise the version in the current transaction and publish the new one."""
    # Microseconds since the epoch, or one more when writes come faster:
    # a version is never reused, even after a database restore or rollback.
    now = time.time_ns() // 1000
    versions = CatalogueVersion.objects.filter(pk=CatalogueVersion.SINGLETON_ID)
    if not versions.update(version=Greatest(F("version") + 1, Value(now))):
        CatalogueVersion.objects.get_or_create(
            pk=CatalogueVersion.SINGLETON_ID, defaults={"version": now}
        )
    using = router.db_for_write(CatalogueVersion)
    version = versions.using(using).get().version
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
    except Exception:  # noqa: BLE001 - Redis away: readers fall back to the database
        logger.warning("could not publish catalogue version %s", version, exc_info=True)


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


# Movie counts


def lock_movies(movie_ids: Iterable[int] | QuerySet, using: str) -> None:
    """Hold these movies' genre links still until the transaction ends.

    In id order, so that two writers locking overlapping sets cannot wait for
    each other in a circle. SQLite runs one write transaction at a time, so
    there it has nothing to do.
    """
    if not connections[using].features.has_select_for_update:
        return
    movies = Movie.objects.using(using).filter(pk__in=movie_ids).order_by("pk")
    list(movies.select_for_update(no_key=True).values_list("pk", flat=True))


def link_changes(
    *, instance: Movie | Genre, adding: bool, reverse: bool, pk_set: set | None, using: str
) -> dict[int, int]:
    """How much each genre's movie_count moves with an add, remove or movie.genres.clear().

    Read just before the links change, with the movies involved locked.
    ``pk_set`` is None for clear(); for add() Django has already left out the
    links it found, but another writer may have added them since.
    """
    if pk_set is not None and not pk_set:
        return {}
    if reverse:
        movie_ids = pk_set or set()
        lock_movies(movie_ids, using)
        already = Link.objects.using(using).filter(genre_id=instance.pk, movie_id__in=movie_ids)
        count = already.count()
        return {instance.pk: len(movie_ids) - count if adding else -count}
    lock_movies([instance.pk], using)
    links = Link.objects.using(using).filter(movie_id=instance.pk)
    if pk_set is not None:
        links = links.filter(genre_id__in=pk_set)
    linked: set[int] = set(links.values_list("genre_id", flat=True))
    if adding:
        return dict.fromkeys((pk_set or set()) - linked, 1)
    return dict.fromkeys(linked, -1)


def shift_movie_counts(changes: Mapping[int, int], using: str) -> None:
    """Add each change to its genre's movie_count: one UPDATE per distinct amount."""
    by_amount: dict[int, list[int]] = defaultdict(list)
    for genre_id, amount in changes.items():
        if amount:
            by_amount[amount].append(genre_id)
    for amount, genre_ids in by_amount.items():
        Genre.objects.using(using).filter(pk__in=genre_ids).update(
            movie_count=F("movie_count") + amount
        )


def recount_movie_counts(genres: QuerySet[Genre] | None = None) -> int:
    """Set these genres' (every genre's) movie_count from their links, in one UPDATE.

    Call it holding the catalogue lock, so that no writer is between reading
    links and moving a count.
    """
    links = Link.objects.filter(genre=OuterRef("pk"))
    count = links.values("genre").annotate(links=Count("*")).values("links")  # type: ignore[misc]
    chosen = genres if genres is not None else Genre.objects.all()
    # One index scan per genre: a quarter of a second for 2.7 million links on PostgreSQL.
    return chosen.update(movie_count=Coalesce(Subquery(count), 0))


_SET_DIGIT_PAIRS = "UPDATE catalog_movie SET digit_pairs = %s WHERE id = %s"
_REPAIR_BATCH = 2_000


def refresh_digit_pairs(using: str = "default") -> int:
    """Rewrite Movie.digit_pairs wherever it is not what the movie's search_text makes.

    Writes keep it right; this repairs movies written by code that predates
    it (during a rolling deploy) or by hand in SQL. Returns how many changed.
    """
    rows = (
        Movie.objects.using(using).order_by("pk").values_list("pk", "search_text", "digit_pairs")
    )
    stale: list[tuple[str, int]] = []
    changed = 0
    with connections[using].cursor() as cursor:
        for pk, text, stored in rows.iterator(chunk_size=_REPAIR_BATCH):
            if (wanted := digit_pairs(text)) != stored:
                stale.append((wanted, pk))
                changed += 1
            if len(stale) == _REPAIR_BATCH:
                cursor.executemany(_SET_DIGIT_PAIRS, stale)
                stale = []
        if stale:
            cursor.executemany(_SET_DIGIT_PAIRS, stale)
    return changed


# Genre ids


def genre_ids_of(genre_ids: Iterable[int]) -> dict[str, bool]:
    """Movie.genre_ids for a movie with these genres."""
    return {str(genre_id): True for genre_id in sorted(genre_ids)}


def refresh_genre_ids(movie_ids: Iterable[int], using: str) -> None:
    """Set these movies' genre_ids from their links."""
    ids = set(movie_ids)
    linked: dict[int, list[int]] = defaultdict(list)
    links = Link.objects.using(using).filter(movie_id__in=ids).values_list("movie_id", "genre_id")
    for movie_id, genre_id in links:
        linked[movie_id].append(genre_id)
    movies = [Movie(pk=pk, genre_ids=genre_ids_of(linked[pk])) for pk in sorted(ids)]
    Movie.objects.using(using).bulk_update(movies, ["genre_ids"], batch_size=1000)


# What an event leaves for the next one


@dataclass
class Pending:
    count_changes: dict[int, int] = field(default_factory=dict)
    movies_relinked: list[int] = field(default_factory=list)
    # The words of the row as stored before the change; None: the words do not change.
    words_before: frozenset[str] | None = None


_pending = threading.local()


def _keep(instance: Model, pending: Pending) -> None:
    if not hasattr(_pending, "by_instance"):
        _pending.by_instance = {}
    _pending.by_instance[id(instance)] = pending


def _take(instance: Model) -> Pending:
    return getattr(_pending, "by_instance", {}).pop(id(instance), None) or Pending()


# The write events, in the order a write meets them


def stored_movie_words(pk: int | None, using: str) -> frozenset[str]:
    """The words of the movie row ``pk`` as stored (none when there is no such row)."""
    if pk is None:
        return frozenset()
    row = Movie.objects.using(using).filter(pk=pk).values_list("name", "director").first()
    return vocabulary.movie_words(*row) if row else frozenset()


def stored_genre_words(pk: int | None, using: str) -> frozenset[str]:
    """The words of the genre row ``pk``'s name as stored."""
    if pk is None:
        return frozenset()
    name = Genre.objects.using(using).filter(pk=pk).values_list("name", flat=True).first()
    return vocabulary.words_of(name) if name else frozenset()


def movie_saving(movie: Movie, using: str, update_fields: Iterable[str] | None = None) -> None:
    lock_catalogue(using)
    movie.search_text = search_document(
        name=movie.name,
        director=movie.director,
        popularity=movie.popularity,
        imdb_score=movie.imdb_score,
    )
    movie.name_words = words(movie.name)
    movie.digit_pairs = digit_pairs(movie.search_text)
    renamed = update_fields is None or not {"name", "director"}.isdisjoint(update_fields)
    stored = stored_movie_words(movie.pk, using) if renamed else None
    _keep(movie, Pending(words_before=stored))


def movie_saved(movie: Movie, using: str) -> None:
    bump_version()
    before = _take(movie).words_before
    if before is not None:
        after = vocabulary.movie_words(movie.name, movie.director)
        vocabulary.shift(vocabulary.changes(before, after), using)


def movie_deleting(movie: Movie, using: str) -> None:
    lock_catalogue(using)
    # The links go by cascade, without m2m_changed: as movie.genres.clear() would.
    changes = link_changes(instance=movie, adding=False, reverse=False, pk_set=None, using=using)
    words = stored_movie_words(movie.pk, using)
    _keep(movie, Pending(count_changes=changes, words_before=words))


def movie_deleted(movie: Movie, using: str) -> None:
    bump_version()
    pending = _take(movie)
    shift_movie_counts(pending.count_changes, using)
    vocabulary.shift(vocabulary.changes(pending.words_before or (), ()), using)


def links_changing(
    instance: Movie | Genre, *, action: str, reverse: bool, pk_set: set | None, using: str
) -> None:
    """Before movie.genres or genre.movies changes (pre_add, pre_remove, pre_clear)."""
    lock_catalogue(using)
    if reverse and action == "pre_clear":
        # genre.movies.clear(): its movies are locked and noted while the
        # links still say which they are; it is recounted afterwards.
        movies = Link.objects.using(using).filter(genre_id=instance.pk).values("movie_id")
        lock_movies(movies, using)
        relinked = [row["movie_id"] for row in movies]
        _keep(instance, Pending(movies_relinked=relinked))
        return
    changes = link_changes(
        instance=instance,
        adding=action == "pre_add",
        reverse=reverse,
        pk_set=pk_set,
        using=using,
    )
    _keep(instance, Pending(count_changes=changes))


def links_changed(
    instance: Movie | Genre, *, action: str, reverse: bool, pk_set: set | None, using: str
) -> None:
    """After movie.genres or genre.movies changed (post_add, post_remove, post_clear)."""
    bump_version()
    if reverse and action == "post_clear":
        # Recounted rather than set to 0: links that other writers committed
        # after the DELETE began are still there. Few are left, so it is cheap.
        recount_movie_counts(Genre.objects.using(using).filter(pk=instance.pk))
        refresh_genre_ids(_take(instance).movies_relinked, using)
        return
    shift_movie_counts(_take(instance).count_changes, using)
    # genre.movies.add()/remove(): pk_set holds movie ids.
    refresh_genre_ids((pk_set or []) if reverse else [instance.pk], using)


def genre_saving(genre: Genre, using: str) -> None:
    if not genre._state.adding:
        lock_catalogue(using)
    _keep(genre, Pending(words_before=stored_genre_words(genre.pk, using)))


def genre_saved(genre: Genre, using: str) -> None:
    bump_version()
    before = _take(genre).words_before or frozenset()
    vocabulary.shift(vocabulary.changes(before, vocabulary.words_of(genre.name)), using)


def genre_deleting(genre: Genre, using: str) -> None:
    lock_catalogue(using)
    _keep(genre, Pending(words_before=stored_genre_words(genre.pk, using)))


def genre_deleted(genre: Genre, using: str) -> None:
    bump_version()
    vocabulary.shift(vocabulary.changes(_take(genre).words_before or (), ()), using)
