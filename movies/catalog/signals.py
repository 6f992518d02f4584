"""Keep derived state right on every ORM write: search text, movie counts and the
catalogue version.

Every save, delete and genre change bumps CatalogueVersion, which invalidates
cached responses and ETags.

Genres reach a movie after it is saved (admin forms and the API set the
many-to-many afterwards), and renaming or deleting a genre changes the text of
every movie that has it: up to half the catalogue. Such changes rewrite only
the genres' lines of search_text, in one UPDATE whatever the number of movies,
from the links and the genres' lines computed here (see refresh_search_text);
a movie's own save builds its whole text in Python. The importer writes
search_text itself, recounts Genre.movie_count at its end and does not go
through these signals.

Genre.movie_count moves by the links a change really adds or removes, in the
transaction that makes the change:

- A movie's links change only while its row is locked: by lock_movies() below
  or by an UPDATE of the movie (the importer updates every movie it relinks
  first). The links read just before a change are therefore the ones it acts
  on: adding a link another writer has just added, or removing one already
  gone, counts nothing.
- Counts move after bump_version(), which holds the catalogue row
  lock until commit. Writers thus change counts one at a time, never waiting
  for each other's genre rows in opposite orders, and a recount made under the
  same lock (the importer's) sees every committed change and none half-made.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from catalog.models import Genre, Movie
from catalog.search import FIELD_SEPARATOR, search_document
from catalog.upkeep import bump_version, lock_catalogue

Link = Movie.genres.through

# search_text starts with the movie's own fields, one a line: name, director,
# popularity and imdb_score. No genre change touches them, so the rebuild
# keeps them from the stored text and writes the genres' lines after them.
MOVIE_LINES = 4

# The rebuild's UPDATE on PostgreSQL. The genres come as two arrays, ids and
# lines, in search_document's order; the movies to rebuild as a subquery. The
# kept lines are read from the row being updated, so a movie saved meanwhile
# keeps its new fields. Rows whose text would not change are not written.
_MOVIE_PART = ", ".join(
    f"split_part(movie.search_text, E'\\n', {line})" for line in range(1, MOVIE_LINES + 1)
)
_REBUILT_TEXT = f"concat_ws(E'\\n', {_MOVIE_PART}, lines.genres)"
_REBUILD_POSTGRESQL = f"""
WITH genre (id, line, rank) AS (
    SELECT * FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY
), target (movie_id) AS (
    {{movies}}
), lines (movie_id, genres) AS (
    SELECT link.movie_id, string_agg(genre.line, E'\\n' ORDER BY genre.rank)
    FROM target
    JOIN catalog_movie_genres AS link ON link.movie_id = target.movie_id
    JOIN genre ON genre.id = link.genre_id
    GROUP BY link.movie_id
)
UPDATE catalog_movie AS movie
SET search_text = {_REBUILT_TEXT}
FROM target LEFT JOIN lines ON lines.movie_id = target.movie_id
WHERE movie.id = target.movie_id AND movie.search_text <> {_REBUILT_TEXT}
"""
# SQLite has no split_part, nor an ordered group_concat before 3.44: a Python
# function, registered on the connection for the statement, rebuilds each text
# from the stored one and the movie's genre ids.
_REBUILD_SQLITE = """
UPDATE catalog_movie SET search_text = rebuilt.text
FROM (
    SELECT id, catalog_rebuilt_search_text(search_text, (
        SELECT group_concat(genre_id) FROM catalog_movie_genres WHERE movie_id = catalog_movie.id
    )) AS text
    FROM catalog_movie WHERE id IN ({movies})
) AS rebuilt
WHERE catalog_movie.id = rebuilt.id AND catalog_movie.search_text <> rebuilt.text
"""
_MOVIES_OF_GENRE = "SELECT movie_id FROM catalog_movie_genres WHERE genre_id = %s"
_MOVIES_BY_ID = {
    "postgresql": "SELECT DISTINCT unnest(%s::bigint[])",
    "sqlite": "SELECT value FROM json_each(%s)",
}


def genre_line(name: str) -> str:
    """A genre's line in search_text, exactly as search_document writes it."""
    document = search_document(
        name="", director="", popularity=0.0, imdb_score=0.0, genre_names=[name]
    )
    return document.split(FIELD_SEPARATOR)[MOVIE_LINES]


