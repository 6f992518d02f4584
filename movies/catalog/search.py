"""The catalogue's search semantics, shared by the API and the admin.

A query is split into terms at whitespace and commas. A movie matches when
EVERY term is a substring of at least one of its fields: name, director,
popularity, imdb_score (numbers as text, ``70`` matches ``70.0``) or the name
of one of its genres. Matching ignores case and accents (``amelie`` finds
"Amélie") and nothing else: no stemming, no word boundaries, ``%`` and ``_``
are plain characters.

Each movie stores its own fields as one normalised ``search_text``, one field
per line. Terms never contain a line break, so no term can match across two
fields, and ``LIKE '%term%'`` on that column, which a trigram index serves on
PostgreSQL, finds a term in a movie's own fields. Genre names are not in it:
each genre stores its normalised name (``Genre.search_name``), a term is looked
up among the genres (a few dozen rows), and a movie with one that matches
(``Movie.genre_ids``, on its own row) matches too. So renaming or deleting a
genre rewrites no movie row, whatever the number of its movies.

The trigram index cannot serve a term shorter than three characters. Each
movie also stores the two-character pieces of its search_text that hold a
digit (``Movie.digit_pairs``), and PostgreSQL indexes them: a term of two
characters with a digit (``70``) is sought among them instead.

Nor does a trigram know which word follows which: a phrase of common words
(``"the at"``) would read every movie holding them. Each movie stores the
pairs of adjacent words of each of its fields (``Movie.word_pairs``), and
PostgreSQL indexes them too: a phrase is sought among them first.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import pairwise
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat
from django.db.models.lookups import Contains, Regex

MAX_QUERY_LENGTH = 200
MAX_TERMS = 10
QUERY_TOO_LONG = f"Search is limited to {MAX_QUERY_LENGTH} characters."
TOO_MANY_TERMS = f"Search is limited to {MAX_TERMS} terms."

FIELD_SEPARATOR = "\n"
# Control characters (NUL included) separate terms like whitespace does: they
# cannot be stored in PostgreSQL text and never occur in the catalogue.
_SEPARATOR_CHARACTERS = r"\s,\x00-\x1f\x7f-\x9f"
_TERM_SEPARATORS = re.compile(f"[{_SEPARATOR_CHARACTERS}]+")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


# The most bytes (UTF-8) of search_text a movie may have. On PostgreSQL the
# order indexes carry it with genre_ids (at most about 370 bytes: 20 ids), and
# an index row holds at most 2,704 bytes. Every movie within the field limits
# fits (2,077 bytes at most) unless normalisation expands its text (U+FDFA
# becomes 18 characters): only such text can reach it.
MAX_DOCUMENT_BYTES = 2_200
DOCUMENT_TOO_LONG = (
    "Together with the other fields, too long to search: the name and director "
    "take {size} bytes of searchable text (UTF-8) once normalised, at most {limit}."
)


class InvalidSearch(ValueError):
    """A query the catalogue refuses to run; the message is meant for the client."""


class DocumentTooLong(ValueError):
    """A movie whose search_text would not fit; ``field`` is the one that takes most of it."""

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


# Field prefixes a term may carry (``director:nolan``): the field it is sought in.
NAME_FIELD = "name"
DIRECTOR_FIELD = "director"
GENRE_FIELD = "genre"
FIELDS = (NAME_FIELD, DIRECTOR_FIELD, GENRE_FIELD)
UNKNOWN_FIELD = (
    "Unknown field {field!r} in {term!r}: a term may start with one of "
    + ", ".join(f"{field}:" for field in FIELDS)
    + '. To search for the text as typed, put it in quotes ("{body}").'
)
# What may precede a term's field name: the start, or a "-" that excludes.
_PREFIX = re.compile(r"(-?)([a-z]+):")


@dataclass(frozen=True)
class Clause:
    """One condition of a search: a term or a phrase, perhaps in one field, perhaps excluded.

    ``text``: the normalised term, or for a phrase its words, one space
    between them. ``field``: one of FIELDS, or "" for any field. A term is a
    substring of the field; a phrase's words are whole words of it, adjacent
    and in that order (anything but a word character or a line break between
    them). ``typed``: the clause as it reads in a search, normalised.
    """

    text: str
    field: str = ""
    phrase: bool = False
    excluded: bool = False

    @property
    def typed(self) -> str:
        body = f'"{self.text}"' if self.phrase else self.text
        return ("-" if self.excluded else "") + (f"{self.field}:" if self.field else "") + body

    @property
    def words(self) -> tuple[str, ...]:
        """A phrase's words; a term's word characters, as words() splits it."""
        return tuple(_WORDS.findall(self.text))

    @property
    def ranks(self) -> bool:
        """Whether relevance compares names with it: a term or phrase sought in the name."""
        return not self.excluded and self.field in ("", NAME_FIELD)

    def pattern(self) -> str:
        """A regular expression (Python's and PostgreSQL's alike) of where it matches,
        in a field's normalised line: a term anywhere, a phrase as whole words."""
        if not self.phrase:
            return re.escape(self.text)
        return r"(?:^|[^\w])" + self.words_adjacent() + r"(?:[^\w]|$)"

    def words_adjacent(self) -> str:
        """A phrase's words next to each other within a line, as a regular expression
        (word characters need no escape, in either dialect)."""
        return r"[^\w\n]+".join(self.words)

    def in_line(self, line: str) -> bool:
        """Whether it is in ``line`` (a normalised field line), ignoring ``excluded``."""
        if not self.phrase:
            return self.text in line
        return f" {self.text} " in f" {line_words(line)} "


