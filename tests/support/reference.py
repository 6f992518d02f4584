"""Brute-force statements of derived data, to check the stored copies against.

Search, written from the definition, field by field, without the stored
search_text: a movie matches when every term is a case- and accent-insensitive
substring of its name, director, popularity, imdb_score or one of its genre
names. The list's filters, and its genre counts (the genre facet), from their
definitions. A genre's movie count, counted from the links rather than read
from Genre.movie_count. The vocabulary and "did you mean", from their
definitions.

Movies are Movie rows, or Row values a test keeps of its own (a model of what
the catalogue should hold).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from catalog.models import Genre, Movie, genre_key
from catalog.search import normalise


@dataclass(frozen=True)
class Row:
    """A movie as the references read it."""

    pk: int
    name: str
    director: str
    popularity: float
    imdb_score: float
    genres: tuple[str, ...] = ()

    @classmethod
    def of(cls, movie: Movie | Row) -> Row:
        if isinstance(movie, Row):
            return movie
        genres = tuple(genre.name for genre in movie.genres.all())
        return cls(
            movie.pk, movie.name, movie.director, movie.popularity, movie.imdb_score, genres
        )


def reference_terms(query: str) -> list[str]:
    return [term for term in re.split(r"[\s,\x00-\x1f\x7f-\x9f]+", normalise(query)) if term]


# A search's clauses, from the definition: [-][field:]("phrase"|term), where
# what is not syntax (a quote never closed, a phrase without a word, a lone
# "-" or "field:") is a plain term as typed.
_CLAUSE = re.compile(
    r'(?P<excluded>-(?=[^\s,]))?(?:(?P<field>[a-z]+):(?=[^\s,]))?(?:"(?P<phrase>[^"]*)"|[^\s,]+)'
)


@dataclass(frozen=True)
class ReferenceClause:
    text: str
    field: str = ""
    phrase: bool = False
    excluded: bool = False


def reference_clauses(query: str) -> list[ReferenceClause]:
    text = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", normalise(query))
    clauses = []
    position = 0
    while True:
        found = _CLAUSE.search(text, position)
        if found is None:
            return clauses
        field, excluded = found["field"] or "", bool(found["excluded"])
        if field and field not in ("name", "director", "genre"):
            raise ValueError(field)
        words = re.findall(r"\w+", found["phrase"] or "")
        if found["phrase"] is not None and words:
            clauses.append(ReferenceClause(" ".join(words), field, True, excluded))
            position = found.end()
            continue
        # Not a phrase: the term runs to the next separator, quotes and all.
        end = re.compile(r"[\s,]|$").search(text, found.start()).start()
        body = text[found.start() + excluded + (len(field) + 1 if field else 0) : end]
        clauses.append(ReferenceClause(body, field, False, excluded))
        position = end


def movie_fields(movie: Movie | Row) -> list[str]:
    row = Row.of(movie)
    return [
        row.name,
        row.director,
        repr(float(row.popularity)),
        repr(float(row.imdb_score)),
        *row.genres,
    ]


def fields_sought(movie: Movie | Row, field: str) -> list[str]:
    row = Row.of(movie)
    if field == "name":
        return [row.name]
    if field == "director":
        return [row.director]
    if field == "genre":
        return list(row.genres)
    return movie_fields(row)


def clause_in(clause: ReferenceClause, field: str) -> bool:
    text = normalise(field)
    if not clause.phrase:
        return clause.text in text
    return f" {clause.text} " in " " + " ".join(re.findall(r"\w+", text)) + " "


def reference_matches(movie: Movie | Row, query: str) -> bool:
    for clause in reference_clauses(query):
        held = any(clause_in(clause, field) for field in fields_sought(movie, clause.field))
        if held == clause.excluded:
            return False
    return True


def reference_search(movies: Iterable[Movie | Row], query: str) -> set[int]:
    return {movie.pk for movie in movies if reference_matches(movie, query)}


def reference_list(
    movies: Iterable[Movie | Row],
    *,
    search: str | None = None,
    genres: Iterable[str] = (),
    genre_any: Iterable[str] = (),
    director: str = "",
    bounds: Iterable[tuple[str, str, float]] = (),
) -> set[int]:
    """The movies a list finds: the search, every genre of ``genres``, one of
    ``genre_any`` (when it names any), the director's text, each bound
    (field, "gte" or "lte", value); genres by key, the director as a search term."""
    rows = [Row.of(movie) for movie in movies]
    every = {genre_key(name) for name in genres}
    anyone = {genre_key(name) for name in genre_any}
    found = reference_search(rows, search) if search is not None else {row.pk for row in rows}
    kept = set()
    for row in rows:
        keys = {genre_key(name) for name in row.genres}
        within = all(
            getattr(row, field) >= value if lookup == "gte" else getattr(row, field) <= value
            for field, lookup, value in bounds
        )
        if (
            row.pk in found
            and every <= keys
            and (not anyone or bool(anyone & keys))
            and normalise(director.strip()) in normalise(row.director)
            and within
        ):
            kept.add(row.pk)
    return kept


def reference_genre_facet(
    movies: Iterable[Movie | Row], matches: set[int], *, limit: int
) -> list[tuple[str, int, bool]]:
    """(name, count, count_exact) of each genre that some of ``matches`` have: how many,
    at most ``limit`` (exact when no more), the most first, then by name."""
    counted: Counter[str] = Counter()
    for row in map(Row.of, movies):
        if row.pk in matches:
            counted.update(set(row.genres))
    facet = [(name, min(count, limit), count <= limit) for name, count in counted.items()]
    return sorted(facet, key=lambda entry: (-entry[1], entry[0]))


def text_words(text: str) -> set[str]:
    """The vocabulary's words of a text: runs of word characters, normalised, none with a digit."""
    return {word for word in re.findall(r"\w+", normalise(text)) if not re.search(r"\d", word)}


