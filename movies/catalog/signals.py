"""Keep derived state right on every ORM write: search text, movie counts and the
catalogue version.

Every save, delete and genre change bumps CatalogueVersion, which invalidates
cached responses and ETags.

Genres reach a movie after it is saved (admin forms and the API set the
many-to-many afterwards), and renaming or deleting a genre changes the text of
every movie that has it. The importer writes search_text itself, recounts
Genre.movie_count at its end and does not go through these signals.

Genre.movie_count moves by the links a change really adds or removes, in the
transaction that makes the change:

- A movie's links change only while its row is locked: by lock_movies() below
  or by an UPDATE of the movie (the importer updates every movie it relinks
  first). The links read just before a change are therefore the ones it acts
  on: adding a link another writer has just added, or removing one already
  gone, counts nothing.
- Counts move after bump_version(), which holds the catalogue row
  lock until commit. Writers thus change counts one at a time, never waiting
  for each other's genre rows in opposite orders, and a recount made under the
  same lock (the importer's) sees every committed change and none half-made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from catalog.models import Genre, Movie
from catalog.upkeep import bump_version, lock_catalogue

Link = Movie.genres.through

# Movies rebuilt per round trip: renaming a genre that half a million movies
# have keeps memory flat instead of loading them all.
REFRESH_BATCH = 2_000


def refresh_search_text(movie_ids: Iterable[int]) -> None:
    """Rebuild search_text for these movies from the database."""
    ids = sorted(set(movie_ids))
    for start in range(0, len(ids), REFRESH_BATCH):
        batch = ids[start : start + REFRESH_BATCH]
        movies = list(Movie.objects.filter(pk__in=batch).prefetch_related("genres"))
        for movie in movies:
            names = (genre.name for genre in movie.genres.all())
            movie.search_text = movie.build_search_text(names)
        Movie.objects.bulk_update(movies, ["search_text"], batch_size=500)


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
        lock_movies(pk_set, using)
        linked = Link.objects.using(using).filter(genre_id=instance.pk, movie_id__in=pk_set)
        count = linked.count()
        return {instance.pk: len(pk_set) - count if adding else -count}
    lock_movies([instance.pk], using)
    links = Link.objects.using(using).filter(movie_id=instance.pk)
    if pk_set is not None:
        links = links.filter(genre_id__in=pk_set)
    linked = set(links.values_list("genre_id", flat=True))
    return dict.fromkeys(pk_set - linked, 1) if adding else dict.fromkeys(linked, -1)


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


@receiver(pre_save, sender=Movie)
def movie_saving(sender, using: str, **kwargs) -> None:
    # The catalogue lock before the movie's row: every writer takes them in this order.
    lock_catalogue(using)


@receiver(post_save, sender=Movie)
def movie_saved(sender, **kwargs) -> None:
    bump_version()


@receiver(pre_delete, sender=Movie)
def movie_deleting(sender, instance: Movie, using: str, **kwargs) -> None:
    lock_catalogue(using)
    # The links go by cascade, without m2m_changed: as movie.genres.clear() would.
    instance._movie_count_changes = link_changes(
        instance=instance, adding=False, reverse=False, pk_set=None, using=using
    )


@receiver(post_delete, sender=Movie)
def movie_deleted(sender, instance: Movie, using: str, **kwargs) -> None:
    bump_version()
    shift_movie_counts(instance.__dict__.pop("_movie_count_changes", {}), using)


@receiver(m2m_changed, sender=Link)
def genres_changed(sender, instance, action, reverse, pk_set, using, **kwargs) -> None:
    if action in {"pre_add", "pre_remove", "pre_clear"}:
        lock_catalogue(using)
        if reverse and action == "pre_clear":
            # genre.movies.clear(): its movies are locked and collected before
            # the links go, and the genre is recounted afterwards.
            lock_movies(Link.objects.filter(genre_id=instance.pk).values("movie_id"), using)
            instance._movies_before_clear = list(instance.movies.values_list("pk", flat=True))
        else:
            instance._movie_count_changes = link_changes(
                instance=instance,
                adding=action == "pre_add",
                reverse=reverse,
                pk_set=pk_set,
                using=using,
            )
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    bump_version()
    if reverse and action == "post_clear":
        # Recounted rather than set to 0: links that other writers committed
        # after the DELETE began are still there. Few are left, so it is cheap.
        Genre.objects.using(using).filter(pk=instance.pk).recount_movies()
    else:
        shift_movie_counts(instance.__dict__.pop("_movie_count_changes", {}), using)
    if not reverse:
        refresh_search_text([instance.pk])
    # genre.movies.add()/remove(): pk_set holds movie ids.
    elif action == "post_clear":
        refresh_search_text(getattr(instance, "_movies_before_clear", []))
    else:
        refresh_search_text(pk_set or [])


@receiver(pre_save, sender=Genre)
def genre_saving(sender, instance: Genre, using: str, **kwargs) -> None:
    # Before the genre's row, as count writers take them: no lock waits in a circle.
    if not instance._state.adding:
        lock_catalogue(using)


@receiver(post_save, sender=Genre)
def genre_saved(sender, instance: Genre, created: bool, **kwargs) -> None:
    bump_version()
    if not created:
        refresh_search_text(instance.movies.values_list("pk", flat=True))


@receiver(pre_delete, sender=Genre)
def genre_deleting(sender, instance: Genre, using: str, **kwargs) -> None:
    lock_catalogue(using)
    instance._movies_before_delete = list(instance.movies.values_list("pk", flat=True))


@receiver(post_delete, sender=Genre)
def genre_deleted(sender, instance: Genre, **kwargs) -> None:
    bump_version()
    refresh_search_text(getattr(instance, "_movies_before_delete", []))
