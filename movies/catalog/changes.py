"""The changes feed and the export: how a client keeps an exact copy of the catalogue.

Each write (catalog.writes) records, in its own transaction, which movies and
genres it wrote or deleted: one Change row per movie or genre, replaced by
each later write with a row of a higher id. Writers hold the catalogue lock
until they commit, so ids rise in commit order: the rows past an id are
exactly what changed since, and none can appear later below it.

A client copies the catalogue (export, which starts with a token), then
reads the feed from that token, oldest first, applying each entry: a movie
or genre as it is now, or a tombstone for one deleted. A movie lists its
genres by id; a genre's tombstone means it went from every movie that had
it. Entries are idempotent, so one read twice does no harm. Tombstones are
kept for CHANGES_RETENTION_DAYS; a token older than the oldest one purged
may have missed a deletion and is refused (TokenExpired: export again).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connections, router
from django.db.models import Max
from django.utils import timezone

from catalog.models import Change, ChangeHorizon, Genre, Movie

Link = Movie.genres.through
MOVIE, GENRE = Change.MOVIE, Change.GENRE
SALT = "catalog.changes"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1_000
# Rows per statement or per batch read: within SQLite's parameter limit.
_CHUNK = 500
EXPORT_BATCH = 2_000

INVALID_TOKEN = "Not a token this service gave; start from an export's token."
EXPIRED_TOKEN = (
    "Older than the deletions this service keeps ({days} days): some may be missing "
    "from the feed. Export the catalogue again and follow the feed from its token."
)


class InvalidToken(ValueError):
    pass


class TokenExpired(Exception):
    def __init__(self) -> None:
        super().__init__(EXPIRED_TOKEN.format(days=settings.CHANGES_RETENTION_DAYS))


# Recording, inside catalog.writes' transactions


def record(kind: str, keys: Iterable[int], *, using: str, deleted: bool = False) -> None:
    """These movies or genres were written (or deleted) by the write under way."""
    keys = sorted(set(keys))
    now = timezone.now()
    changes = Change.objects.using(using)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        changes.filter(kind=kind, key__in=chunk).delete()
        changes.bulk_create([Change(kind=kind, key=key, deleted=deleted, at=now) for key in chunk])
    if deleted:
        purge(using)


_RECORD_IMPORTED = """
DELETE FROM catalog_change WHERE kind = %(kind)s AND key IN ({chosen});
INSERT INTO catalog_change (kind, key, deleted, at)
    SELECT %(kind)s, id, %(false)s, %(now)s FROM ({chosen}) AS chosen ORDER BY id;
