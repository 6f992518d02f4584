"""Brute-force statements of derived data, to check the stored copies against.

Search, written from the definition, field by field, without the stored
search_text: a movie matches when every term is a case- and accent-insensitive
substring of its name, director, popularity, imdb_score or one of its genre
names. A genre's movie count, counted from the links rather than read from
Genre.movie_count.
"""

from __future__ import annotations

import re

from catalog.models import Genre, Movie
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


def real_movie_counts() -> dict[str, int]:
    """Each genre's number of movies, by name, counted from the links."""
    links = Movie.genres.through.objects.all()
    counted = {genre.name: 0 for genre in Genre.objects.all()}
    for name in links.values_list("genre__name", flat=True):
        counted[name] += 1
    return counted


def stored_movie_counts() -> dict[str, int]:
    """Each genre's Genre.movie_count, by name."""
    return dict(Genre.objects.values_list("name", "movie_count"))
