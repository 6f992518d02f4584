"""``manage.py recount_genres``: set every genre's movie count from its links."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog import upkeep


class Command(BaseCommand):
    help = (
        "Recount the movies of every genre from the catalogue's links. Writes keep "
        "the counts right by themselves; this repairs links changed by code that "
        "predates the counts (during a rolling deploy) or by hand in SQL."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            # Under the catalogue lock: no writer is between reading links and moving a count.
            upkeep.bump_version()
            recounted = upkeep.recount_movie_counts()
        self.stdout.write(self.style.SUCCESS(f"Recounted the movies of {recounted} genres."))
