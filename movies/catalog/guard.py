"""Refuses ORM writes to movies and genres made outside catalog.writes.

Each write in catalog.writes keeps the derived data (search text, genre ids,
movie counts, the vocabulary, the version) in step with the rows it changes.
A save, a delete or a change of links through the ORM elsewhere (a shell, a
script, a new view that forgot) would change the rows alone, and searches
would quietly go stale; refused, it fails at once and says where to go
instead. Writes by SQL pass unseen: catalog.consistency finds what they leave.
"""

from __future__ import annotations

from django.db.models import Model
from django.db.models.signals import m2m_changed, pre_delete, pre_save
from django.dispatch import receiver

from catalog import writes
from catalog.models import Genre, Movie

UNMANAGED_WRITE = (
    "{action} of a {model} outside catalog.writes, which keeps the catalogue's derived data: "
    "call its functions (create_movie, update_movie, delete_movie, rename_genre, ...) instead."
)


class UnmanagedWrite(RuntimeError):
    """An ORM write to the catalogue that did not go through catalog.writes."""


def refuse_outside_writes(action: str, model: type[Model]) -> None:
    if not writes.is_writing():
        raise UnmanagedWrite(UNMANAGED_WRITE.format(action=action, model=model._meta.model_name))


@receiver(pre_save, sender=Movie)
@receiver(pre_save, sender=Genre)
def saving(sender, **kwargs) -> None:
    refuse_outside_writes("A save", sender)


@receiver(pre_delete, sender=Movie)
@receiver(pre_delete, sender=Genre)
def deleting(sender, **kwargs) -> None:
    refuse_outside_writes("A deletion", sender)


@receiver(m2m_changed, sender=Movie.genres.through)
def relinking(sender, instance, action: str, **kwargs) -> None:
    if action.startswith("pre_"):
        refuse_outside_writes("A change of genre links", type(instance))
