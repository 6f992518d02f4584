"""``manage.py populate_db [PATH | -]``: load a catalogue file (catalog.writes.import_file)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.importer import CatalogueError, read_records
from catalog.models import Movie
from catalog.writes import import_file, import_records

DEFAULT_PATH = settings.REPO_ROOT / "fixtures" / "imdb.json"
PROGRESS_BAR_MIN_BYTES = 5 * 1024 * 1024
STDIN = "-"
STDIN_NAME = "<stdin>"


class Command(BaseCommand):
    help = (
        "Load movies from a JSON catalogue (the legacy imdb.json format). Movies are "
        "upserted by (name, director); the import is all or nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "path",
            nargs="?",
            type=Path,
            default=DEFAULT_PATH,
            help=f"catalogue file, or {STDIN} for standard input (default: {DEFAULT_PATH})",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the catalogue already has movies",
        )
        parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    def handle(
        self, *args, path: Path, if_empty: bool, no_progress: bool, verbosity: int, **options
    ) -> None:
        if if_empty and Movie.objects.exists():
            if verbosity > 0:
                self.stdout.write("The catalogue already has movies; nothing imported.")
            return
        from_stdin = str(path) == STDIN
        source = STDIN_NAME if from_stdin else path
        show_progress = (
            not no_progress
            and not from_stdin
            and verbosity > 0
            and sys.stdout.isatty()
            and path.is_file()
            and path.stat().st_size >= PROGRESS_BAR_MIN_BYTES
        )
        try:
            if from_stdin:
                result = import_records(records=read_records(sys.stdin.buffer))
            elif show_progress:
                from tqdm import tqdm

                with tqdm(
                    total=path.stat().st_size, unit="B", unit_scale=True, desc="importing"
                ) as bar:
                    result = import_file(
                        path=path,
                        wrap=lambda stream: _ProgressStream(
                            stream, lambda at: bar.update(at - bar.n)
                        ),
                    )
            else:
                result = import_file(path=path)
        except CatalogueError as error:
            raise CommandError(f"{source}: {error}") from None
        if verbosity > 0:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {result.total} movies from {source} in {result.elapsed:.2f}s: "
                    f"{result.created} created, {result.updated} updated, "
                    f"{result.unchanged} unchanged; {result.genres_created} new genres."
                )
            )


class _ProgressStream:
    """A binary stream that reports how far it has been read, for the progress bar."""

    def __init__(self, stream, report) -> None:
        self._stream = stream
        self._report = report
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._position += len(data)
        self._report(self._position)
        return data
