"""``manage.py recount_genres``: set every genre's movie count from its links,
rebuild the vocabulary from the catalogue and repair the movies' digit pairs."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog import upkeep, vocabulary


class Command(BaseCommand):
    help = (
        "Recount the movies of every genre from the catalogue's links, and rebuild the "
        "vocabulary (the words did_you_mean corrects to) from the movies and genres, and "
        "the movies' digit pairs (what short terms with a digit are found by) from their "
        "text. Writes keep all three right by themselves; this repairs changes made by "
        "code that predates them (during a rolling deploy) or by hand in SQL."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            # Under the catalogue lock: no writer is between reading links and moving a count.
            upkeep.bump_version()
            recounted = upkeep.recount_movie_counts()
            words = vocabulary.rebuild()
            repaired = upkeep.refresh_digit_pairs()
        self.stdout.write(self.style.SUCCESS(f"Recounted the movies of {recounted} genres."))
        self.stdout.write(self.style.SUCCESS(f"Rebuilt the vocabulary: {words} words."))
        self.stdout.write(self.style.SUCCESS(f"Repaired the digit pairs of {repaired} movies."))