def reference_words(
    movies: Iterable[Movie | Row] | None = None, genre_names: Iterable[str] | None = None
) -> dict[str, int]:
    """Each word's count, by brute force over every movie and genre (those stored by default)."""
    rows = [Row.of(movie) for movie in (Movie.objects.all() if movies is None else movies)]
    if genre_names is None:
        genre_names = Genre.objects.values_list("name", flat=True)
    counted: Counter[str] = Counter()
    for row in rows:
        counted.update(text_words(row.name) | text_words(row.director))
    for name in genre_names:
        counted.update(text_words(name))
    return dict(counted)


def osa(a: str, b: str) -> int:
    """The optimal string alignment distance, from its definition."""
    rows = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def allowed_edits(term: str, word: str) -> int:
    """The edits the definition allows: by the longer word, none with a digit."""
    longer = max(len(term), len(word))
    if re.search(r"\d", term + word) or longer < 5:
        return 0
    return 1 if longer <= 8 else 2


def reference_did_you_mean(
    query: str,
    movies: Iterable[Movie | Row] | None = None,
    genre_names: Iterable[str] | None = None,
) -> str | None:
    """did_you_mean from the definition, over every movie, without the stored vocabulary."""
    rows = [
        Row.of(movie)
        for movie in (Movie.objects.prefetch_related("genres") if movies is None else movies)
    ]
    if reference_search(rows, query):
        return None
    words = reference_words(rows, genre_names)
    terms = list(dict.fromkeys(reference_terms(query)))
    # The query's pieces: the words of each term, what lies between them, spaces.
    pieces = " ".join(terms)
    choices = []
    for piece in re.split(r"(\w+)", pieces):
        misspelt = re.fullmatch(r"\w+", piece) and not any(piece in word for word in words)
        near = sorted(
            (osa(piece, word), -count, word)
            for word, count in words.items()
            if misspelt and osa(piece, word) <= allowed_edits(piece, word)
        )
        choices.append([word for _, _, word in near[:4]] or [piece])
    if "".join(texts[0] for texts in choices) == pieces and all(len(t) == 1 for t in choices):
        return None
    # Every combination of the pieces' closest words, fewest steps down the lists first.
    combinations = sorted(
        itertools.product(*(range(len(texts)) for texts in choices)),
        key=lambda steps: (sum(steps), steps),
    )[:4]
    for steps in combinations:
        suggestion = "".join(texts[step] for texts, step in zip(choices, steps, strict=True))
        if reference_search(rows, suggestion):
            return suggestion
    return None


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