@dataclass(frozen=True)
class Search:
    """A search as typed, parsed once into what every reader of it needs.

    ``clauses``: what was typed, in order, repeats kept (parse_clauses):
    everything a search's answer depends on (the order ranks: ``the war`` and
    ``war the`` rank differently). ``typed``: their typed forms. ``terms``:
    the distinct texts every match holds in its fields or genre names (the
    terms, the phrases' words, not what is excluded), longest first, so that
    the most selective condition leads the query. ``name_terms``: those
    relevance looks for in names (not limited to the director or genres);
    ``words``: their words in the order typed, what relevance compares names to.
    """

    text: str = ""
    clauses: tuple[Clause, ...] = ()
    terms: tuple[str, ...] = ()
    name_terms: tuple[str, ...] = ()
    words: str = ""

    @staticmethod
    def parse(text: str) -> Search:
        """Raises InvalidSearch when the text is longer than MAX_QUERY_LENGTH, has more
        than MAX_TERMS distinct clauses, or names a field that is not one of FIELDS:
        such searches are never needed to find a movie and would only cost the database.

        Parsed once per text: what a request's response cache key, its list, its
        ranking and its correction read is the same value.
        """
        return _parsed(text)

    @property
    def typed(self) -> tuple[str, ...]:
        return tuple(clause.typed for clause in self.clauses)

    @property
    def plain(self) -> bool:
        """Whether it is terms alone, each sought in every field (no quotes, fields or "-")."""
        return not any(clause.phrase or clause.field or clause.excluded for clause in self.clauses)

    def __bool__(self) -> bool:
        """Whether there is anything to search for (a blank search is none)."""
        return bool(self.clauses)


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Search:
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidSearch(QUERY_TOO_LONG)
    clauses = parse_clauses(normalise(text))
    if len(set(clauses)) > MAX_TERMS:
        raise InvalidSearch(TOO_MANY_TERMS)
    held = [
        word
        for clause in clauses
        if not clause.excluded
        for word in (clause.words if clause.phrase else (clause.text,))
    ]
    ranked = [
        word
        for clause in clauses
        if clause.ranks
        for word in (clause.words if clause.phrase else (clause.text,))
    ]
    query_words = " ".join(word for clause in clauses if clause.ranks for word in clause.words)
    return Search(text, tuple(clauses), _longest_first(held), _longest_first(ranked), query_words)


