"""``manage.py export_db FILE``: the whole catalogue to a file, at constant memory."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog import changes


class Command(BaseCommand):
    help = (
        "Write the whole catalogue to FILE ('-' for standard output): NDJSON, a first line "
        "with the token to follow the changes feed from (/api/changes?since=...), then every "
        "genre and movie; or, with --format seed, the JSON that populate_db imports. The "
        "token is printed to standard error either way. A file is written whole or not at all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="where to write, or - for standard output")
        parser.add_argument("--format", choices=["ndjson", "seed"], default="ndjson")

    def handle(self, *args, **options) -> None:
        token, entries = changes.export_entries()
        if options["format"] == "seed":
            lines = changes.seed_lines(entries)
        else:
            lines = changes.ndjson_lines(token, entries)
        if options["file"] == "-":
            sys.stdout.writelines(lines)
        else:
            write_whole(Path(options["file"]), lines)
        self.stderr.write(f"changes token: {token}")


def write_whole(path: Path, lines) -> None:
    """Into a file beside ``path``, renamed to it once complete: a failure leaves nothing."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise CommandError(f"{path}: cannot write there ({error.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.writelines(lines)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