"""


def record_imported(*, written_since: datetime, genres_after: int, using: str) -> None:
    """An import wrote the movies it updated or created from ``written_since`` on, and
    created the genres of ids past ``genres_after``: set-based, for a million rows."""
    chosen = {
        MOVIE: "SELECT id FROM catalog_movie WHERE updated_at >= %(since)s",
        GENRE: "SELECT id FROM catalog_genre WHERE id > %(genres_after)s",
    }
    params: dict[str, Any] = {
        "since": written_since,
        "genres_after": genres_after,
        "now": timezone.now(),
        "false": False,
    }
    with connections[using].cursor() as cursor:
        for kind in (GENRE, MOVIE):
            for statement in _RECORD_IMPORTED.format(chosen=chosen[kind]).split(";"):
                if statement.strip():
                    cursor.execute(statement, {**params, "kind": kind})


def purge(using: str) -> None:
    """Drop the tombstones older than CHANGES_RETENTION_DAYS; tokens before them expire."""
    cutoff = timezone.now() - timedelta(days=settings.CHANGES_RETENTION_DAYS)
    old = Change.objects.using(using).filter(deleted=True, at__lt=cutoff)
    highest = old.aggregate(highest=Max("id"))["highest"]
    if highest is None:
        return
    old.delete()
    horizons = ChangeHorizon.objects.using(using)
    if not horizons.filter(pk=ChangeHorizon.SINGLETON_ID).update(purged_through=highest):
        horizons.create(pk=ChangeHorizon.SINGLETON_ID, purged_through=highest)


def latest_change(using: str | None = None) -> int:
    """The id of the last change committed (0 for none)."""
    using = using or router.db_for_read(Change)
    return Change.objects.using(using).aggregate(latest=Max("id"))["latest"] or 0


# Tokens


def encode_token(change_id: int) -> str:
    return signing.Signer(salt=SALT).sign_object(change_id)


def decode_token(text: str) -> int:
    """The change id a token given by this service stands for; InvalidToken otherwise."""
    try:
        change_id = signing.Signer(salt=SALT).unsign_object(text.strip())
    except (signing.BadSignature, ValueError, UnicodeError):
        raise InvalidToken(INVALID_TOKEN) from None
    if type(change_id) is not int or change_id < 0:
        raise InvalidToken(INVALID_TOKEN)
    return change_id


# Reading


@dataclass
class ChangesPage:
    """Entries past a token, oldest first; the token to read on from; whether more wait."""

    entries: list[dict]
    token: str
    more: bool


def changes_since(token: str, *, limit: int = DEFAULT_LIMIT, using: str | None = None):
    """The next ``limit`` changes past ``token`` ("" for all of them, from the start)."""
    since = decode_token(token) if token.strip() else 0
    using = using or router.db_for_read(Change)
    rows = list(
        Change.objects.using(using)
        .filter(id__gt=since)
        .order_by("id")
        .values_list("id", "kind", "key", "deleted")[: limit + 1]
    )
    # After the rows: a purge committed meanwhile is seen here, not missed.
    horizon = (
        ChangeHorizon.objects.using(using)
        .filter(pk=ChangeHorizon.SINGLETON_ID)
        .values_list("purged_through", flat=True)
        .first()
    )
    if since and horizon and since < horizon:
        raise TokenExpired()
    more, rows = len(rows) > limit, rows[:limit]
    live = defaultdict(list)
    for _, kind, key, deleted in rows:
        if not deleted:
            live[kind].append(key)
    found = {
        MOVIE: {entry["id"]: entry for entry in movie_entries(live[MOVIE], using)},
        GENRE: {entry["id"]: entry for entry in genre_entries(live[GENRE], using)},
    }
    entries = []
    for _, kind, key, deleted in rows:
        if deleted:
            entries.append({"type": kind, "id": key, "deleted": True})
        elif key in found[kind]:
            entries.append(found[kind][key])
        # Else it was deleted after this read began: its tombstone comes later.
    return ChangesPage(entries, encode_token(rows[-1][0] if rows else since), more)


def movie_entries(keys: list[int], using: str) -> list[dict]:
    """The movies with these ids as the feed and the export give them, by id."""
    rows = (
        Movie.objects.using(using)
        .filter(pk__in=keys)
        .order_by("pk")
        .values_list("pk", "name", "director", "popularity", "imdb_score")
    )
    movies = list(rows)
    genres: dict[int, list[int]] = defaultdict(list)
    links = Link.objects.using(using).filter(movie_id__in=[row[0] for row in movies])
    for movie_id, genre_id in links.values_list("movie_id", "genre_id"):
        genres[movie_id].append(genre_id)
    return [
        {
            "type": MOVIE,
            "id": pk,
            "name": name,
            "director": director,
            "popularity": popularity,
            "imdb_score": imdb_score,
            "genre_ids": sorted(genres[pk]),
        }
        for pk, name, director, popularity, imdb_score in movies
    ]


def genre_entries(keys: list[int] | None, using: str) -> list[dict]:
    """The genres with these ids (every genre for None), by id."""
    genres = Genre.objects.using(using).order_by("pk")
    if keys is not None:
        genres = genres.filter(pk__in=keys)
    return [
        {"type": GENRE, "id": pk, "name": name} for pk, name in genres.values_list("pk", "name")
    ]


# The export


def export_entries(using: str | None = None) -> tuple[str, Iterator[dict]]:
    """The token to follow the feed from, and every genre, then every movie, by id.

    The token is read first: whatever is written while the rows are read is
    past it, so the feed brings it again, and a copy converges. Movies are
    read in batches by id, so memory stays the same at any size.
    """
    using = using or router.db_for_read(Change)
    token = encode_token(latest_change(using))

    def entries() -> Iterator[dict]:
        yield from genre_entries(None, using)
        after = 0
        while True:
            keys = list(
                Movie.objects.using(using)
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:EXPORT_BATCH]
            )
            if not keys:
                return
            for start in range(0, len(keys), _CHUNK):
                yield from movie_entries(keys[start : start + _CHUNK], using)
            after = keys[-1]

    return token, entries()


def ndjson_lines(token: str, entries: Iterable[dict]) -> Iterator[str]:
    """The export as NDJSON: a first line with the token, then one entry per line."""
    yield json.dumps({"type": "export", "changes_token": token}) + "\n"
    for entry in entries:
        yield json.dumps(entry, ensure_ascii=False) + "\n"


def seed_lines(entries: Iterable[dict]) -> Iterator[str]:
    """The export in the importer's format (a JSON array of legacy records, one a line):
    genres by name, so genres without movies are not in it."""
    names: dict[int, str] = {}
    first = True
    yield "["
    for entry in entries:
        if entry["type"] == GENRE:
            names[entry["id"]] = entry["name"]
            continue
        record = {
            "99popularity": entry["popularity"],
            "director": entry["director"],
            "genre": [names[pk] for pk in entry["genre_ids"] if pk in names],
            "imdb_score": entry["imdb_score"],
            "name": entry["name"],
        }
        yield ("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False)
        first = False
    yield "\n]\n"