def _longest_first(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(terms), key=lambda term: (-len(term), term)))


def _is_separator(char: str) -> bool:
    return _TERM_SEPARATORS.fullmatch(char) is not None


def parse_clauses(text: str) -> list[Clause]:
    """The clauses of a normalised search, in the order typed.

    Terms are separated by whitespace and commas. A term may start with
    ``-`` (movies without it) and then a field's name and a colon
    (``director:nolan``); what follows is a term, or a phrase in double
    quotes (``"the dark knight"``, which may hold separators). What does not
    read as syntax is a term as typed: a quote with no closing one, a lone
    ``-``, a field's name with nothing after the colon, a phrase with no word.
    A field's name that is not one of FIELDS raises InvalidSearch.
    """
    clauses: list[Clause] = []
    position, end = 0, len(text)
    while position < end:
        if _is_separator(text[position]):
            position += 1
            continue
        start = position
        while position < end and not _is_separator(text[position]):
            position += 1
        term = text[start:position]
        excluded = term.startswith("-") and len(term) > 1
        field = ""
        body_start = start + excluded
        prefix = _PREFIX.match(text, start)
        if prefix and prefix.end() < position:
            field = prefix.group(2)
            if field not in FIELDS:
                body = text[start + excluded : position]
                raise InvalidSearch(UNKNOWN_FIELD.format(field=field, term=term, body=body))
            body_start = prefix.end()
        if text[body_start] == '"':
            closing = text.find('"', body_start + 1)
            words = _WORDS.findall(text[body_start + 1 : closing]) if closing > 0 else []
            if words:
                clauses.append(Clause(" ".join(words), field, True, excluded))
                position = closing + 1
                continue
        clauses.append(Clause(text[body_start:position], field, False, excluded))
    return clauses


def split_terms(query: str) -> list[str]:
    """Normalised, distinct, non-empty terms of ``query``, longest first (Search.terms)."""
    return list(Search.parse(query).terms)


# The movie fields search_document reads.
DOCUMENT_FIELDS = ("name", "director", "popularity", "imdb_score")


def document_error(fields: Mapping[str, Any]) -> DocumentTooLong | None:
    """Why a movie with these fields (a mapping of DOCUMENT_FIELDS) could not be stored, if so."""
    try:
        search_document(**{name: fields[name] for name in DOCUMENT_FIELDS})
    except DocumentTooLong as error:
        return error
    return None


_WORDS = re.compile(r"\w+")


def words(text: str) -> str:
    """The words of ``text``, normalised, one space between them: ``the godfather part ii``.

    What relevance compares, so that case, accents and punctuation do not
    matter (``Godfather: Part II``); stored for each movie's name as
    ``Movie.name_words``.
    """
    return line_words(field_line(text))


def line_words(line: str) -> str:
    """words() of a text already normalised: a field's line in search_text."""
    return " ".join(_WORDS.findall(line))


def name_and_director_lines(document: str) -> tuple[str, str]:
    """The name's and the director's lines of a movie's ``search_text``."""
    name, director, *_ = document.split(FIELD_SEPARATOR, 2) + [""]
    return name, director


def search_document(*, name: str, director: str, popularity: float, imdb_score: float) -> str:
    """The ``search_text`` stored for a movie with these fields.

    Raises DocumentTooLong past MAX_DOCUMENT_BYTES.
    """
    fields = [name, director, format_number(popularity), format_number(imdb_score)]
    lines = [field_line(field) for field in fields]
    document = FIELD_SEPARATOR.join(lines)
    if len(document) * 4 > MAX_DOCUMENT_BYTES:  # only then can it be too long
        size = utf8_size(document)
        if size > MAX_DOCUMENT_BYTES:
            shares = {"name": utf8_size(lines[0]), "director": utf8_size(lines[1])}
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


