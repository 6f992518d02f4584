"""Django's signals, adapted to the write events of catalog.upkeep.

The rules (the catalogue lock and version, search_text, movie counts, the
vocabulary) live
there; these handlers only pass each event on, so that every ORM write, the
admin's and the API's alike, keeps them. The importer writes in bulk, past
these signals, and calls catalog.upkeep itself.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from catalog import upkeep
from catalog.models import Genre, Movie


@receiver(pre_save, sender=Movie)
def movie_saving(sender, instance: Movie, using: str, update_fields=None, **kwargs) -> None:
    upkeep.movie_saving(instance, using, update_fields)


@receiver(post_save, sender=Movie)
def movie_saved(sender, instance: Movie, using: str, **kwargs) -> None:
    upkeep.movie_saved(instance, using)


@receiver(pre_delete, sender=Movie)
def movie_deleting(sender, instance: Movie, using: str, **kwargs) -> None:
    upkeep.movie_deleting(instance, using)


@receiver(post_delete, sender=Movie)
def movie_deleted(sender, instance: Movie, using: str, **kwargs) -> None:
    upkeep.movie_deleted(instance, using)


@receiver(m2m_changed, sender=Movie.genres.through)
def genres_changed(sender, instance, action: str, reverse: bool, pk_set, using: str, **kwargs):
    if action in {"pre_add", "pre_remove", "pre_clear"}:
        upkeep.links_changing(instance, action=action, reverse=reverse, pk_set=pk_set, using=using)
    elif action in {"post_add", "post_remove", "post_clear"}:
        upkeep.links_changed(instance, action=action, reverse=reverse, pk_set=pk_set, using=using)


@receiver(pre_save, sender=Genre)
def genre_saving(sender, instance: Genre, using: str, **kwargs) -> None:
    upkeep.genre_saving(instance, using)


@receiver(post_save, sender=Genre)
def genre_saved(sender, instance: Genre, using: str, **kwargs) -> None:
    upkeep.genre_saved(instance, using)


@receiver(pre_delete, sender=Genre)
def genre_deleting(sender, instance: Genre, using: str, **kwargs) -> None:
    upkeep.genre_deleting(instance, using)


@receiver(post_delete, sender=Genre)
def genre_deleted(sender, instance: Genre, using: str, **kwargs) -> None:
    upkeep.genre_deleted(instance, using)