def genre_lines(using: str, *, leaving_out: int | None = None) -> list[tuple[int, str]]:
    """(id, line) of every genre, in search_document's order: by name as Python sorts.

    Genres are few, so they are read whole and sorted here, where the order is
    the same on every database whatever its collation.
    """
    genres = Genre.objects.using(using).values_list("pk", "name")
    if leaving_out is not None:
        genres = genres.exclude(pk=leaving_out)
    ordered = sorted(genres, key=lambda genre: (genre[1], genre[0]))
    return [(pk, genre_line(name)) for pk, name in ordered]


def _rebuild(using: str, movies: str, params: list, lines: list[tuple[int, str]]) -> int:
    """Rewrite the genres' part of search_text for the movies ``movies`` selects."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids = [pk for pk, _ in lines]
            texts = [line for _, line in lines]
            cursor.execute(_REBUILD_POSTGRESQL.format(movies=movies), [ids, texts, *params])
        else:
            connection.connection.create_function(
                "catalog_rebuilt_search_text", 2, _sqlite_rebuilder(lines), deterministic=True
            )
            cursor.execute(_REBUILD_SQLITE.format(movies=movies), params)
        return cursor.rowcount


def _sqlite_rebuilder(lines: list[tuple[int, str]]):
    ranked = {pk: (rank, line) for rank, (pk, line) in enumerate(lines)}

    def rebuilt(text: str, genre_ids: str | None) -> str:
        fields = text.split(FIELD_SEPARATOR, MOVIE_LINES)[:MOVIE_LINES]
        fields += [""] * (MOVIE_LINES - len(fields))  # as split_part does
        if genre_ids:
            found = (ranked.get(int(pk)) for pk in str(genre_ids).split(","))
            fields += [line for _, line in sorted(genre for genre in found if genre)]
        return FIELD_SEPARATOR.join(fields)

    return rebuilt


def refresh_search_text(movie_ids: Iterable[int], *, using: str = DEFAULT_DB_ALIAS) -> int:
    """Rebuild search_text for these movies from their genre links, in one UPDATE.

    Returns the number of movies whose text changed.
    """
    ids = sorted(set(movie_ids))
    if not ids:
        return 0
    connection = connections[using]
    param = ids if connection.vendor == "postgresql" else json.dumps(ids)
    return _rebuild(using, _MOVIES_BY_ID[connection.vendor], [param], genre_lines(using))


def refresh_genre_movies(genre_id: int, *, using: str, leaving_out: bool = False) -> int:
    """Rebuild search_text for the movies that have this genre, in one UPDATE.

    With ``leaving_out``, as if the genre were already gone from them: run
    before its links go (delete, clear), when they still say which movies
    had it, instead of collecting the ids of what may be half the catalogue.
    """
    lines = genre_lines(using, leaving_out=genre_id if leaving_out else None)
    return _rebuild(using, _MOVIES_OF_GENRE, [genre_id], lines)


def lock_movies(movie_ids: Iterable[int] | QuerySet, using: str) -> None:
    """Hold these movies' genre links still until the transaction ends.

    In id order, so that two writers locking overlapping sets cannot wait for
    each other in a circle. SQLite runs one write transaction at a time, so
    there it has nothing to do.
    """
    if not connections[using].features.has_select_for_update:
        return
    movies = Movie.objects.using(using).filter(pk__in=movie_ids).order_by("pk")
    list(movies.select_for_update(no_key=True).values_list("pk", flat=True))


def link_changes(
    *, instance: Movie | Genre, adding: bool, reverse: bool, pk_set: set | None, using: str
) -> dict[int, int]:
    """How much each genre's movie_count moves with an add, remove or movie.genres.clear().

    Read just before the links change, with the movies involved locked.
    ``pk_set`` is None for clear(); for add() Django has already left out the
    links it found, but another writer may have added them since.
    """
    if pk_set is not None and not pk_set:
        return {}
    if reverse:
        lock_movies(pk_set, using)
        linked = Link.objects.using(using).filter(genre_id=instance.pk, movie_id__in=pk_set)
        count = linked.count()
        return {instance.pk: len(pk_set) - count if adding else -count}
    lock_movies([instance.pk], using)
    links = Link.objects.using(using).filter(movie_id=instance.pk)
    if pk_set is not None:
        links = links.filter(genre_id__in=pk_set)
    linked = set(links.values_list("genre_id", flat=True))
    return dict.fromkeys(pk_set - linked, 1) if adding else dict.fromkeys(linked, -1)


def shift_movie_counts(changes: Mapping[int, int], using: str) -> None:
    """Add each change to its genre's movie_count: one UPDATE per distinct amount."""
    by_amount: dict[int, list[int]] = defaultdict(list)
    for genre_id, amount in changes.items():
        if amount:
            by_amount[amount].append(genre_id)
    for amount, genre_ids in by_amount.items():
        Genre.objects.using(using).filter(pk__in=genre_ids).update(
            movie_count=F("movie_count") + amount
        )


