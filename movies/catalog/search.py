"""The catalogue's search semantics, shared by the API and the admin.

A query is split into terms at whitespace and commas. A movie matches when
EVERY term is a substring of at least one of its fields: name, director,
popularity, imdb_score (numbers as text, ``70`` matches ``70.0``) or the name
of one of its genres. Matching ignores case and accents (``amelie`` finds
"Amélie") and nothing else: no stemming, no word boundaries, ``%`` and ``_``
are plain characters.

Each movie stores its fields as one normalised ``search_text``, one field per
line. Terms never contain a line break, so no term can match across two
fields, and one ``LIKE '%term%'`` per term on that column is the whole query,
which a trigram index serves on PostgreSQL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.db.models import QuerySet

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
QUERY_TOO_LONG = f"Search is limited to {MAX_QUERY_LENGTH} characters."
TOO_MANY_TERMS = f"Search is limited to {MAX_TERMS} terms."

FIELD_SEPARATOR = "\n"
# Control characters (NUL included) separate terms like whitespace does: they
# cannot be stored in PostgreSQL text and never occur in the catalogue.
_TERM_SEPARATORS = re.compile(r"[\s,\x00-\x1f\x7f-\x9f]+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


# The most bytes (UTF-8) of search_text a movie may have. On PostgreSQL the
# order indexes carry it, and an index row holds at most 2,704 bytes. Every
# movie of ASCII text within the field limits fits (2,554 bytes at most); only
# text of many multi-byte characters can reach it.
MAX_DOCUMENT_BYTES = 2_600
DOCUMENT_TOO_LONG = (
    "Together with the other fields, too long to search: the name, director and "
    "genres take {size} bytes of searchable text (UTF-8), at most {limit}."
)


# The most bytes a genre's line in search_text may take: 100 characters of
# four bytes each. Beyond it (characters that normalisation expands, such as
# U+FDFA) a genre could not be given to any movie.
MAX_GENRE_LINE_BYTES = 400
GENRE_TOO_LONG = (
    f"Too long to search: more than {MAX_GENRE_LINE_BYTES} bytes (UTF-8) once normalised."
)


def genre_line_too_long(name: str) -> bool:
    return utf8_size(field_line(name)) > MAX_GENRE_LINE_BYTES


class InvalidSearch(ValueError):
    """A query the catalogue refuses to run; the message is meant for the client."""


class DocumentTooLong(ValueError):
    """A movie whose search_text would not fit; ``field`` is the field that takes most of it."""

    def __init__(self, *, size: int, field: str) -> None:
        super().__init__(DOCUMENT_TOO_LONG.format(size=size, limit=MAX_DOCUMENT_BYTES))
        self.field = field


def normalise(text: str) -> str:
    """Fold case and strip accents so that documents and terms compare alike."""
    if text.isascii():
        return text.lower()  # the same result, without the Unicode work
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return stripped.casefold()


def field_line(text: str) -> str:
    """A field's line in search_text: normalised, control characters made spaces."""
    return _CONTROL_CHARACTERS.sub(" ", normalise(text))


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, as the database stores it."""
    return len(text.encode("utf-8", "surrogatepass"))


def format_number(value: float) -> str:
    """The text a number is searched as: the shortest exact form, ``70.0``, ``8.5``."""
    return repr(float(value))


def split_terms(query: str) -> list[str]:
    """Normalised, distinct, non-empty terms of ``query``, longest first.

    Raises InvalidSearch when the query is longer than MAX_QUERY_LENGTH or has
    more than MAX_TERMS terms: such queries are never needed to find a movie
    and would only cost the database.
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidSearch(QUERY_TOO_LONG)
    terms = {term for term in _TERM_SEPARATORS.split(normalise(query)) if term}
    if len(terms) > MAX_TERMS:
        raise InvalidSearch(TOO_MANY_TERMS)
    # Longest first: the most selective condition leads the query.
    return sorted(terms, key=lambda term: (-len(term), term))


# The movie fields search_document reads besides genre_names.
DOCUMENT_FIELDS = ("name", "director", "popularity", "imdb_score")


def document_error(fields, genre_names: Iterable[str]) -> DocumentTooLong | None:
    """Why a movie with these fields (a mapping of DOCUMENT_FIELDS) could not be stored, if so."""
    try:
        search_document(
            **{name: fields[name] for name in DOCUMENT_FIELDS}, genre_names=genre_names
        )
    except DocumentTooLong as error:
        return error
    return None


def search_document(
    *,
    name: str,
    director: str,
    popularity: float,
    imdb_score: float,
    genre_names: Iterable[str],
) -> str:
    """The ``search_text`` stored for a movie with these fields.

    Raises DocumentTooLong past MAX_DOCUMENT_BYTES.
    """
    fields = [name, director, format_number(popularity), format_number(imdb_score)]
    fields.extend(sorted(genre_names))
    lines = [field_line(field) for field in fields]
    document = FIELD_SEPARATOR.join(lines)
    if len(document) * 4 > MAX_DOCUMENT_BYTES:  # only then can it be too long
        size = utf8_size(document)
        if size > MAX_DOCUMENT_BYTES:
            shares = {
                "name": utf8_size(lines[0]),
                "director": utf8_size(lines[1]),
                "genre": sum(utf8_size(line) for line in lines[4:]),
            }
            raise DocumentTooLong(size=size, field=max(shares, key=shares.__getitem__))
    return document


def director_contains(queryset: QuerySet, text: str) -> QuerySet:
    """Movies whose director has ``text`` in it, ignoring case and accents as terms do.

    The director is the second line of search_text; the plain substring test
    comes first, so an index (or a cheap scan) narrows the rows the pattern
    then checks.
    """
    needle = field_line(text.strip())
    on_second_line = rf"^[^{FIELD_SEPARATOR}]*{FIELD_SEPARATOR}[^{FIELD_SEPARATOR}]*"
    return queryset.filter(search_text__contains=needle).filter(
        search_text__regex=on_second_line + re.escape(needle)
    )


def search_movies(queryset: QuerySet, query: str) -> QuerySet:
    """Filter a Movie queryset down to the movies matching every term of ``query``."""
    for term in split_terms(query):
        queryset = queryset.filter(search_text__contains=term)
    return queryset
