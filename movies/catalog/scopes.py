"""Which cached answers a write can change: the parts of the catalogue, as versions.

Every write raises the catalogue's version (ALL), and an answer that may
depend on anything is kept only while ALL is unchanged. Some answers depend on
less, and are kept across writes elsewhere:

- A search's results (a page, its count, its order) can only change when a
  movie that matches it, before or after the write, changes: every term is
  then in that movie's text or one of its genres' names, so its longest
  term's first trigram is too. The catalogue's trigrams are hashed into
  TEXT_BUCKETS scopes; a write of a movie raises the buckets of every trigram
  of its text and genre names, as they were and as they are, and a search
  with results depends on its one bucket (search_scope).
- A movie's own answer (``/api/movies/<id>``) depends on that movie.

Writes that do not name what they change (an import, a genre's rename or
deletion, a repair) raise WIDE, on which every scoped answer depends too. A
search that found nothing (its correction may change with any word of the
catalogue) depends on ALL.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from catalog.search import FIELD_SEPARATOR, Search

ALL = "all"
WIDE = "wide"
TEXT_BUCKETS = 4096
_TRIGRAM = 3


def text_bucket(trigram: str) -> str:
    return f"text:{zlib.crc32(trigram.encode('utf-8', 'surrogatepass')) % TEXT_BUCKETS}"


def text_scopes(texts: Iterable[str]) -> set[str]:
    """The buckets of every trigram of these normalised texts (search_text, search_name)."""
    buckets: set[str] = set()
    for text in texts:
        for line in text.split(FIELD_SEPARATOR):
            buckets.update(
                text_bucket(line[start : start + _TRIGRAM])
                for start in range(len(line) - _TRIGRAM + 1)
            )
    return buckets


def search_scope(search: Search | None) -> str | None:
    """The bucket a search's results depend on; None when no term has a trigram."""
    if search is None or not search.terms or len(search.terms[0]) < _TRIGRAM:
        return None
    return text_bucket(search.terms[0][:_TRIGRAM])  # terms: longest first


def movie_scope(movie_id: int) -> str:
    return f"movie:{movie_id}"