@receiver(pre_save, sender=Movie)
def movie_saving(sender, using: str, **kwargs) -> None:
    # The catalogue lock before the movie's row: every writer takes them in this order.
    lock_catalogue(using)


@receiver(post_save, sender=Movie)
def movie_saved(sender, **kwargs) -> None:
    bump_version()


@receiver(pre_delete, sender=Movie)
def movie_deleting(sender, instance: Movie, using: str, **kwargs) -> None:
    lock_catalogue(using)
    # The links go by cascade, without m2m_changed: as movie.genres.clear() would.
    instance._movie_count_changes = link_changes(
        instance=instance, adding=False, reverse=False, pk_set=None, using=using
    )


@receiver(post_delete, sender=Movie)
def movie_deleted(sender, instance: Movie, using: str, **kwargs) -> None:
    bump_version()
    shift_movie_counts(instance.__dict__.pop("_movie_count_changes", {}), using)


@receiver(m2m_changed, sender=Link)
def genres_changed(sender, instance, action, reverse, pk_set, using, **kwargs) -> None:
    if action in {"pre_add", "pre_remove", "pre_clear"}:
        lock_catalogue(using)
        if reverse and action == "pre_clear":
            # genre.movies.clear(): its movies are locked and rebuilt without
            # it while the links still say which they are; the genre is
            # recounted afterwards.
            lock_movies(Link.objects.filter(genre_id=instance.pk).values("movie_id"), using)
            refresh_genre_movies(instance.pk, using=using, leaving_out=True)
        else:
            instance._movie_count_changes = link_changes(
                instance=instance,
                adding=action == "pre_add",
                reverse=reverse,
                pk_set=pk_set,
                using=using,
            )
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    bump_version()
    if reverse and action == "post_clear":
        # Recounted rather than set to 0: links that other writers committed
        # after the DELETE began are still there. Few are left, so it is cheap.
        Genre.objects.using(using).filter(pk=instance.pk).recount_movies()
        return
    shift_movie_counts(instance.__dict__.pop("_movie_count_changes", {}), using)
    # genre.movies.add()/remove(): pk_set holds movie ids.
    refresh_search_text(pk_set if reverse else [instance.pk], using=using)


@receiver(pre_save, sender=Genre)
def genre_saving(sender, instance: Genre, using: str, **kwargs) -> None:
    # Before the genre's row, as count writers take them: no lock waits in a circle.
    if not instance._state.adding:
        lock_catalogue(using)


@receiver(post_save, sender=Genre)
def genre_saved(sender, instance: Genre, created: bool, using: str, **kwargs) -> None:
    bump_version()
    if not created:
        refresh_genre_movies(instance.pk, using=using)


@receiver(pre_delete, sender=Genre)
def genre_deleting(sender, instance: Genre, using: str, origin=None, **kwargs) -> None:
    lock_catalogue(using)
    if origin is instance:
        # genre.delete(), as the admin and the API delete: its movies are
        # rebuilt without it now, before its links go by cascade.
        refresh_genre_movies(instance.pk, using=using, leaving_out=True)
    else:
        # A queryset's delete() may take several genres that share movies:
        # those are rebuilt once every link is gone.
        instance._movies_before_delete = list(
            Link.objects.using(using)
            .filter(genre_id=instance.pk)
            .values_list("movie_id", flat=True)
        )


@receiver(post_delete, sender=Genre)
def genre_deleted(sender, instance: Genre, using: str, **kwargs) -> None:
    bump_version()
    refresh_search_text(instance.__dict__.pop("_movies_before_delete", []), using=using)
