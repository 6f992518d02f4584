"""A brute-force statement of the search semantics, to check catalog.search against.

Written from the definition, field by field, without the stored search_text:
a movie matches when every term is a case- and accent-insensitive substring of
its name, director, popularity, imdb_score or one of its genre names.
"""

from __future__ import annotations

import re

from catalog.models import Movie
from catalog.search import normalise


def reference_terms(query: str) -> list[str]:
    return [term for term in re.split(r"[\s,\x00]+", normalise(query)) if term]


def movie_fields(movie: Movie) -> list[str]:
    return [
        movie.name,
        movie.director,
        repr(float(movie.popularity)),
        repr(float(movie.imdb_score)),
        *(genre.name for genre in movie.genres.all()),
    ]


def reference_search(movies: list[Movie], query: str) -> set[int]:
    terms = reference_terms(query)
    return {
        movie.pk
        for movie in movies
        if all(any(term in normalise(field) for field in movie_fields(movie)) for term in terms)
    }