_DIGIT = re.compile(r"[0-9]")
# Where a piece of two characters with a digit begins, the piece in a group:
# a lookahead, so that overlapping pieces are all found in one pass.
_NOT_SEPARATOR = f"[^{_SEPARATOR_CHARACTERS}]"
_DIGIT_PAIR = re.compile(rf"(?=({_NOT_SEPARATOR}[0-9]|[0-9]{_NOT_SEPARATOR}))")


def digit_pairs(document: str) -> str:
    """The two-character pieces of ``document`` that hold a digit, space-separated, sorted.

    Stored for each movie as ``Movie.digit_pairs`` (of its search_text). A
    term never holds whitespace, a comma or a control character (the term
    separators), so pieces with one are left out; a term of two characters
    with a digit is then in the document exactly when it is one of the pieces
    (is_digit_pair).
    """
    return " ".join(sorted(set(_DIGIT_PAIR.findall(document))))


def is_digit_pair(term: str) -> bool:
    """Whether ``term`` (a normalised term) is sought among the movies' digit_pairs."""
    return len(term) == 2 and _DIGIT.search(term) is not None


def digit_pieces_to_narrow(term: str) -> list[str]:
    """The digit pieces of ``term`` (a normalised term of three characters or more)
    worth seeking among digit_pairs beside its trigrams: those of a number with
    punctuation, else none.

    The trigram index sees only the letters and digits between punctuation:
    ``1.2`` gives it the trigrams of ``1`` and ``2``, which 196,318 of a
    million texts hold, against 10,051 holding ``1.2``. Its pieces ``1.`` and
    ``.2`` (25,189 texts) narrow that much further, and every text with the
    term holds them. A term of letters and digits alone has trigrams as
    narrow as its pieces, or narrower.
    """
    if _DIGIT.search(term) is None or term.isalnum():
        return []
    return sorted(set(_DIGIT_PAIR.findall(term)))


# Between the two words of a pair: neither a word character nor a space.
WORD_PAIR_JOINER = "/"


def word_pairs(document: str) -> str:
    """The pairs of adjacent words of each line of ``document``, ``first/second``,
    space-separated, sorted.

    Stored for each movie as ``Movie.word_pairs`` (of its search_text). Words
    are adjacent as a phrase's are (Clause.in_line): in one line, nothing but
    characters that are not word characters between them.
    """
    pairs: set[str] = set()
    for line in document.split(FIELD_SEPARATOR):
        pairs.update(_adjacent(_WORDS.findall(line)))
    return " ".join(sorted(pairs))


def phrase_pairs(clause: Clause) -> list[str]:
    """The word pairs a movie with the phrase ``clause`` holds (none for a term)."""
    return sorted(set(_adjacent(clause.words))) if clause.phrase else []


def _adjacent(words: Iterable[str]) -> Iterator[str]:
    return map(WORD_PAIR_JOINER.join, pairwise(words))


class HoldsPieces(Func):
    """Movies whose ``column`` (pieces, space-separated) holds every one of ``pieces``,
    as PostgreSQL's index of them reads them.

    The indexes (migrations 0011 and 0014) are of ``string_to_array(column, ' ')``:
    the condition must be written on that same expression to use them.
    """

    output_field = BooleanField()

    def __init__(self, column: str, pieces: Iterable[str]) -> None:
        super().__init__(F(column), *(Value(piece) for piece in pieces))

    def as_sql(
        self, compiler, connection, function=None, template=None, arg_joiner=None, **extra_context
    ):
        column, params = compiler.compile(self.source_expressions[0])
        compiled = [compiler.compile(piece) for piece in self.source_expressions[1:]]
        pieces = ", ".join(sql for sql, _ in compiled)
        sql = f"string_to_array({column}, ' ') @> ARRAY[{pieces}]::text[]"
        return sql, (*params, *(param for _, piece_params in compiled for param in piece_params))


