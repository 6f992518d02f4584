"""Every value the catalogue derives from its rows, computed in one place.

What a write stores beside a movie's own fields, what the importer stores in
bulk and what the consistency check expects are all these functions' results,
so the three cannot disagree:

- a movie's search_text, name_words, digit_pairs and word_pairs (catalog.search), from its
  name, director, popularity and score;
- a movie's genre_ids, from its genre links;
- a genre's key and search_name, from its name;
- the words a movie or genre adds to the vocabulary (catalog.vocabulary).

Genre.movie_count (the number of links of each genre) and the word index of
names and directors (migration 0009: on PostgreSQL a generated column, on
SQLite a table kept by triggers) are derived too; the database, and the
writes' count of links they add and remove, keep them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from catalog import search, vocabulary
from catalog.models import genre_key


@dataclass(frozen=True, slots=True)
class MovieText:
    """The columns a movie's own fields decide."""

    search_text: str
    name_words: str
    digit_pairs: str
    word_pairs: str


def movie_text(*, name: str, director: str, popularity: float, imdb_score: float) -> MovieText:
    """The derived text of a movie with these (clean) fields.

    Raises search.DocumentTooLong when its search_text would not fit.
    """
    document = search.search_document(
        name=name, director=director, popularity=popularity, imdb_score=imdb_score
    )
    return MovieText(
        search_text=document,
        name_words=search.words(name),
        digit_pairs=search.digit_pairs(document),
        word_pairs=search.word_pairs(document),
    )


def movie_text_of(movie: object) -> MovieText:
    """movie_text of anything with a movie's searchable fields (search.DOCUMENT_FIELDS)."""
    return movie_text(**{name: getattr(movie, name) for name in search.DOCUMENT_FIELDS})


def genre_ids_of(genre_ids: Iterable[int]) -> dict[str, bool]:
    """Movie.genre_ids for a movie linked to these genres."""
    return {str(genre_id): True for genre_id in sorted(set(genre_ids))}


def genre_ids_json(genre_ids: Iterable[int]) -> str:
    """genre_ids_of as the JSON text bulk statements write (and SQLite stores)."""
    return json.dumps(genre_ids_of(genre_ids))


@dataclass(frozen=True, slots=True)
class GenreText:
    """The columns a genre's name decides."""

    key: str
    search_name: str


def genre_text(name: str) -> GenreText:
    return GenreText(key=genre_key(name), search_name=search.field_line(name))


def movie_words(name: str, director: str, name_words: str | None = None) -> frozenset[str]:
    """The words a movie with this name and director counts once each in the vocabulary."""
    return vocabulary.movie_words(name, director, name_words=name_words)


def genre_words(name: str) -> frozenset[str]:
    """The words a genre with this name counts once each in the vocabulary."""
    return vocabulary.words_of(name)
