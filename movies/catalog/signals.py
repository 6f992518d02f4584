"""Keep derived state right on every ORM write: search text and the catalogue version.

Every save, delete and genre change bumps CatalogueVersion, which invalidates
cached responses and ETags.

Genres reach a movie after it is saved (admin forms and the API set the
many-to-many afterwards), and renaming or deleting a genre changes the text of
every movie that has it. The importer writes search_text itself and does not
go through these signals.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from catalog.models import CatalogueVersion, Genre, Movie

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


@receiver(post_save, sender=Movie)
@receiver(post_delete, sender=Movie)
def movie_written(sender, **kwargs) -> None:
    CatalogueVersion.bump()


@receiver(m2m_changed, sender=Movie.genres.through)
def genres_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in {"post_add", "post_remove", "post_clear", "pre_clear"}:
        return
    if action != "pre_clear":
        CatalogueVersion.bump()
    if not reverse:
        if action != "pre_clear":
            refresh_search_text([instance.pk])
        return
    # genre.movies.add()/remove()/clear(): pk_set holds movie ids, except for
    # clear, where the movies must be collected before the links go.
    if action == "pre_clear":
        instance._movies_before_clear = list(instance.movies.values_list("pk", flat=True))
    elif action == "post_clear":
        refresh_search_text(getattr(instance, "_movies_before_clear", []))
    else:
        refresh_search_text(pk_set or [])


@receiver(post_save, sender=Genre)
def genre_saved(sender, instance: Genre, created: bool, **kwargs) -> None:
    CatalogueVersion.bump()
    if not created:
        refresh_search_text(instance.movies.values_list("pk", flat=True))


@receiver(pre_delete, sender=Genre)
def genre_deleting(sender, instance: Genre, **kwargs) -> None:
    instance._movies_before_delete = list(instance.movies.values_list("pk", flat=True))


@receiver(post_delete, sender=Genre)
def genre_deleted(sender, instance: Genre, **kwargs) -> None:
    CatalogueVersion.bump()
    refresh_search_text(getattr(instance, "_movies_before_delete", []))