def holds_word_pairs(pairs: Iterable[str], vendor: str) -> Q:
    """Movies holding every one of the word ``pairs`` (and on SQLite a few more).

    Through their index on PostgreSQL. SQLite reads every row either way: a
    substring test of the pairs there spares most rows the regular expression
    (a Python call per row) that then decides, and "the/at" within "bathe/attic"
    is only one more row for it to check.
    """
    pairs = list(pairs)
    if not pairs:
        return Q()
    if vendor == "postgresql":
        return Q(HoldsPieces("word_pairs", pairs))
    return reduce(operator.and_, (Q(word_pairs__contains=pair) for pair in pairs))


def term_in_text(term: str, vendor: str, *, narrowed: bool = False) -> Q:
    """Movies whose own fields hold ``term``: a substring of search_text.

    Through the trigram index on PostgreSQL, or, for a term of two characters
    with a digit, which no trigram holds, through the index of digit_pairs.
    SQLite reads every row either way, and search_text is on it.

    ``narrowed``: a number with punctuation is sought among digit_pairs too
    (digit_pieces_to_narrow), for a statement that reads every row the
    indexes give; not for a walk of an order index, which holds search_text
    but not digit_pairs, and would give way to a sort of every match.
    """
    if vendor != "postgresql":
        return Q(search_text__contains=term)
    if is_digit_pair(term):
        return Q(HoldsPieces("digit_pairs", [term]))
    pieces = digit_pieces_to_narrow(term) if narrowed else []
    held = Q(search_text__contains=term)
    return held & Q(HoldsPieces("digit_pairs", pieces)) if pieces else held


def search_movies(queryset: QuerySet, search: Search) -> QuerySet:
    """Filter a Movie queryset down to the movies matching every clause of ``search``.

    One query reads which genres each clause may match; the movies' query
    then has a condition per clause (clause_condition): the clauses that
    must hold first, through the indexes, the exclusions after.
    """
    if not search:
        return queryset
    clauses = sorted(set(search.clauses), key=lambda clause: clause.excluded)
    genres = _genres_matching(queryset, clauses)
    vendor = connections[queryset.db].vendor
    for clause in clauses:
        queryset = queryset.filter(clause_condition(clause, genres.get(clause, ()), vendor))
    return queryset


def _genres_matching(queryset: QuerySet, clauses: Iterable[Clause]) -> dict[Clause, list[int]]:
    """The genres each clause sought among genre names holds (by key), in one query."""
    sought = [clause for clause in clauses if clause.field in ("", GENRE_FIELD)]
    if not sought:
        return {}
    genre_field = queryset.model._meta.get_field("genres")
    genres = genre_field.related_model.objects.using(queryset.db).filter(
        reduce(operator.or_, (Q(search_name__contains=_needle(clause)) for clause in sought))
    )
    matching: dict[Clause, list[int]] = {clause: [] for clause in sought}
    for pk, search_name in genres.values_list("pk", "search_name"):
        for clause in sought:
            if clause.in_line(search_name):
                matching[clause].append(pk)
    return matching


def _needle(clause: Clause) -> str:
    """A text every field holding the clause holds: the term, or a phrase's longest word."""
    return max(clause.words, key=len) if clause.phrase else clause.text


def _needles(clause: Clause) -> list[str]:
    """What search_text holds wherever the clause is: the term, or a phrase's words
    that an index finds (each one's trigram lists, intersected, narrow the rows its
    pattern then checks), its longest word at least."""
    if not clause.phrase:
        return [clause.text]
    words = sorted(set(clause.words), key=lambda word: (-len(word), word))
    return [words[0], *(word for word in words[1:] if len(word) >= 3 or is_digit_pair(word))]


def _held(clause: Clause, pairs: list[str], *, by_pairs: bool, vendor: str) -> Q:
    """What a movie with ``clause`` (its phrase_pairs ``pairs``) holds, cheapest to
    find first. ``by_pairs`` (PostgreSQL, a phrase of several words): its pairs
    of adjacent words alone, as a common word's trigrams would add every movie
    with it to the read. Otherwise its needles, then on SQLite a phrase's pairs."""
    if by_pairs:
        return holds_word_pairs(pairs, vendor)
    needles = reduce(operator.and_, (term_in_text(text, vendor) for text in _needles(clause)))
    return needles & holds_word_pairs(pairs, vendor)


