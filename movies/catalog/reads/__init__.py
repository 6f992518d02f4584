"""Reading the catalogue's movie list: a MovieQuery in, a MoviePage out.

The API (catalog.api) and the search page (catalog.site) each parse their
requests into a MovieQuery (catalog.reads.query) and present the MoviePage
that list_movies (catalog.reads.listing) answers: they search, filter, order,
page, count and correct alike because they run the same code, not a copy.
"""

from catalog.reads.facets import GenreCount
from catalog.reads.listing import MoviePage, list_movies
from catalog.reads.query import InvalidQuery, MovieQuery

__all__ = ["GenreCount", "InvalidQuery", "MoviePage", "MovieQuery", "list_movies"]
