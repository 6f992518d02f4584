"""``manage.py recount_genres``: mend the catalogue's derived data (check_catalogue --repair)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from catalog import consistency


class Command(BaseCommand):
    help = (
        "Recount the movies of every genre, rebuild the vocabulary and repair every other "
        "derived value from the catalogue's rows: the same as check_catalogue --repair, "
        "printing only how many values it mended."
    )

    def handle(self, *args, **options) -> None:
        mended = sum(1 for _ in consistency.repair())
        self.stdout.write(self.style.SUCCESS(f"Repaired {mended} derived values."))