_SECOND_LINE = rf"^[^{FIELD_SEPARATOR}]*{FIELD_SEPARATOR}"


def clause_condition(clause: Clause, genres: Iterable[int], vendor: str) -> Q:
    """Movies with ``clause`` (without it, when excluded), given the genres it matches.

    Every condition on the text starts with what an index serves on
    PostgreSQL (_held): substrings of search_text, or a phrase's word pairs;
    what says where the text lies (a field's line, whole words) then checks
    the rows it finds.
    """
    pairs = phrase_pairs(clause)
    by_pairs = vendor == "postgresql" and bool(pairs)
    held = _held(clause, pairs, by_pairs=by_pairs, vendor=vendor)
    if clause.field == NAME_FIELD:
        if clause.phrase:
            spaced = Concat(Value(" "), F("name_words"), Value(" "), output_field=TextField())
            condition = held & Q(Contains(spaced, f" {clause.text} "))
        else:
            condition = held & name_has_every_term([clause.text], vendor)
    elif clause.field == DIRECTOR_FIELD:
        if clause.phrase:
            before = rf"(?:[^{FIELD_SEPARATOR}]*[^\w{FIELD_SEPARATOR}])?"
            after = r"(?:[^\w]|$)"
            in_line = _SECOND_LINE + before + clause.words_adjacent() + after
            condition = held & _text_matches(in_line, narrowed=by_pairs)
        else:
            in_line = rf"{_SECOND_LINE}[^{FIELD_SEPARATOR}]*{clause.pattern()}"
            condition = held & Q(search_text__regex=in_line)
    elif clause.field == GENRE_FIELD:
        condition = _holds_any_genre(genres)
    else:
        if clause.phrase:
            held &= _text_matches(clause.pattern(), narrowed=by_pairs)
        condition = held | _holds_any_genre(genres) if genres else held
    return ~condition if clause.excluded else condition


def _text_matches(pattern: str, *, narrowed: bool) -> Q:
    """Movies whose search_text matches ``pattern``. ``narrowed``: an index
    other than the trigrams' (the word pairs') finds the rows to check; the
    test is then written on an expression no index covers, or the planner,
    which underestimates what a pattern's trigrams read, would add every
    movie holding a common word to the read."""
    if not narrowed:
        return Q(search_text__regex=pattern)
    unindexed = Concat(F("search_text"), Value(""), output_field=TextField())
    return Q(Regex(unindexed, pattern))


def _holds_any_genre(genres: Iterable[int]) -> Q:
    keys = [str(pk) for pk in genres]
    return Q(genre_ids__has_any_keys=keys) if keys else Q(pk__in=[])


# Relevance: the order of a search's matches, best first. A match's tier is
# the first of these its name fits; within a tier, the more popular first,
# then the higher id, so the order is total and pages never overlap.
NAME_IS_QUERY = 0  # the name's words are the query's words
NAME_BEGINS_WITH_QUERY = 1  # the name's words begin with the query's words
NAME_HAS_EVERY_TERM = 2  # every term is a substring of the name
OTHER_MATCH = 3


def relevance_tier(
    *, name_line: str, terms: Iterable[str], query_words: str, still_typing: bool = False
) -> int:
    """The tier of a matching movie, from its name's line in search_text.

    ``query_words`` is words(query), computed once for all the movies ranked.
    ``still_typing``: the last word is a prefix (suggestions), so a name that
    begins with the text so far, even inside a word, begins with the query.
    """
    name_words = line_words(name_line)
    if query_words and name_words == query_words:
        return NAME_IS_QUERY
    beginning = query_words if still_typing else query_words + " "
    if query_words and name_words.startswith(beginning):
        return NAME_BEGINS_WITH_QUERY
    if all(term in name_line for term in terms):
        return NAME_HAS_EVERY_TERM
    return OTHER_MATCH


