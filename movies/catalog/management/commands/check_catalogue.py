"""``manage.py check_catalogue [--repair]``: is the derived data what the rows make it?"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from catalog import consistency

DIFFERENCES_FOUND = "{total} differences ({subjects}); run with --repair to mend them."


class Command(BaseCommand):
    help = (
        "Recompute every derived value of the catalogue (each movie's search text, name words, "
        "digit pairs and genre ids, each genre's key, search name and movie count, the "
        "vocabulary, the word index) from its rows and report each difference, by movie or "
        "genre id. Exits with status 1 when anything differs. --repair mends them, under the "
        "catalogue lock (writers wait until it ends)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--repair", action="store_true", help="mend every difference found, in one write"
        )

    def handle(self, *args, repair: bool, verbosity: int, **options) -> None:
        found = consistency.repair() if repair else consistency.check()
        subjects: Counter[str] = Counter()
        for difference in found:
            subjects[difference.subject] += 1
            if verbosity > 0:
                self.stdout.write(str(difference))
        total = sum(subjects.values())
        summary = ", ".join(f"{subject}: {count}" for subject, count in sorted(subjects.items()))
        if not total:
            if verbosity > 0:
                self.stdout.write(self.style.SUCCESS("The derived data matches the catalogue."))
            return
        if repair:
            if verbosity > 0:
                self.stdout.write(self.style.SUCCESS(f"Repaired {total} differences ({summary})."))
            return
        raise CommandError(DIFFERENCES_FOUND.format(total=total, subjects=summary), returncode=1)