class NameLine(Func):
    """The first line of search_text: the movie's name as terms match it."""

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("search_text"))

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "split_part(%(expressions)s, E'\\n', 1)"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        template = "substr(%(expressions)s, 1, instr(%(expressions)s || char(10), char(10)) - 1)"
        return self.as_sql(compiler, connection, template=template, **extra_context)


def is_word(term: str) -> bool:
    """Whether ``term`` is made of word characters only, as words() finds words."""
    return _WORDS.fullmatch(term) is not None


def name_has_every_term(terms: Iterable[str], vendor: str = "sqlite") -> Q:
    """Movies whose name holds every term.

    A term of word characters only lies within one word wherever it occurs,
    so it is in the name exactly when it is in name_words, a short column
    that a scan reads several times faster than search_text's first line
    (SQLite has no index for either). Other terms are sought in that line.
    On PostgreSQL every term is sought in that line: the order indexes hold
    search_text, so a walk along one tests names without visiting the table
    (name_words would take a visit per movie passed).
    """
    return reduce(
        operator.and_,
        (
            Q(name_words__contains=term)
            if is_word(term) and vendor == "sqlite"
            else Q(Contains(NameLine(), term))
            for term in terms
        ),
        Q(),
    )


def name_begins_with(query_words: str, vendor: str) -> Q:
    """Names whose words begin with these words and go on, through name_words' index."""
    return name_words_starting(query_words + " ", vendor)


def name_words_starting(prefix: str, vendor: str, *, indexed: bool = True) -> Q:
    """Names whose name_words start with ``prefix``, through name_words' index.

    ``indexed=False`` (for a walk in popularity order): a condition SQLite
    does not serve from that index, which it would otherwise prefer, sorting
    every match to find the most popular.
    """
    if vendor == "postgresql" or not indexed:
        return Q(name_words__startswith=prefix)  # LIKE 'prefix%'
    # SQLite's LIKE ignores case and so no index serves it; its text order is
    # by code point, in which the names starting with a prefix are a range.
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(name_words__gte=prefix, name_words__lt=upper)


# The order of popular_first, a field then the key, as an order index holds it.
POPULAR_FIRST = ("-popularity", "-id")


def popular_first(queryset: QuerySet, *, walk: bool) -> QuerySet:
    """``queryset`` the more popular first, then the higher id.

    ``walk``: along the popularity index, for rows common enough that a walk
    soon finds a page. Else found through whatever narrows them and sorted:
    popularity + 0 keeps PostgreSQL from walking the popularity index over
    the whole table instead, visiting the table for every movie it passes.
    """
    if walk:
        return queryset.order_by(*POPULAR_FIRST)
    return queryset.order_by((F("popularity") + 0).desc(), "-id")


def relevance(search: Search, vendor: str) -> Case:
    """The tier of each match of ``search`` (see relevance_tier), as an expression."""
    tiers = []
    if search.words:
        tiers += [
            When(name_words=search.words, then=Value(NAME_IS_QUERY)),
            When(name_begins_with(search.words, vendor), then=Value(NAME_BEGINS_WITH_QUERY)),
        ]
    if search.name_terms:
        tiers.append(
            When(name_has_every_term(search.name_terms, vendor), then=Value(NAME_HAS_EVERY_TERM))
        )
    return Case(*tiers, default=Value(OTHER_MATCH), output_field=IntegerField())


def order_by_relevance(queryset: QuerySet, search: Search) -> QuerySet:
    """The matches of ``search`` in relevance order, in one ORDER BY.

    Exact for any queryset; a page of a broad search is planned faster in the
    same order (catalog.reads.ranking).
    """
    tier = relevance(search, connections[queryset.db].vendor)
    return queryset.order_by(tier.asc(), "-popularity", "-id")
